import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

interface P {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);

describe('matchmaking', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({
      mmTickMs: 20,
      queues: [
        { name: 'duel', teams: 2, teamSize: 1, acceptTimeoutMs: 300, rating: { initialWindow: 50, growthPerSec: 0, maxWindow: 50 } },
        { name: 'wide', teams: 2, teamSize: 1, acceptTimeoutMs: 5000, rating: { initialWindow: 10, growthPerSec: 2000, maxWindow: 5000 } },
        { name: 'brief', teams: 2, teamSize: 1, maxWaitMs: 150 },
        { name: 'sides', teams: 2, teamSize: 1, sides: true, rating: { initialWindow: 5000, growthPerSec: 0, maxWindow: 5000 } },
        { name: 'pairs', teams: 2, teamSize: 2, acceptTimeoutMs: 5000, rating: { initialWindow: 5000, growthPerSec: 0, maxWindow: 5000 } },
      ],
    });
  });
  afterAll(() => t.stop());

  /** A guest whose stored rating (the OpenSkill ordinal the queue matches on) is `ordinal`; a new account's is 0. */
  async function p(name: string, ordinal = 0): Promise<P> {
    const c = t.client();
    const inbox = new Inbox(c, ['mm.status', ...GAME_EVENTS] as EventName[]);
    await c.connect();
    const id = (await c.call('auth.guest', { name })).userId;
    if (ordinal) expect((await t.admin('POST', '/admin/commands', { kind: 'setRating', userId: id, args: { mu: 25 + ordinal, sigma: 25 / 3 } })).status).toBe(200);
    return { c, inbox, id };
  }

  it('queued → found → ready: both accept, a game is created in progress with both seated and a key each', async () => {
    const [a, b] = await Promise.all([p('MmA'), p('MmB')]);
    const ta = await a.c.call('mm.join', { queue: 'duel' });
    expect(ta).toMatchObject({ queue: 'duel', status: 'queued' });
    expect(await code(a.c.call('mm.join', { queue: 'duel' }))).toBe('IN_MATCHMAKING');
    expect(await code(a.c.call('mm.accept', {}))).toBe('NO_MATCH_FOUND');
    await b.c.call('mm.join', { queue: 'duel' });
    const found = await a.inbox.next('mm.status', (d) => d.status === 'found');
    expect(found.match!.teams.flat().map((x) => x.userId).sort()).toEqual([a.id, b.id].sort());
    expect(found.match!.acceptBy).toBeGreaterThan(Date.now());
    expect((await a.c.call('mm.current', {})).ticket?.status).toBe('found');

    await a.c.call('mm.accept', {});
    await b.c.call('mm.accept', {});
    const [ra, rb] = await Promise.all([a.inbox.next('mm.status', (d) => d.status === 'ready'), b.inbox.next('mm.status', (d) => d.status === 'ready')]);
    expect(ra.gameId).toBe(rb.gameId);
    expect(ra.sessionKey).toBeTruthy();
    expect(ra.sessionKey).not.toBe(rb.sessionKey);
    expect(ra.serverAddress).toBeTruthy();
    const game = (await a.c.call('game.current', {})).game!;
    expect(game).toMatchObject({ id: ra.gameId, inProgress: true });
    expect(game.players.map((x) => x.teamIndex).sort()).toEqual([0, 1]);
    await a.c.call('game.confirm', { sessionKey: ra.sessionKey! });
    expect(await code(a.c.call('mm.cancel', {}))).toBe('MATCH_STARTED');
  });

  it('does not match ratings outside the window', async () => {
    const [a, b] = await Promise.all([p('FarA'), p('FarB', 100)]);
    await a.c.call('mm.join', { queue: 'duel' });
    await b.c.call('mm.join', { queue: 'duel' });
    // Several ticks pass (each ticket's status reply round trip is much longer than none): still queued.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await a.c.call('mm.current', {})).ticket?.status).toBe('queued');
    await a.c.call('mm.cancel', {});
    await b.c.call('mm.cancel', {});
    expect((await a.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('cancelled');
    expect((await a.c.call('mm.current', {})).ticket).toBeNull();
  });

  it('widens the window with waiting time', async () => {
    const [a, b] = await Promise.all([p('WideA'), p('WideB', 400)]);
    await a.c.call('mm.join', { queue: 'wide' });
    await b.c.call('mm.join', { queue: 'wide' });
    const found = await a.inbox.next('mm.status', (d) => d.status === 'found');
    // 400 apart needs 10 + 2000/s × wait ≥ 400: about 0.2 s in.
    expect(found.match!.acceptBy - found.queuedAt).toBeGreaterThanOrEqual(5000 + 150);
    await a.c.call('mm.decline', {});
  });

  it('decline: the decliner is cancelled, the other returns to the queue keeping its queue time', async () => {
    const [a, b] = await Promise.all([p('DecA'), p('DecB')]);
    await a.c.call('mm.join', { queue: 'duel' });
    const tb = await b.c.call('mm.join', { queue: 'duel' });
    await a.inbox.next('mm.status', (d) => d.status === 'found');
    await a.c.call('mm.decline', {});
    expect((await a.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('declined');
    const back = await b.inbox.next('mm.status', (d) => d.status === 'queued' && b.inbox.of('mm.status').some((x) => x.status === 'found'));
    expect(back.queuedAt).toBe(tb.queuedAt);
    await b.c.call('mm.cancel', {});
  });

  it('accept deadline: who did not accept is cancelled, who did goes back to the queue', async () => {
    const [a, b] = await Promise.all([p('DlA'), p('DlB')]);
    await a.c.call('mm.join', { queue: 'duel' });
    await b.c.call('mm.join', { queue: 'duel' });
    await a.inbox.next('mm.status', (d) => d.status === 'found');
    await a.c.call('mm.accept', {});
    expect((await b.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('acceptTimeout');
    await a.inbox.next('mm.status', (d) => d.status === 'queued' && a.inbox.of('mm.status').some((x) => x.status === 'found'));
    await a.c.call('mm.cancel', {});
  });

  it('times out a ticket past the maximum wait with MM_TIMEOUT', async () => {
    const a = await p('Alone');
    await a.c.call('mm.join', { queue: 'brief' });
    const out = await a.inbox.next('mm.status', (d) => d.status === 'timedOut');
    expect(out.reason).toBe('MM_TIMEOUT');
    expect(await code(a.c.call('mm.cancel', {}))).toBe('NOT_QUEUED');
  });

  it('respects sides: two players who both want side A are not matched', async () => {
    const [a, b, c] = await Promise.all([p('SideA1'), p('SideA2'), p('SideB')]);
    await a.c.call('mm.join', { queue: 'sides', profile: { side: 'A' } });
    await b.c.call('mm.join', { queue: 'sides', profile: { side: 'A' } });
    await c.c.call('mm.join', { queue: 'sides', profile: { side: 'B' } });
    const found = await c.inbox.next('mm.status', (d) => d.status === 'found');
    const [teamA, teamB] = found.match!.teams;
    expect(teamB!.map((x) => x.userId)).toEqual([c.id]);
    expect([a.id, b.id]).toContain(teamA![0]!.userId);
    for (const x of [a, b, c]) await x.c.call('mm.cancel', {}).catch(() => {});
  });

  it('queues a whole game as one team; a roster change drops it out', async () => {
    const [o, m, x, y] = await Promise.all([p('GqO'), p('GqM'), p('GqX'), p('GqY')]);
    const { game } = await o.c.call('game.create', { name: 'Team', gameType: 'pvp', maxPlayers: 2 });
    await m.c.call('game.join', { gameId: game.id });
    expect(await code(m.c.call('game.queue', { queue: 'pairs' }))).toBe('NOT_OWNER');
    const ticket = await o.c.call('game.queue', { queue: 'pairs' });
    expect(ticket.status).toBe('queued');
    expect((await m.inbox.next('mm.status')).ticketId).toBe(ticket.ticketId);
    await m.c.call('game.leave', {});
    expect((await o.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('teamChanged');

    // Queued again with a full team, it meets a party of two.
    await m.c.call('game.join', { gameId: game.id });
    await o.c.call('game.queue', { queue: 'pairs' });
    const pid = (await x.c.call('party.invite', { userId: y.id })).party.id;
    await y.c.call('party.accept', { partyId: pid });
    await x.c.call('party.go', { queue: 'pairs' });
    const found = await o.inbox.next('mm.status', (d) => d.status === 'found');
    const teams = found.match!.teams.map((team) => team.map((u) => u.userId).sort());
    expect(teams).toContainEqual([o.id, m.id].sort());
    expect(teams).toContainEqual([x.id, y.id].sort());
    await Promise.all([o, m, x, y].map((u) => u.c.call('mm.accept', {})));
    const ready = await y.inbox.next('mm.status', (d) => d.status === 'ready');
    // The game team left its lobby game for the match's game.
    expect((await o.c.call('game.current', {})).game!.id).toBe(ready.gameId);
    expect((await x.c.call('party.current', {})).party!.queue).toBeNull();
  });

  it('shows queue sizes in admin stats and matches in /metrics', async () => {
    const a = await p('StatA');
    await a.c.call('mm.join', { queue: 'pairs' });
    const stats = (await t.admin('GET', '/admin/stats')).body;
    expect(stats.queues.pairs).toBeGreaterThanOrEqual(1);
    expect(stats.inMatchmaking).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(text).toMatch(/foyer_mm_matches_total\{queue="duel"\} [1-9]/);
    expect(text).toMatch(/foyer_mm_wait_seconds_count\{queue="duel"\} [1-9]/);
    expect(text).toMatch(/foyer_mm_queued_players\{queue="pairs"\} [1-9]/);
    await a.c.call('mm.cancel', {});
  });
});
