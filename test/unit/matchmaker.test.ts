import { QueueConfig } from '@foyer/shared';
import type { ErrorCode } from '@foyer/shared';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { applyQueue, decideQueue, newQueue, ticketOf, ticketOfGame, ticketOfParty, ticketUpdate, updatesOf, windowOf } from '../../server/src/domain/queue/index.js';
import type { Match, MmCommand, MmEvent, MmTimer, QueueLimits, QueueState, TicketPlayer } from '../../server/src/domain/queue/index.js';

const T0 = 1_000_000;
type Ev<K extends MmEvent['ev']> = Extract<MmEvent, { ev: K }>;

/** A player: `ann` → Ann, rating as given. */
function pl(userId: string, rating = 1000, more: Partial<TicketPlayer> = {}): TicketPlayer {
  return { userId, name: userId[0]!.toUpperCase() + userId.slice(1), rating, side: 'any', attributes: {}, ...more };
}

/** What a state holds, as plain data: to check that decide changes nothing and that a replica ends up the same. */
function digest(s: QueueState) {
  return {
    version: s.version,
    tickets: [...s.tickets.values()].map((t) => ({ ...t })),
    matches: [...s.matches.values()].map((m) => structuredClone(m)),
    byUser: [...s.byUser],
    byOwner: [...s.byOwner],
    index: [...s.index.entries.values()].map((e) => [e.id, e.seq, e.live, e.found, e.ticket.status, e.buckets.map((b) => b.key)]),
    order: s.index.order.slice(s.index.head).filter((e) => e.live).map((e) => e.id),
  };
}

/** One queue driven through decide/apply with a fake clock, and a replica applying the same events. */
class Harness {
  readonly s: QueueState;
  readonly replica: QueueState;
  now = T0;
  private ids = 0;
  readonly log: MmEvent[] = [];
  readonly timers: MmTimer[] = [];
  /** Off for big queues: the per-command checks are O(queue). */
  checks = true;

  constructor(config: Partial<z.input<typeof QueueConfig>> = {}, limits: Partial<QueueLimits> = {}) {
    const c = QueueConfig.parse({ name: 'q', teams: 2, teamSize: 1, ...config });
    this.s = newQueue(c, limits);
    this.replica = newQueue(c, limits);
  }

  decide(cmd: MmCommand) {
    return decideQueue(this.s, cmd, { now: this.now, newId: () => `m${++this.ids}` });
  }

  /** A command that must succeed: decide changes nothing, versions go up one by one, the replica follows. */
  ok(cmd: MmCommand): MmEvent[] {
    const before = this.checks && digest(this.s);
    const d = this.decide(cmd);
    if (!d.ok) throw new Error(`${cmd.type} refused: ${d.code}`);
    if (before) expect(digest(this.s)).toEqual(before);
    d.events.forEach((e, i) => expect(e.version).toBe(this.s.version + i + 1));
    for (const e of d.events) {
      applyQueue(this.s, e);
      applyQueue(this.replica, structuredClone(e));
    }
    if (this.checks) expect(digest(this.replica)).toEqual(digest(this.s));
    this.log.push(...d.events);
    this.timers.push(...d.timers);
    return d.events;
  }

  refused(cmd: MmCommand): ErrorCode {
    const d = this.decide(cmd);
    if (d.ok) throw new Error(`${cmd.type} was not refused`);
    return d.code;
  }

  /** Enqueues players as one ticket named after the first one (`t-ann`), then lets 1 ms pass so queue order is plain. */
  q(...players: TicketPlayer[]): string {
    const ticketId = `t-${players[0]!.userId}`;
    this.ok({ type: 'enqueue', ticketId, players });
    this.now += 1;
    return ticketId;
  }

  tick(advanceMs = 0): MmEvent[] {
    this.now += advanceMs;
    return this.ok({ type: 'tick' });
  }

  found(events: MmEvent[]): Ev<'match.found'>[] {
    return events.filter((e): e is Ev<'match.found'> => e.ev === 'match.found');
  }

  /** The one match a tick found. */
  match(events: MmEvent[]): Match {
    const found = this.found(events);
    expect(found).toHaveLength(1);
    return found[0]!.match;
  }

  acceptAll(m: Match, except: string[] = []): MmEvent[] {
    return m.teams.flat().filter((u) => !except.includes(u)).flatMap((userId) => this.ok({ type: 'accept', userId }));
  }
}

