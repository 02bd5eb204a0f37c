import { randomUUID } from 'node:crypto';
import type { LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const SERVER_SECRET = 'test-game-server-secret-0123456789';
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;

describe('match results', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ serverSecret: SERVER_SECRET });
  });
  afterAll(() => t.stop());

  const report = async (matchId: string, body: unknown, secret = SERVER_SECRET) => {
    const res = await fetch(`${t.httpUrl}/v1/matches/${encodeURIComponent(matchId)}/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  async function players(n: number) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const client = await t.guest(unique('Pl'));
      out.push({ client, userId: client.userId!, inbox: new Inbox(client, ['profile.ratingChanged']) });
    }
    return out;
  }

  const rating = async (c: LobbyClient) => (await c.call('profile.get', {})).profile.rating;

  it('tells a winner\'s online friends the new rating', async () => {
    const [winner, loser] = await players(2);
    const friend = await t.guest(unique('Fr'));
    const friendInbox = new Inbox(friend, ['friends.profileChanged']);
    await winner!.client.call('friends.request', { userId: friend.userId! });
    await friend.call('friends.accept', { userId: winner!.userId });
    expect((await report(randomUUID(), { gameType: 'duel', teams: [{ rank: 1, players: [winner!.userId] }, { rank: 2, players: [loser!.userId] }] })).status).toBe(200);
    const seen = await friendInbox.next('friends.profileChanged', (d) => d.userId === winner!.userId && d.profile.rating.mu > 25);
    expect(seen.profile.rating.mu).toBeGreaterThan(25);
  });

  it('moves ratings (winners up, losers down), tells the players and lists it in their history', async () => {
    const [a, b, c, d] = await players(4);
    const matchId = randomUUID();
    const body = { gameType: 'PvP_rank', teams: [{ rank: 1, players: [a!.userId, b!.userId] }, { rank: 2, players: [c!.userId, d!.userId] }] };
    const r = await report(matchId, body);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ matchId, replayed: false });
    expect(r.body.players).toHaveLength(4);

    const winner = await rating(a!.client);
    const loser = await rating(c!.client);
    expect(winner.mu).toBeGreaterThan(25);
    expect(loser.mu).toBeLessThan(25);
    expect(winner.sigma).toBeLessThan(8.34);

    const told = await a!.inbox.next('profile.ratingChanged');
    expect(told.result).toMatchObject({ matchId, gameType: 'PvP_rank', rank: 1, teamIndex: 0, ratingBefore: { mu: 25 }, ratingAfter: { mu: winner.mu, sigma: winner.sigma } });
    expect((await d!.inbox.next('profile.ratingChanged')).result).toMatchObject({ rank: 2, teamIndex: 1, ratingAfter: { mu: loser.mu } });

    const history = await a!.client.call('profile.matches', {});
    expect(history.matches).toEqual([told.result]);
    // Anyone may read anyone's history.
    expect((await c!.client.call('profile.matches', { userId: a!.userId })).matches[0]?.matchId).toBe(matchId);
    await expect(a!.client.call('profile.matches', { userId: 'no-such-user' })).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });

  it('a replay of the same report changes nothing; a different report for the same id is 409', async () => {
    const [a, b] = await players(2);
    const matchId = randomUUID();
    const body = { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }, { rank: 2, players: [b!.userId] }] };
    const first = await report(matchId, body);
    expect(first.status).toBe(200);
    const after = await rating(a!.client);

    const again = await report(matchId, body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ matchId, replayed: true, reportedAt: first.body.reportedAt });
    expect(again.body.players).toEqual(expect.arrayContaining(first.body.players));
    expect(await rating(a!.client)).toEqual(after);

    const swapped = await report(matchId, { ...body, teams: [{ rank: 2, players: [a!.userId] }, { rank: 1, players: [b!.userId] }] });
    expect(swapped.status).toBe(409);
    expect(swapped.body.error).toMatch(/different/);
    expect(await rating(a!.client)).toEqual(after);

    await a!.client.call('session.ping', {});
    expect(a!.inbox.of('profile.ratingChanged')).toHaveLength(1);
    expect((await a!.client.call('profile.matches', {})).matches).toHaveLength(1);
  });

  it('lists history newest first and honours the limit', async () => {
    const [a, b] = await players(2);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      const r = await report(id, { gameType: 'duel', teams: [{ rank: i % 2 ? 2 : 1, players: [a!.userId] }, { rank: i % 2 ? 1 : 2, players: [b!.userId] }] });
      expect(r.status).toBe(200);
    }
    const { matches } = await a!.client.call('profile.matches', {});
    expect(matches.map((m) => m.matchId)).toEqual([...ids].reverse());
    expect(matches[0]!.ratingBefore).toEqual(matches[1]!.ratingAfter);
    expect((await a!.client.call('profile.matches', { limit: 2 })).matches).toHaveLength(2);
  });

  it('ties share a rank', async () => {
    const [a, b, c] = await players(3);
    const r = await report(randomUUID(), { gameType: 'ffa', teams: [{ rank: 1, players: [a!.userId] }, { rank: 1, players: [b!.userId] }, { rank: 3, players: [c!.userId] }] });
    expect(r.status).toBe(200);
    const [ra, rb] = [await rating(a!.client), await rating(b!.client)];
    expect(ra.mu).toBeCloseTo(rb.mu, 6);
    expect((await rating(c!.client)).mu).toBeLessThan(25);
  });

  it('refuses a wrong secret (401), a bad body (400) and unknown players (422), storing nothing', async () => {
    const [a, b] = await players(2);
    const matchId = randomUUID();
    const body = { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }, { rank: 2, players: [b!.userId] }] };
    expect((await report(matchId, body, 'not-the-server-secret-at-all')).status).toBe(401);
    const noAuth = await fetch(`${t.httpUrl}/v1/matches/${matchId}/results`, { method: 'POST', body: JSON.stringify(body) });
    expect(noAuth.status).toBe(401);

    const oneTeam = await report(matchId, { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }] });
    expect(oneTeam.status).toBe(400);
    expect(oneTeam.body.issues[0].path).toEqual(['teams']);
    const twice = await report(matchId, { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }, { rank: 2, players: [a!.userId] }] });
    expect(twice.status).toBe(400);
    expect(twice.body.issues[0].path).toEqual(['teams', 1, 'players', 0]);
    const ghost = await report(matchId, { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }, { rank: 2, players: ['ghost-player'] }] });
    expect(ghost.status).toBe(422);

    expect((await a!.client.call('profile.matches', {})).matches).toEqual([]);
    expect((await rating(a!.client)).mu).toBe(25);
    // The id is still free: a good report now goes through.
    expect((await report(matchId, body)).body).toMatchObject({ replayed: false });
  });

  it('concurrent reports of the same match count once', async () => {
    const [a, b] = await players(2);
    const matchId = randomUUID();
    const body = { gameType: 'duel', teams: [{ rank: 1, players: [a!.userId] }, { rank: 2, players: [b!.userId] }] };
    const all = await Promise.all([report(matchId, body), report(matchId, body), report(matchId, body)]);
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(all.filter((r) => !r.body.replayed)).toHaveLength(1);
    expect((await a!.client.call('profile.matches', {})).matches).toHaveLength(1);
  });

  it('is off without FOYER_SERVER_SECRET', async () => {
    const off = await startTestNode();
    try {
      const res = await fetch(`${off.httpUrl}/v1/matches/${randomUUID()}/results`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
