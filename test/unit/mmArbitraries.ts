/**
 * fast-check generators of matchmaking queues and commands, and a driver
 * that runs them like the service does (fake clock, deterministic ids,
 * accept-deadline timers), shared by matchmakerProperty.test.ts and
 * queueSnapshot.test.ts.
 */
import fc from 'fast-check';
import { QueueConfig } from '@foyer/shared';
import { applyQueue, decideQueue } from '../../server/src/domain/queue/index.js';
import type { MmCommand, MmDecision, QueueLimits, QueueState, TicketPlayer } from '../../server/src/domain/queue/index.js';

export const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
export const T0 = 1_000_000;

export const config = fc
  .record({
    teams: fc.integer({ min: 1, max: 3 }),
    teamSize: fc.integer({ min: 1, max: 3 }),
    partySizes: fc.option(fc.subarray([1, 2, 3], { minLength: 1 }), { nil: undefined }),
    initialWindow: fc.constantFrom(0, 50, 100, 300),
    growthPerSec: fc.constantFrom(0, 50, 200),
    maxWindow: fc.constantFrom(0, 100, 400),
    maxWaitMs: fc.integer({ min: 2_000, max: 10_000 }),
    acceptTimeoutMs: fc.integer({ min: 500, max: 3_000 }),
    sides: fc.boolean(),
    maxLatencyMs: fc.option(fc.constant(50), { nil: undefined, freq: 3 }),
    uniqueAttribute: fc.option(fc.constant('hero'), { nil: undefined, freq: 3 }),
  })
  .map((c) =>
    QueueConfig.parse({
      name: 'q',
      teams: c.teams,
      teamSize: c.teamSize,
      ...(c.partySizes && { partySizes: c.partySizes }),
      rating: { initialWindow: c.initialWindow, growthPerSec: c.growthPerSec, maxWindow: c.maxWindow },
      maxWaitMs: c.maxWaitMs,
      acceptTimeoutMs: c.acceptTimeoutMs,
      sides: c.sides,
      ...(c.maxLatencyMs !== undefined && { maxLatencyMs: c.maxLatencyMs }),
      ...(c.uniqueAttribute !== undefined && { uniqueAttribute: c.uniqueAttribute }),
    }),
  );

/**
 * Work bounds: the defaults, or tight ones, so that ticks stop half way
 * (where they stop depends on the index's layout, removed entries included).
 */
export const limits: fc.Arbitrary<Partial<QueueLimits>> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        maxPlayersPerTick: fc.integer({ min: 1, max: 9 }),
        maxMatchesPerTick: fc.integer({ min: 1, max: 3 }),
        maxAnchorsPerTick: fc.integer({ min: 1, max: 6 }),
        maxVisitsPerTick: fc.integer({ min: 1, max: 8 }),
        maxTimeoutsPerTick: fc.integer({ min: 1, max: 3 }),
        workPerTick: fc.integer({ min: 1, max: 30 }),
        candidatesPerAnchor: fc.integer({ min: 1, max: 10 }),
        scanPerAnchor: fc.integer({ min: 1, max: 12 }),
        searchNodesPerAnchor: fc.integer({ min: 1, max: 40 }),
        lanesPerAnchor: fc.integer({ min: 1, max: 2 }),
        bucketWidth: fc.constantFrom(1, 25, 100, 1000),
      },
      { requiredKeys: [] },
    ),
  },
);

export const player = fc.record({
  rating: fc.constantFrom(900, 1000, 1000, 1050, 1100, 1300),
  side: fc.constantFrom('any' as const, 'any' as const, 'A' as const, 'B' as const),
  hero: fc.constantFrom('x', 'y', 'z', undefined),
  eu: fc.constantFrom(10, 40, 90),
  na: fc.constantFrom(10, 40, 90),
});

/** A user, or `@found`/`@queued`: resolved when the step runs to a user whose ticket is in that state (so accepts and declines often hit); `#k` (see stepOrMiddleCancel): one of the k-th ticket. */
export const who = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('@found', '@queued') }, { weight: 2, arbitrary: fc.constantFrom(...USERS) });

export type Step =
  | { enqueue: { users: string[]; players: { rating: number; side: 'A' | 'B' | 'any'; hero: string | undefined; eu: number; na: number }[]; party: boolean } }
  | { cancel: string }
  | { accept: string }
  | { decline: string }
  | { deadline: 'live' | 'stale' }
  | { tick: number };