const teamsOf = (m: Match) => m.teams.map((t) => [...t].sort());

describe('enqueue', () => {
  it('queues a ticket at ctx.now with the players and owner given; one version up', () => {
    const h = new Harness({ teamSize: 3 });
    const events = h.ok({ type: 'enqueue', ticketId: 't1', players: [pl('ann'), pl('bob')], partyId: 'p1' });
    expect(events).toEqual([
      { ev: 'ticket.queued', queue: 'q', version: 1, ticket: { id: 't1', queue: 'q', players: [pl('ann'), pl('bob')], partyId: 'p1', queuedAt: T0, status: 'queued' } },
    ]);
    expect(ticketOf(h.s, 'bob')?.id).toBe('t1');
    expect([...h.s.byUser]).toEqual([['ann', 't1'], ['bob', 't1']]);
    expect(ticketUpdate(h.s, 't1')).toEqual({ ticketId: 't1', queue: 'q', status: 'queued', queuedAt: T0 });
    expect(updatesOf(events[0]!)).toEqual([{ ticketId: 't1', userIds: ['ann', 'bob'], update: { ticketId: 't1', queue: 'q', status: 'queued', queuedAt: T0 } }]);
  });

  it('refuses a player who has a ticket already (alone or in a party): IN_MATCHMAKING', () => {
    const h = new Harness({ teamSize: 3 });
    h.q(pl('ann'), pl('bob'));
    expect(h.refused({ type: 'enqueue', ticketId: 't2', players: [pl('bob')] })).toBe('IN_MATCHMAKING');
    expect(h.refused({ type: 'enqueue', ticketId: 't2', players: [pl('cat'), pl('ann')] })).toBe('IN_MATCHMAKING');
  });

  it('finds a party\'s or a game\'s ticket by its id, and takes one ticket per party or game', () => {
    const h = new Harness({ teamSize: 3 });
    h.ok({ type: 'enqueue', ticketId: 't1', players: [pl('ann'), pl('bob')], partyId: 'p1' });
    h.ok({ type: 'enqueue', ticketId: 't2', players: [pl('cat')], gameId: 'g1' });
    expect(ticketOfParty(h.s, 'p1')?.id).toBe('t1');
    expect(ticketOfGame(h.s, 'g1')?.id).toBe('t2');
    expect(ticketOfParty(h.s, 'g1')).toBeUndefined();
    expect(h.refused({ type: 'enqueue', ticketId: 't3', players: [pl('dan')], partyId: 'p1' })).toBe('IN_MATCHMAKING');
    expect(h.refused({ type: 'enqueue', ticketId: 't3', players: [pl('dan')], gameId: 'g1' })).toBe('IN_MATCHMAKING');
    h.ok({ type: 'cancel', userId: 'bob', reason: 'partyLeft' });
    h.ok({ type: 'cancel', userId: 'cat', reason: 'teamChanged' });
    expect(ticketOfParty(h.s, 'p1')).toBeUndefined();
    expect(ticketOfGame(h.s, 'g1')).toBeUndefined();
    expect(h.s.byOwner.size).toBe(0);
  });

  it('takes party sizes 1..teamSize by default, or those configured (never above teamSize)', () => {
    const h = new Harness({ teamSize: 2 });
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('a'), pl('b'), pl('c')] })).toBe('PARTY_SIZE_NOT_ALLOWED');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [] })).toBe('PARTY_SIZE_NOT_ALLOWED');
    h.q(pl('a'), pl('b'));
    const g = new Harness({ teamSize: 4, partySizes: [1, 4, 8] });
    expect(g.refused({ type: 'enqueue', ticketId: 't', players: [pl('a'), pl('b')] })).toBe('PARTY_SIZE_NOT_ALLOWED');
    g.q(pl('a'), pl('b'), pl('c'), pl('d'));
    g.q(pl('e'));
  });

  it('checks in order: IN_MATCHMAKING, MISSING_ATTRIBUTES, PARTY_SIZE_NOT_ALLOWED, DUPLICATE_ATTRIBUTE, SIDE_CONFLICT', () => {
    const h = new Harness({ teamSize: 2, sides: true, requiredAttributes: ['hero'], uniqueAttribute: 'hero' });
    h.q(pl('zed', 1000, { attributes: { hero: 'x' } }));
    const hero = (v: string) => ({ attributes: { hero: v } });
    const all = [pl('zed', 1000, hero('x')), pl('a', 1000, { side: 'A' }), pl('b', 1000, { ...hero('y'), side: 'B' }), pl('c', 1000, hero('y'))];
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: all })).toBe('IN_MATCHMAKING');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: all.slice(1) })).toBe('MISSING_ATTRIBUTES');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('a', 1000, { ...hero('z'), side: 'A' }), ...all.slice(2)] })).toBe('PARTY_SIZE_NOT_ALLOWED');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: all.slice(2) })).toBe('DUPLICATE_ATTRIBUTE');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('a', 1000, { ...hero('z'), side: 'A' }), all[2]!] })).toBe('SIDE_CONFLICT');
    h.q(pl('a', 1000, { ...hero('z'), side: 'A' }), pl('c', 1000, hero('y')));
  });

  it('refuses side B in a queue of one team, and a side from a queue without sides is ignored', () => {
    expect(new Harness({ teams: 1, sides: true }).refused({ type: 'enqueue', ticketId: 't', players: [pl('a', 1000, { side: 'B' })] })).toBe('SIDE_CONFLICT');
    const h = new Harness({ teamSize: 2 });
    h.q(pl('a', 1000, { side: 'A' }), pl('b', 1000, { side: 'B' }));
    h.q(pl('c', 1000, { side: 'A' }), pl('d', 1000, { side: 'A' }));
    expect(teamsOf(h.match(h.tick()))).toHaveLength(2);
  });

  it('refuses malformed tickets: BAD_REQUEST', () => {
    const h = new Harness({ teamSize: 3, maxLatencyMs: 50 });
    h.q(pl('ann', 1000, { latencies: { eu: 20 } }));
    expect(h.refused({ type: 'enqueue', ticketId: 't-ann', players: [pl('bob', 1000, { latencies: { eu: 20 } })] })).toBe('BAD_REQUEST'); // ticket id in use
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('bob'), pl('bob')] })).toBe('BAD_REQUEST');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('bob', Number.NaN)] })).toBe('BAD_REQUEST');
    // A latency-limited queue needs a region where every player of the ticket is within the limit.
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('bob')] })).toBe('BAD_REQUEST');
    expect(h.refused({ type: 'enqueue', ticketId: 't', players: [pl('bob', 1000, { latencies: { eu: 20 } }), pl('cat', 1000, { latencies: { eu: 90, na: 10 } })] })).toBe('BAD_REQUEST');
  });
});

