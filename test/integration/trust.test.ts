import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/**
 * Level and rating are the server's: whatever a client sends about itself,
 * joins and matches use the stored profile. Friends-only games are watched by
 * friends only; the matchmaker's seats are not the owner's to undo.
 */

const SERVER_SECRET = 'test-server-secret-0123456789';
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 7)}`;

interface P {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
}

describe('server-owned level and rating', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({
      serverSecret: SERVER_SECRET,
      mmTickMs: 20,
      queues: [
        // Ordinal points: a new account is at 0; the window never widens.
        { name: 'tight', teams: 2, teamSize: 1, acceptTimeoutMs: 5000, rating: { initialWindow: 5, growthPerSec: 0, maxWindow: 5 } },
        { name: 'tight2', teams: 2, teamSize: 2, acceptTimeoutMs: 5000, rating: { initialWindow: 5, growthPerSec: 0, maxWindow: 5 } },
      ],
    });
  });
  afterAll(() => t.stop());

  async function player(base: string): Promise<P> {
    const c = t.client();
    const inbox = new Inbox(c, ['mm.status', ...GAME_EVENTS] as EventName[]);
    await c.connect();
    return { c, inbox, id: (await c.call('auth.guest', { name: unique(base) })).userId };
  }

  /** What a game server does: set a player's level through the server API. */
  const setLevel = (userId: string, level: number, secret = SERVER_SECRET) =>
    fetch(`${t.httpUrl}/v1/players/${encodeURIComponent(userId)}/level`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ level }) });
  /** What an operator does: set the stored OpenSkill rating (ordinal = mu − 3σ). */
  const setRating = async (userId: string, mu: number, sigma: number) => {
    const r = await t.admin('POST', '/admin/commands', { kind: 'setRating', userId, args: { mu, sigma } });
    expect(r.status).toBe(200);
  };
  /** Sends a raw frame, bypassing the SDK's types: extra fields a modified client might add. */
  const raw = (c: LobbyClient, op: string, data: unknown) => (c.call as (op: string, data: unknown) => Promise<unknown>)(op, data);

  it('a level-1 player cannot enter a minLevel 50 game whatever it sends; a game server raises the level', async () => {
    const [own, low] = await Promise.all([player('Own'), player('Low')]);
    const { game } = await own.c.call('game.create', { name: 'Veterans', gameType: 'vets', minLevel: 50 });
    for (const profile of [{ level: 60 }, { level: 60, rating: 5000 }, {}]) {
      expect(await code(raw(low.c, 'game.join', { gameId: game.id, profile }))).toBe('LEVEL_TOO_LOW');
      expect(await code(raw(low.c, 'games.quickJoin', { gameType: 'vets', profile }))).toBe('NO_GAME_FOUND');
    }
    expect(await code(raw(low.c, 'game.join', { gameId: game.id, level: 60, rating: 5000 }))).toBe('LEVEL_TOO_LOW');
    expect((await low.c.call('game.current', {})).game).toBeNull();

    // The server API: a wrong secret changes nothing; the right one counts at the next join.
    expect((await setLevel(low.id, 55, 'wrong-secret-0123456789')).status).toBe(401);
    expect((await setLevel('g:nobody', 55)).status).toBe(404);
    expect((await setLevel(low.id, -1)).status).toBe(400);
    const set = await setLevel(low.id, 55);
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ userId: low.id, level: 55 });
    const joined = await raw(low.c, 'game.join', { gameId: game.id, profile: { level: 1 } }) as { game: { players: { userId: string; level: number }[] } };
    expect(joined.game.players.find((p) => p.userId === low.id)?.level).toBe(55);
  });

  it('quick join ranks by the stored level, not the claimed one', async () => {
    const [own, q] = await Promise.all([player('QOwn'), player('QJ')]);
    await own.c.call('game.create', { name: 'Bounded', gameType: 'qj-trust', minLevel: 50, maxLevel: 60 });
    expect(await code(raw(q.c, 'games.quickJoin', { gameType: 'qj-trust', profile: { level: 55 } }))).toBe('NO_GAME_FOUND');
    await setLevel(q.id, 55);
    expect(((await q.c.call('games.quickJoin', { gameType: 'qj-trust' })) as { created: boolean }).created).toBe(false);
  });

  it('profile.update cannot change level or rating', async () => {
    const p = await player('Upd');
    const before = (await p.c.call('profile.get', {})).profile;
    const r = (await raw(p.c, 'profile.update', { level: 99, rating: { mu: 50, sigma: 1 }, school: 'mage' })) as { profile: typeof before };
    expect(r.profile).toMatchObject({ level: before.level, rating: before.rating, school: 'mage' });
    await raw(p.c, 'profile.update', { level: 99 });
    expect((await p.c.call('profile.get', {})).profile).toMatchObject({ level: before.level, rating: before.rating });
  });

  it('matches on the stored ratings: far apart never, whatever they claim; close ones at once', async () => {
    const [a, b, c] = await Promise.all([player('MmA'), player('MmB'), player('MmC')]);
    await setRating(a.id, 25, 25 / 3); // ordinal 0
    await setRating(b.id, 55, 5); // ordinal 40
    await setRating(c.id, 27, 25 / 3); // ordinal 2
    // Both claim the same rating: the claim is dropped, the stored ones are 40 apart.
    await raw(a.c, 'mm.join', { queue: 'tight', profile: { rating: 1000 } });
    await raw(b.c, 'mm.join', { queue: 'tight', profile: { rating: 1000 } });
    // Several matchmaker ticks pass without a match: the ticket of a is still queued.
    await new Promise((r) => setTimeout(r, 200)); // no event marks "no match": the absence is what is tested
    expect((await a.c.call('mm.current', {})).ticket?.status).toBe('queued');
    expect(a.inbox.of('mm.status').filter((d) => d.status === 'found')).toEqual([]);

    // c claims b's rating but is stored 2 points from a: a and c are matched.
    await raw(c.c, 'mm.join', { queue: 'tight', profile: { rating: 1000 } });
    const found = await c.inbox.next('mm.status', (d) => d.status === 'found');
    expect(found.match!.teams.flat().map((x) => x.userId).sort()).toEqual([a.id, c.id].sort());
    expect((await b.c.call('mm.current', {})).ticket?.status).toBe('queued');
    await Promise.all([a, b, c].map((p) => p.c.call('mm.cancel', {}).catch(() => undefined)));
  });

  it("a party's members carry their own stored level into a game and their rating into a queue", async () => {
    const [lead, mate, own] = await Promise.all([player('Lead'), player('Mate'), player('Host')]);
    await setLevel(lead.id, 12);
    await setLevel(mate.id, 34);
    await setRating(mate.id, 31, 1); // ordinal 28
    let party = (await lead.c.call('party.invite', { userId: mate.id })).party;
    party = (await mate.c.call('party.accept', { partyId: party.id })).party;
    const { game } = await own.c.call('game.create', { name: 'Party room', gameType: 'party-trust' });
    const joined = await raw(lead.c, 'game.join', { gameId: game.id, withParty: true, profile: { level: 99, rating: 9999 } }) as { game: { players: { userId: string; level: number; rating: number }[] } };
    const seat = (u: string) => joined.game.players.find((p) => p.userId === u);
    expect(seat(lead.id)?.level).toBe(12);
    expect(seat(lead.id)?.rating).toBeCloseTo(0, 6); // a new account: 25 − 3 · 25/3
    expect(seat(mate.id)).toMatchObject({ level: 34, rating: 28 });

    // A minLevel the mate meets but the leader does not: nobody joins.
    const strict = await own.c.call('game.create', { name: 'Strict', gameType: 'party-trust', minLevel: 20 });
    expect(await code(lead.c.call('game.join', { gameId: strict.game.id, withParty: true }))).toBe('LEVEL_TOO_LOW');

    // The party's ticket: the mate's stored 28 against two fresh players at 0, window 5: no match.
    const [x, y] = await Promise.all([player('X'), player('Y')]);
    await raw(lead.c, 'party.go', { queue: 'tight2', profile: { rating: 0 } });
    let other = (await x.c.call('party.invite', { userId: y.id })).party;
    other = (await y.c.call('party.accept', { partyId: other.id })).party;
    await x.c.call('party.go', { queue: 'tight2' });
    await new Promise((r) => setTimeout(r, 200)); // the absence of a match is what is tested
    expect((await lead.c.call('mm.current', {})).ticket?.status).toBe('queued');
    expect(party.members).toHaveLength(2);
    expect(other.members).toHaveLength(2);
  });
});

describe('friends-only games and matchmade seats', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ mmTickMs: 20, queues: [{ name: 'duel', teams: 2, teamSize: 1, acceptTimeoutMs: 5000 }] });
  });
  afterAll(() => t.stop());

  async function player(base: string): Promise<P> {
    const c = t.client();
    const inbox = new Inbox(c, ['mm.status', 'friends.request', ...GAME_EVENTS] as EventName[]);
    await c.connect();
    return { c, inbox, id: (await c.call('auth.guest', { name: unique(base) })).userId };
  }

  it("a stranger cannot watch a friends-only game; the owner's friend can", async () => {
    const [own, friend, stranger] = await Promise.all([player('FOwn'), player('Friend'), player('Stranger')]);
    await own.c.call('friends.request', { userId: friend.id });
    await friend.c.call('friends.accept', { userId: own.id });
    const { game } = await own.c.call('game.create', { name: 'Friends', gameType: 'fo', friendsJoinOnly: true });
    expect(await code(stranger.c.call('game.join', { gameId: game.id, spectate: true }))).toBe('FRIENDS_ONLY');
    expect((await stranger.c.call('game.current', {})).game).toBeNull();
    const watched = await friend.c.call('game.join', { gameId: game.id, spectate: true });
    expect(watched.game.spectators.map((s) => s.userId)).toEqual([friend.id]);
  });

  it('in a matchmade game nobody kicks or hands over the seated players', async () => {
    const [a, b] = await Promise.all([player('SeatA'), player('SeatB')]);
    await a.c.call('mm.join', { queue: 'duel' });
    await b.c.call('mm.join', { queue: 'duel' });
    await a.inbox.next('mm.status', (d) => d.status === 'found');
    await Promise.all([a.c.call('mm.accept', {}), b.c.call('mm.accept', {})]);
    await a.inbox.next('mm.status', (d) => d.status === 'ready');
    const game = (await a.c.call('game.current', {})).game!;
    expect(game.matchmade).toBe(true);
    const owner = game.ownerId === a.id ? a : b;
    const other = owner === a ? b : a;
    expect(await code(owner.c.call('game.kick', { userId: other.id }))).toBe('FORBIDDEN');
    expect(await code(owner.c.call('game.setOwner', { userId: other.id }))).toBe('FORBIDDEN');
    const after = (await other.c.call('game.current', {})).game!;
    expect(after.players.map((p) => p.userId).sort()).toEqual([a.id, b.id].sort());
    expect(after.ownerId).toBe(owner.id);
  });
});