export const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ users: fc.uniqueArray(fc.constantFrom(...USERS), { minLength: 1, maxLength: 3 }), players: fc.array(player, { minLength: 3, maxLength: 3 }), party: fc.boolean() })
      .map((enqueue): Step => ({ enqueue })),
  },
  { weight: 1, arbitrary: who.map((cancel): Step => ({ cancel })) },
  { weight: 5, arbitrary: who.map((accept): Step => ({ accept })) },
  { weight: 1, arbitrary: who.map((decline): Step => ({ decline })) },
  { weight: 1, arbitrary: fc.constantFrom('live' as const, 'stale' as const).map((deadline): Step => ({ deadline })) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 2_500 }).map((tick): Step => ({ tick })) },
);

/**
 * `step`, plus cancels of the k-th ticket in queue order (`#k`): tickets that
 * leave from the middle of the queue leave removed entries in their buckets.
 */
export const stepOrMiddleCancel: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: step },
  { weight: 1, arbitrary: fc.nat(9).map((k): Step => ({ cancel: `#${k}` })) },
);

/**
 * Runs steps on a queue as the service would: decide, apply the events,
 * keep the timers and fire them when the clock passes them. No checks: it
 * answers every decision, for the caller to compare; a subclass checks by
 * overriding `exec` (the property test's World).
 */
export class Driver {
  now = T0;
  ids = 0;
  timers: { due: number; command: MmCommand }[] = [];

  constructor(readonly s: QueueState) {}

  /** A driver of another state at the same point: same clock, ids and pending timers. */
  fork(s: QueueState): Driver {
    const d = new Driver(s);
    d.now = this.now;
    d.ids = this.ids;
    d.timers = [...this.timers];
    return d;
  }

  /** The step's decisions (a tick fires the due timers first). */
  run(step: Step): MmDecision[] {
    if ('tick' in step) {
      this.now += step.tick;
      const out: MmDecision[] = [];
      for (;;) {
        const due = this.timers.filter((t) => t.due <= this.now).sort((a, b) => a.due - b.due)[0];
        if (!due) break;
        this.timers.splice(this.timers.indexOf(due), 1);
        out.push(this.exec(due.command, true));
      }
      out.push(this.exec({ type: 'tick' }, true));
      return out;
    }
    if ('enqueue' in step) {
      const { users, players, party } = step.enqueue;
      const ps = users.map((userId, i): TicketPlayer => {
        const p = players[i]!;
        return {
          userId,
          name: userId.toUpperCase(),
          rating: p.rating,
          side: p.side,
          attributes: p.hero === undefined ? {} : { hero: p.hero },
          latencies: { eu: p.eu, na: p.na },
        };
      });
      return [this.exec({ type: 'enqueue', ticketId: `t${++this.ids}`, players: ps, ...(party && { partyId: `p${this.ids}` }) }, false)];
    }
    if ('cancel' in step) return [this.exec({ type: 'cancel', userId: this.user(step.cancel), reason: 'cancelled' }, false)];
    if ('accept' in step) return [this.exec({ type: 'accept', userId: this.user(step.accept) }, false)];
    if ('decline' in step) return [this.exec({ type: 'decline', userId: this.user(step.decline) }, false)];
    const live = [...this.s.matches.keys()][0];
    return [this.exec({ type: 'acceptDeadline', matchId: step.deadline === 'live' && live ? live : 'gone' }, true)];
  }

  private user(u: string): string {
    if (u.startsWith('#')) {
      const tickets = [...this.s.tickets.values()];
      return tickets[Number(u.slice(1)) % Math.max(1, tickets.length)]?.players[0]!.userId ?? 'u0';
    }
    const status = u === '@found' ? 'found' : u === '@queued' ? 'queued' : undefined;
    if (!status) return u;
    const t = [...this.s.tickets.values()].find((x) => x.status === status);
    return t?.players.at(-1)?.userId ?? 'u0';
  }

  /** One command, decided and applied. `mustSucceed`: the service never expects a refusal (ticks, timers). */
  protected exec(cmd: MmCommand, _mustSucceed: boolean): MmDecision {
    const d = this.decide(cmd);
    if (d.ok) this.apply(d);
    return d;
  }

  protected decide(cmd: MmCommand): MmDecision {
    return decideQueue(this.s, cmd, { now: this.now, newId: () => `m${++this.ids}` });
  }

  /** The events on the state, the timers kept. */
  protected apply(d: Extract<MmDecision, { ok: true }>): void {
    for (const e of d.events) applyQueue(this.s, e);
    for (const t of d.timers) this.timers.push({ due: this.now + t.afterMs, command: t.command });
  }
}