describe('matching', () => {
  it('pairs two tickets in the window: found, acceptBy = now + acceptTimeoutMs, a deadline timer', () => {
    const h = new Harness({ acceptTimeoutMs: 20_000 });
    h.q(pl('ann', 1000));
    h.q(pl('bob', 1050));
    const events = h.tick(1000);
    const m = h.match(events);
    expect(m).toEqual({ id: 'm1', queue: 'q', ticketIds: ['t-ann', 't-bob'], teams: [['ann'], ['bob']], foundAt: h.now, acceptBy: h.now + 20_000, accepted: [] });
    expect(h.timers).toEqual([{ afterMs: 20_000, command: { type: 'acceptDeadline', matchId: 'm1' } }]);
    expect([...h.s.tickets.values()].map((t) => [t.id, t.status, t.matchId])).toEqual([['t-ann', 'found', 'm1'], ['t-bob', 'found', 'm1']]);
    expect(h.found(h.tick(1000))).toEqual([]); // found tickets are not matched again
  });

  it('widens the window with the anchor\'s wait: initialWindow + growthPerSec × seconds, up to maxWindow', () => {
    const h = new Harness({ rating: { initialWindow: 100, growthPerSec: 25, maxWindow: 200 } });
    expect(windowOf(h.s.config, 0)).toBe(100);
    expect(windowOf(h.s.config, 2000)).toBe(150);
    expect(windowOf(h.s.config, 60_000)).toBe(200);
    h.q(pl('ann', 1000)); // queued at T0, the anchor
    h.now = T0 + 100;
    h.q(pl('bob', 1150));
    h.now = T0 + 1999;
    expect(h.found(h.tick())).toEqual([]); // window 149.975
    h.now = T0 + 2000;
    expect(teamsOf(h.match(h.tick()))).toEqual([['ann'], ['bob']]); // window 150

    const far = new Harness({ maxWaitMs: 10_000_000, rating: { initialWindow: 100, growthPerSec: 25, maxWindow: 200 } });
    far.q(pl('ann', 1000));
    far.q(pl('bob', 1201));
    expect(far.found(far.tick(3_600_000 - 10))).toEqual([]); // never: the cap holds
  });

  it('prefers older tickets: the oldest anchors, the oldest candidates in its window join', () => {
    const h = new Harness({ rating: { initialWindow: 100, growthPerSec: 0, maxWindow: 100 } });
    h.q(pl('ann', 1000));
    h.q(pl('bob', 1090)); // older than cat, though cat is closer
    h.q(pl('cat', 1000));
    expect(teamsOf(h.match(h.tick()))).toEqual([['ann'], ['bob']]);
  });

  it('moves on to the next oldest when the anchor finds no match', () => {
    const h = new Harness({ rating: { initialWindow: 100, growthPerSec: 0, maxWindow: 100 } });
    h.q(pl('ann', 0));
    h.q(pl('bob', 1000));
    h.q(pl('cat', 1010));
    expect(teamsOf(h.match(h.tick()))).toEqual([['bob'], ['cat']]);
    expect(ticketOf(h.s, 'ann')?.status).toBe('queued');
  });

  it('takes only tickets whose own rating is within the window of the anchor\'s, even when the team means would do', () => {
    const h = new Harness({ teamSize: 2, rating: { initialWindow: 100, growthPerSec: 0, maxWindow: 100 } });
    h.q(pl('ann', 1000));
    h.q(pl('bob', 1150));
    h.q(pl('cat', 850));
    h.q(pl('dan', 1000));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('eve', 1050));
    h.q(pl('fay', 950));
    expect(h.match(h.tick()).ticketIds).toEqual(['t-ann', 't-dan', 't-eve', 't-fay']);
  });

  it('balances the teams: team means within the window, swaps to even them out', () => {
    const h = new Harness({ teamSize: 2, rating: { initialWindow: 300, growthPerSec: 0, maxWindow: 300 } });
    h.q(pl('a', 1000));
    h.q(pl('b', 1100));
    h.q(pl('c', 1200));
    h.q(pl('d', 1300));
    expect(teamsOf(h.match(h.tick()))).toEqual([['b', 'c'], ['a', 'd']]); // 1150 against 1150
  });

  it('refuses a set whose team means differ by more than the window, though every ticket is within it', () => {
    // The pair of 1090s is one team; the anchor (1000) and a solo make the other.
    const h = new Harness({ teamSize: 2, rating: { initialWindow: 100, growthPerSec: 0, maxWindow: 100 } });
    h.q(pl('a', 1000));
    h.q(pl('p1', 1090), pl('p2', 1090));
    h.q(pl('c', 910)); // (1000 + 910) / 2 = 955: 135 from 1090
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('d', 1080)); // (1000 + 1080) / 2 = 1040: 50 from 1090
    expect(teamsOf(h.match(h.tick()))).toEqual([['a', 'd'], ['p1', 'p2']]);
  });

  it('never splits a ticket and fills teams exactly, backtracking when sizes do not pack at first', () => {
    const h = new Harness({ teamSize: 6, partySizes: [2, 3], rating: { initialWindow: 1000, growthPerSec: 0, maxWindow: 1000 } });
    h.q(pl('a1'), pl('a2'), pl('a3'));
    h.q(pl('b1'), pl('b2'), pl('b3'));
    h.q(pl('c1'), pl('c2'));
    h.q(pl('d1'), pl('d2'));
    h.q(pl('e1'), pl('e2'));
    // Lowest sum first would give 3+2 | 3+2 and no room for the last pair: 3+3 | 2+2+2 it is.
    expect(teamsOf(h.match(h.tick()))).toEqual([
      ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'],
      ['c1', 'c2', 'd1', 'd2', 'e1', 'e2'],
    ]);
  });

  it('waits rather than over- or under-filling a team', () => {
    const h = new Harness({ teamSize: 3 });
    h.q(pl('a1'), pl('a2'));
    h.q(pl('b1'), pl('b2'));
    h.q(pl('c1'), pl('c2'));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('d'));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('e'));
    const m = h.match(h.tick());
    expect(m.teams.map((t) => t.length)).toEqual([3, 3]);
    expect(m.ticketIds).toEqual(['t-a1', 't-b1', 't-d', 't-e']);
    expect(ticketOf(h.s, 'c1')?.status).toBe('queued');
  });

  it('fills one team in a queue of teams: 1, and any number of teams', () => {
    const one = new Harness({ teams: 1, teamSize: 3 });
    one.q(pl('a'), pl('b'));
    one.q(pl('c'));
    expect(teamsOf(one.match(one.tick()))).toEqual([['a', 'b', 'c']]);
    const three = new Harness({ teams: 3, teamSize: 2 });
    for (const u of ['a', 'b', 'c', 'd', 'e']) three.q(pl(u));
    expect(three.found(three.tick())).toEqual([]);
    three.q(pl('f'));
    expect(three.match(three.tick()).teams.map((t) => t.length)).toEqual([2, 2, 2]);
  });

  it('sides: side A only in team 0, side B only in team 1, any in either; a party keeps its side', () => {
    const h = new Harness({ sides: true });
    h.q(pl('a1', 1000, { side: 'A' }));
    h.q(pl('a2', 1000, { side: 'A' }));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('b1', 1000, { side: 'B' }));
    expect(teamsOf(h.match(h.tick()))).toEqual([['a1'], ['b1']]);
    h.q(pl('any', 1000));
    expect(teamsOf(h.match(h.tick()))).toEqual([['a2'], ['any']]);

    const p = new Harness({ sides: true, teamSize: 2 });
    p.q(pl('x', 1000), pl('y', 1000, { side: 'B' }));
    p.q(pl('z', 1000));
    p.q(pl('w', 1000));
    expect(teamsOf(p.match(p.tick()))).toEqual([['w', 'z'], ['x', 'y']]);
  });

  it('regions: every player within maxLatencyMs of one shared region; the best one is picked', () => {
    const h = new Harness({ maxLatencyMs: 50 });
    h.q(pl('ann', 1000, { latencies: { eu: 20, na: 100 } }));
    h.q(pl('bob', 1000, { latencies: { eu: 80, na: 30 } }));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('cat', 1000, { latencies: { eu: 45, na: 40 } }));
    expect(h.match(h.tick())).toMatchObject({ teams: [['ann'], ['cat']], region: 'eu' });
    h.q(pl('dan', 1000, { latencies: { eu: 40, na: 35, asia: 5 } }));
    expect(h.match(h.tick())).toMatchObject({ teams: [['bob'], ['dan']], region: 'na' });

    const h2 = new Harness({ maxLatencyMs: 50, teamSize: 2 });
    h2.q(pl('ann', 1000, { latencies: { eu: 40, na: 10 } }), pl('bob', 1000, { latencies: { eu: 10, na: 30 } }));
    h2.q(pl('cat', 1000, { latencies: { eu: 20, na: 20 } }), pl('dan', 1000, { latencies: { eu: 20, na: 20 } }));
    expect(h2.match(h2.tick()).region).toBe('na'); // worst latency 30 in na against 40 in eu
  });

  it('the unique attribute does not repeat within a team', () => {
    const h = new Harness({ teams: 1, teamSize: 3, uniqueAttribute: 'hero' });
    h.q(pl('a', 1000, { attributes: { hero: 'x' } }));
    h.q(pl('b', 1000, { attributes: { hero: 'x' } }));
    h.q(pl('c', 1000, { attributes: { hero: 'y' } }));
    expect(h.found(h.tick())).toEqual([]);
    h.q(pl('d', 1000, { attributes: { hero: 'z' } }));
    expect(teamsOf(h.match(h.tick()))).toEqual([['a', 'c', 'd']]);

    const two = new Harness({ teamSize: 2, uniqueAttribute: 'hero' });
    two.q(pl('a', 1000, { attributes: { hero: 'x' } }), pl('b', 1000, { attributes: { hero: 'y' } }));
    two.q(pl('c', 1000, { attributes: { hero: 'x' } }));
    two.q(pl('d', 1000, { attributes: { hero: 'y' } }));
    expect(teamsOf(two.match(two.tick()))).toEqual([['a', 'b'], ['c', 'd']]);
  });

  it('times out queued tickets after maxWaitMs (MM_TIMEOUT), not tickets in an accept phase', () => {
    const h = new Harness({ maxWaitMs: 10_000, acceptTimeoutMs: 60_000, rating: { initialWindow: 0, growthPerSec: 0, maxWindow: 0 } });
    h.q(pl('ann', 1000));
    h.q(pl('bob', 1000));
    h.q(pl('cat', 500));
    h.match(h.tick());
    expect(h.tick(9_998)).toEqual([]); // cat, queued at T0 + 2, is due at T0 + 10_002; ann and bob are older but found
    const events = h.tick(1);
    expect(events).toEqual([{ ev: 'ticket.timedOut', queue: 'q', version: h.s.version, ticket: expect.objectContaining({ id: 't-cat' }), reason: 'MM_TIMEOUT' }]);
    expect(updatesOf(events[0]!)[0]!.update).toEqual({ ticketId: 't-cat', queue: 'q', status: 'timedOut', reason: 'MM_TIMEOUT', queuedAt: T0 + 2 });
    expect(ticketOf(h.s, 'cat')).toBeUndefined();
    expect(ticketOf(h.s, 'ann')?.status).toBe('found');
  });

  it('bounds the work of a tick: at most maxMatchesPerTick matches, at most maxTimeoutsPerTick timeouts', () => {
    const h = new Harness({}, { maxMatchesPerTick: 2 });
    for (let i = 0; i < 10; i++) h.q(pl(`u${i}`));
    expect(h.found(h.tick())).toHaveLength(2);
    expect(h.found(h.tick())).toHaveLength(2);
    const t = new Harness({ maxWaitMs: 1000 }, { maxTimeoutsPerTick: 3, maxMatchesPerTick: 0 });
    for (let i = 0; i < 7; i++) t.q(pl(`u${i}`));
    const timedOut = () => t.tick(5000).filter((e) => e.ev === 'ticket.timedOut').map((e) => (e as Ev<'ticket.timedOut'>).ticket.id);
    expect(timedOut()).toEqual(['t-u0', 't-u1', 't-u2']);
    expect(timedOut()).toEqual(['t-u3', 't-u4', 't-u5']);
    expect(timedOut()).toEqual(['t-u6']);
  });
});

