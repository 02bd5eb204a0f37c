import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { buildCsharp, runCsharp } from './build.js';

/** The steps a run printed, by name; a failed run's error is the message. */
function stepsOf(run: Awaited<ReturnType<typeof runCsharp>>): Map<string, Record<string, any>> {
  const fail = run.steps.find((s) => s.step === 'fail');
  expect(fail?.error ?? (run.code !== 0 ? `exit ${run.code}: ${run.stderr}` : undefined)).toBeUndefined();
  expect(run.steps.at(-1)?.step).toBe('done');
  return new Map(run.steps.map((s) => [s.step, s]));
}

describe('the C# client', () => {
  let exe: string;
  beforeAll(async () => {
    ({ exe } = await buildCsharp());
  });

  it('handles canned protocol frames: positions, requests, replies, the mirror', async () => {
    const steps = stepsOf(await runCsharp(exe, ['unit'], 30_000));
    expect([...steps.keys()]).toEqual(['unit.positions', 'unit.requests', 'unit.replies', 'unit.mirror', 'done']);
  });

  describe('against a live node', () => {
    let t: TestNode;
    beforeAll(async () => {
      // One team of two: the party fills a match on its own.
      t = await startTestNode({ mmTickMs: 50, queues: [{ name: 'duo', teams: 1, teamSize: 2, acceptTimeoutMs: 30_000 }] });
    });
    afterAll(() => t?.stop());

    it('two clients log in, list, join, chat, party, queue, get their keys, and one resumes a cut connection without missing an event', async () => {
      const steps = stepsOf(await runCsharp(exe, ['scenario', t.url], 90_000));
      expect([...steps.keys()]).toEqual(['login', 'joined', 'refusals', 'chat', 'party', 'resumed', 'matched', 'closed', 'done']);
      const { a, b } = steps.get('login')!;
      const { gameId, subscriptionId } = steps.get('joined')!;
      expect(subscriptionId).toMatch(/^games:/);
      expect(steps.get('refusals')).toMatchObject({
        gameNotFound: 'GAME_NOT_FOUND',
        notOwner: 'NOT_OWNER',
        queueNotFound: 'QUEUE_NOT_FOUND',
        badRequest: 'BAD_REQUEST',
        chatNotInParty: 'NOT_IN_PARTY',
        chatNotInPartyOp: 'chat.send',
      });
      expect(steps.get('chat')!.stream).toBe(`game:${gameId}`);
      const resumed = steps.get('resumed')!;
      expect(resumed.states).toEqual(expect.arrayContaining(['Reconnecting', 'Resumed']));
      expect(resumed.streams).toEqual(expect.arrayContaining([`game:${gameId}=resumed`, `user:${a}=resumed`, `party:${steps.get('party')!.partyId}=resumed`]));
      // The game stream moved on while A was away (three lines, a ready change), in the same epoch.
      const pos = (list: { stream: string; offset: number; epoch: string }[]) => list.find((p) => p.stream === `game:${gameId}`)!;
      expect(pos(resumed.after).epoch).toBe(pos(resumed.before).epoch);
      expect(pos(resumed.after).offset).toBeGreaterThanOrEqual(pos(resumed.before).offset + 4);
      expect(steps.get('matched')).toMatchObject({ keys: 2, wrongKey: 'WRONG_SESSION_KEY' });
      expect(b).not.toBe(a);
    });
  });
});
