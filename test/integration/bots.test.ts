import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBots, type BotsSummary } from '../../bots/bot.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

describe('bots (bots/bot.ts)', () => {
  let t: TestNode;
  let s: BotsSummary;
  beforeAll(async () => {
    t = await startTestNode({ queues: [{ name: 'duel', teams: 2, teamSize: 1, acceptTimeoutMs: 2000 }], mmTickMs: 50, logLevel: 'warn' });
    // One run shared by the tests below: they look at different parts of its outcome.
    s = await runBots({ url: t.url, count: 8, durationMs: 3000, thinkMs: 60, chatLines: 2, seed: 42, queue: 'duel', loginConcurrency: 4 });
  });
  afterAll(() => t?.stop());

  it('eight bots quick-join, queue, get matched, chat and leave; the summary counts it all', () => {
    expect(s.loggedIn).toBe(8);
    expect(s.ops['connect']).toMatchObject({ ok: 8, errors: 0 });
    expect(s.ops['auth.guest']).toMatchObject({ ok: 8, errors: 0 });
    for (const op of ['games.quickJoin', 'mm.join', 'mm.accept', 'game.confirm', 'chat.send', 'game.leave']) expect(s.ops[op]?.ok, op).toBeGreaterThan(0);
    // Every call is in `overall`, with latencies that make sense.
    const calls = Object.values(s.ops).reduce((n, o) => n + o.ok + o.errors, 0);
    expect(s.overall.ok + s.overall.errors).toBe(calls);
    expect(s.overall.errors).toBe(Object.values(s.errors).reduce((a, b) => a + b, 0));
    expect(s.overall.p50Ms).toBeGreaterThan(0);
    expect(s.overall.p99Ms).toBeGreaterThanOrEqual(s.overall.p50Ms);

    // Races (GAME_FULL, NOT_QUEUED, NO_MATCH_FOUND, CHAT_TOO_FAST…) may be counted; bugs may not.
    for (const code of ['INTERNAL', 'BAD_REQUEST', 'UNEXPECTED', 'TIMEOUT', 'DISCONNECTED', 'CLOSED']) expect(s.errors, code).not.toHaveProperty(code);

    expect(s.matchesMade).toBeGreaterThanOrEqual(1);
    expect(s.gamesJoined).toBeGreaterThanOrEqual(1);
    expect(s.chatSent).toBeGreaterThan(0);
    expect(s.chatReceived).toBeGreaterThan(0);
    expect(s.reconnects).toBe(0);
  });

  it('every player of a match game can confirm it, and nothing is left on the node afterwards', async () => {
    // Both players of each duel confirm with their own key.
    expect(s.ops['game.confirm']?.errors).toBe(0);
    expect(s.matchesConfirmed).toBe(2 * s.matchesMade);
    // Bots leave their games and queues before closing: no game, ticket or connection remains
    // (sessions do, for the reconnect grace period).
    await expect
      .poll(async () => (await t.admin('GET', '/admin/stats')).body, { timeout: 5000 })
      .toMatchObject({ connections: 0, games: 0, inMatchmaking: 0 });
  });
});