describe('accept phase', () => {
  function found(config: Partial<z.input<typeof QueueConfig>> = {}) {
    const h = new Harness({ teamSize: 2, acceptTimeoutMs: 20_000, ...config });
    h.q(pl('ann'), pl('bob')); // a party
    h.q(pl('cat'));
    h.q(pl('dan'));
    const m = h.match(h.tick(500));
    return { h, m };
  }

  it('records each accept; the last makes the match ready and the tickets leave the queue', () => {
    const { h, m } = found();
    const first = h.ok({ type: 'accept', userId: 'cat' });
    expect(first).toEqual([{ ev: 'match.accepted', queue: 'q', version: h.s.version, match: { ...m, accepted: ['cat'] }, userId: 'cat', tickets: expect.any(Array) }]);
    expect(h.ok({ type: 'accept', userId: 'cat' })).toEqual([]); // again: nothing new
    h.ok({ type: 'accept', userId: 'ann' });
    h.ok({ type: 'accept', userId: 'bob' });
    const last = h.ok({ type: 'accept', userId: 'dan' });
    expect(last.map((e) => e.ev)).toEqual(['match.accepted', 'match.ready']);
    const ready = last[1] as Ev<'match.ready'>;
    expect(ready.match.accepted).toEqual(['cat', 'ann', 'bob', 'dan']);
    expect(ready.tickets.map((t) => t.id)).toEqual(['t-ann', 't-cat', 't-dan']);
    expect(h.s.tickets.size).toBe(0);
    expect(h.s.matches.size).toBe(0);
    expect(h.s.byUser.size).toBe(0);
    const updates = updatesOf(ready);
    expect(updates.map((u) => [u.ticketId, u.userIds, u.update.status])).toEqual([
      ['t-ann', ['ann', 'bob'], 'ready'],
      ['t-cat', ['cat'], 'ready'],
      ['t-dan', ['dan'], 'ready'],
    ]);
    // The stale deadline timer finds nothing to do.
    expect(h.ok(h.timers[0]!.command)).toEqual([]);
  });

  it('tells every player the match with names, teams and who accepted', () => {
    const { h, m } = found();
    h.ok({ type: 'accept', userId: 'cat' });
    const match = {
      matchId: m.id,
      acceptBy: m.acceptBy,
      teams: [
        [
          { userId: 'ann', name: 'Ann', accepted: false },
          { userId: 'bob', name: 'Bob', accepted: false },
        ],
        [
          { userId: 'cat', name: 'Cat', accepted: true },
          { userId: 'dan', name: 'Dan', accepted: false },
        ],
      ],
    };
    expect(ticketUpdate(h.s, 't-ann')).toEqual({ ticketId: 't-ann', queue: 'q', status: 'found', queuedAt: T0, match });
    expect(updatesOf(h.log.at(-1)!).map((u) => u.update)).toEqual(['t-ann', 't-cat', 't-dan'].map((id) => ticketUpdate(h.s, id)));
  });

  it('refuses accept and decline without a found match: NO_MATCH_FOUND', () => {
    const h = new Harness();
    expect(h.refused({ type: 'accept', userId: 'ann' })).toBe('NO_MATCH_FOUND');
    h.q(pl('ann'));
    expect(h.refused({ type: 'accept', userId: 'ann' })).toBe('NO_MATCH_FOUND');
    expect(h.refused({ type: 'decline', userId: 'ann' })).toBe('NO_MATCH_FOUND');
  });

  it('decline: the decliner\'s ticket is cancelled, every other ticket returns to the queue with its queuedAt and place', () => {
    const { h, m } = found();
    h.q(pl('eve')); // younger than all of the match
    h.ok({ type: 'accept', userId: 'cat' });
    const events = h.ok({ type: 'decline', userId: 'bob' });
    expect(events.map((e) => e.ev)).toEqual(['match.failed', 'ticket.cancelled', 'ticket.requeued', 'ticket.requeued']);
    expect(events[0]).toMatchObject({ match: { id: m.id }, reason: 'declined', cancelled: ['t-ann'], requeued: ['t-cat', 't-dan'] });
    expect(events[1]).toMatchObject({ ticket: { id: 't-ann' }, reason: 'declined' });
    expect(updatesOf(events[1]!)).toEqual([{ ticketId: 't-ann', userIds: ['ann', 'bob'], update: { ticketId: 't-ann', queue: 'q', status: 'cancelled', reason: 'declined', queuedAt: T0 } }]);
    expect(updatesOf(events[2]!)[0]!.update).toEqual({ ticketId: 't-cat', queue: 'q', status: 'queued', queuedAt: T0 + 1 });
    expect(h.s.matches.size).toBe(0);
    expect([...h.s.tickets.values()].map((t) => [t.id, t.status, t.matchId, t.queuedAt])).toEqual([
      ['t-cat', 'queued', undefined, T0 + 1],
      ['t-dan', 'queued', undefined, T0 + 2],
      ['t-eve', 'queued', undefined, T0 + 503],
    ]);
    expect(ticketOf(h.s, 'ann')).toBeUndefined();
    // Back in line first: cat and dan are older than eve.
    h.q(pl('fay'));
    expect(h.match(h.tick()).ticketIds).toEqual(['t-cat', 't-dan', 't-eve', 't-fay']);
  });

  it('deadline: tickets with a player who did not accept are cancelled (acceptTimeout), fully accepted ones return to the queue', () => {
    const { h, m } = found();
    h.ok({ type: 'accept', userId: 'ann' }); // bob, of the same party, does not
    h.ok({ type: 'accept', userId: 'cat' });
    h.now += 20_000;
    const events = h.ok({ type: 'acceptDeadline', matchId: m.id });
    expect(events.map((e) => [e.ev, 'ticket' in e ? e.ticket.id : e.match.id])).toEqual([
      ['match.failed', m.id],
      ['ticket.cancelled', 't-ann'],
      ['ticket.requeued', 't-cat'],
      ['ticket.cancelled', 't-dan'],
    ]);
    expect(events.filter((e) => e.ev === 'ticket.cancelled').map((e) => (e as Ev<'ticket.cancelled'>).reason)).toEqual(['acceptTimeout', 'acceptTimeout']);
    expect([...h.s.tickets.values()].map((t) => [t.id, t.status, t.queuedAt])).toEqual([['t-cat', 'queued', T0 + 1]]);
  });

  it('deadline with nobody accepting cancels everybody', () => {
    const { h, m } = found();
    const events = h.ok({ type: 'acceptDeadline', matchId: m.id });
    expect(events.filter((e) => e.ev === 'ticket.cancelled')).toHaveLength(3);
    expect(h.s.tickets.size).toBe(0);
  });

  it('the tick ends accept phases past acceptBy too (a timer lost with a node)', () => {
    const { h, m } = found();
    h.ok({ type: 'accept', userId: 'cat' });
    expect(h.tick(19_999)).toEqual([]);
    const events = h.tick(1);
    expect(events[0]).toMatchObject({ ev: 'match.failed', match: { id: m.id }, reason: 'acceptTimeout' });
    expect(ticketOf(h.s, 'cat')?.status).toBe('queued');
    expect(h.ok({ type: 'acceptDeadline', matchId: m.id })).toEqual([]); // the timer, late: nothing left
  });

  it('requeued tickets match again from the next tick, keeping their window (queuedAt)', () => {
    const h = new Harness({ rating: { initialWindow: 0, growthPerSec: 100, maxWindow: 1000 } });
    h.q(pl('ann', 1000));
    h.now = T0 + 2000;
    h.q(pl('bob', 1150));
    const m = h.match(h.tick()); // ann's window after 2 s: 200
    h.ok({ type: 'decline', userId: 'bob' });
    h.now = T0 + 3000;
    h.q(pl('cat', 1250)); // 250 from ann: within her window after 3 s (300); had she started over, it would be 0
    expect(h.match(h.tick()).ticketIds).toEqual(['t-ann', 't-cat']);
    expect(m.id).toBe('m1');
  });
});

