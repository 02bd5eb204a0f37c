import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
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

  it('resumes per stream over a real socket: positions from the login reply, a replay overlapping what arrived is dropped, a fire-and-forget refusal', async () => {
    // A scripted peer speaking protocol version 2 with canned frames: the client's socket, reconnect and resume code, without a node.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const seen: unknown[] = [];
    let connections = 0;
    const notice = (s: WebSocket, offset: number) =>
      s.send(JSON.stringify({ ev: 'server.notice', stream: 'user:u1', offset, epoch: 'e1', data: { text: `n${offset}`, at: 1 } }));
    wss.on('connection', (s, req) => {
      const n = ++connections;
      seen.push({ connection: n, url: req.url });
      s.on('message', (raw) => {
        const f = JSON.parse(String(raw));
        seen.push(f);
        if (n === 1 && f.op === 'auth.guest') {
          s.send(JSON.stringify({ re: f.id, ok: true, data: { userId: 'u1', name: 'Al', token: 'tok1', expiresAt: Date.now() + 3_600_000, deviceSecret: 'x'.repeat(16), streams: [{ stream: 'user:u1', offset: 2, epoch: 'e1' }] } }));
          notice(s, 3);
          notice(s, 4);
        } else if (n === 1 && f.op === 'chat.send') {
          s.send(JSON.stringify({ re: null, ok: false, error: { code: 'NOT_IN_GAME', message: 'you are not in a game', op: 'chat.send' } }));
          s.terminate(); // The cut: no close frame.
        } else if (n === 2 && f.op === 'session.resume') {
          s.send(JSON.stringify({ re: f.id, ok: true, data: { userId: 'u1', name: 'Al', expiresAt: Date.now() + 3_600_000, resumed: true, streams: [
            { stream: 'user:u1', offset: 6, epoch: 'e1', state: 'resumed' },
          ] } }));
          for (const offset of [3, 4, 5, 6]) notice(s, offset); // 3 and 4 arrived before the cut.
        }
      });
    });
    try {
      const steps = stepsOf(await runCsharp(exe, ['resume', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`], 30_000));
      const r = steps.get('resume')!;
      expect(r).toMatchObject({ userId: 'u1', refused: 'NOT_IN_GAME', refusedOp: 'chat.send', notices: ['n3', 'n4', 'n5', 'n6'] });
      expect(r.states).toEqual(['Connecting', 'Connected', 'Reconnecting', 'user:u1=resumed', 'Resumed']);
      expect(r.positions).toEqual([{ stream: 'user:u1', offset: 6, epoch: 'e1' }]);
      expect(seen).toEqual([
        { connection: 1, url: '/?v=2' },
        { id: 1, op: 'auth.guest', data: { name: 'Al' } },
        { op: 'chat.send', data: { channel: 'game', text: 'hello' } },
        { connection: 2, url: '/?v=2' },
        { id: 2, op: 'session.resume', data: { token: 'tok1', streams: [{ stream: 'user:u1', offset: 4, epoch: 'e1' }] } },
      ]);
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
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