describe('cancel', () => {
  it('cancels a queued ticket for all its players, with the reason given', () => {
    const h = new Harness({ teamSize: 2 });
    h.q(pl('ann'), pl('bob'));
    const events = h.ok({ type: 'cancel', userId: 'bob', reason: 'cancelled' });
    expect(events).toEqual([{ ev: 'ticket.cancelled', queue: 'q', version: 2, ticket: expect.objectContaining({ id: 't-ann' }), reason: 'cancelled' }]);
    expect(h.s.byUser.size).toBe(0);
    expect(h.s.tickets.size).toBe(0);
  });

  it('NOT_QUEUED without a ticket', () => {
    expect(new Harness().refused({ type: 'cancel', userId: 'ann', reason: 'cancelled' })).toBe('NOT_QUEUED');
  });

  it('while found: breaks the match like a decline of that ticket, the others return to the queue', () => {
    const h = new Harness({ teamSize: 2 });
    h.q(pl('ann'), pl('bob'));
    h.q(pl('cat'));
    h.q(pl('dan'));
    const m = h.match(h.tick());
    h.acceptAll(m, ['dan']);
    const events = h.ok({ type: 'cancel', userId: 'dan', reason: 'disconnected' });
    expect(events[0]).toMatchObject({ ev: 'match.failed', reason: 'disconnected', cancelled: ['t-dan'], requeued: ['t-ann', 't-cat'] });
    expect([...h.s.tickets.values()].map((t) => [t.id, t.status])).toEqual([
      ['t-ann', 'queued'],
      ['t-cat', 'queued'],
    ]);
    // And once ready, the tickets are gone: the service answers MATCH_STARTED.
    h.q(pl('eve'));
    h.acceptAll(h.match(h.tick()));
    expect(h.refused({ type: 'cancel', userId: 'ann', reason: 'cancelled' })).toBe('NOT_QUEUED');
  });
});

describe('scale', () => {
  it('matches a large queue in bounded ticks, everyone in exactly one match', () => {
    const h = new Harness({ teamSize: 5, rating: { initialWindow: 100, growthPerSec: 50, maxWindow: 1000 } }, { maxMatchesPerTick: 200 });
    h.checks = false;
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let n = 0;
    for (let i = 0; i < 1500; i++) {
      const size = rnd() < 0.7 ? 1 : 2 + Math.floor(rnd() * 4);
      const base = 1500 + (rnd() + rnd() + rnd() - 1.5) * 600;
      const players = Array.from({ length: size }, () => pl(`u${n++}`, Math.round(base + (rnd() - 0.5) * 100)));
      h.ok({ type: 'enqueue', ticketId: `t${i}`, players });
    }
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      for (const f of h.found(h.tick(250))) {
        expect(f.match.teams.map((t) => t.length)).toEqual([5, 5]);
        for (const u of f.match.teams.flat()) {
          expect(seen.has(u)).toBe(false);
          seen.add(u);
        }
        h.acceptAll(f.match);
      }
    }
    expect(seen.size).toBeGreaterThan(n * 0.9);
    expect(h.s.byUser.size).toBe(n - seen.size);
  });
});
