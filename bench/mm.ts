/**
 * The matchmaker on its own (no server, no network): one 5v5 queue with
 * 10,000 and 100,000 queued players, driven through decideQueue/applyQueue
 * with a fake clock and the default limits.
 *
 * Players: ratings normal (mean 1500, sd 300); tickets are solos (75 %) and
 * parties of 2–5 whose members spread ±100 around the party's own rating.
 * The queue is filled to its size at the start; then every tick advances the
 * clock 250 ms, runs `tick`, every player of every found match accepts at
 * once, and new players arrive until the queue holds its size again. The
 * first `--warmup` ticks are not measured. `--regions` adds a 60 ms latency
 * limit and four regions (each player near one of them).
 *
 * Prints, per size:
 *  - tick time, wall clock, decide + apply of the tick's events: p50, p99,
 *    max; p99 with the GC pauses inside each tick taken out, and the GC time
 *    that fell inside ticks (from the runtime's gc performance entries).
 *    Wall time includes whatever else runs on the machine: the title shows
 *    the load average;
 *  - matched players per second of tick CPU, per second of all CPU (ticks,
 *    accepts and enqueues) and per simulated second;
 *  - the simulated wait from queuedAt to the match, p50/p99;
 *  - per match, the mean rating spread (max − min of player ratings) and
 *    the mean gap between the two team means; players timed out.
 * Run `npm run bench:mm` or `node bench/dist/mm.js [--sizes 10000,100000]
 * [--ticks 240] [--warmup 40] [--regions]`.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { QueueConfig } from '@foyer/shared';
import { applyQueue, decideQueue, newQueue } from '@foyer/server/lobby/matchmaker';
import type { MmCommand, MmCtx, MmEvent, QueueState, TicketPlayer } from '@foyer/server/lobby/matchmaker';

export type MmBenchRow = {
  queued: number;
  ticks: number;
  tickP50Ms: number;
  tickP99Ms: number;
  tickMaxMs: number;
  /** Tick p99 with the garbage collector's pauses inside each tick taken out. */
  tickP99NoGcMs: number;
  /** GC pause time that fell inside measured ticks. */
  gcInTicksMs: number;
  matchedPerTickCpuSec: number;
  matchedPerCpuSec: number;
  matchedPerSimSec: number;
  waitP50S: number;
  waitP99S: number;
  spread: number;
  teamGap: number;
  timedOut: number;
};
export type MmBenchOptions = { sizes?: number[]; ticks?: number; warmup?: number; regions?: boolean; seed?: number; log?: (line: string) => void };

const TICK_MS = 250;
const REGIONS = ['eu', 'na', 'asia', 'sa'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Sim {
  readonly q: QueueState;
  now = 1_700_000_000_000;
  private ids = 0;
  private users = 0;
  readonly ctx: MmCtx;
  private readonly normal: () => number;
  enqueueMs = 0;
  acceptMs = 0;

  constructor(
    readonly size: number,
    readonly r: () => number,
    readonly regions: boolean,
  ) {
    this.q = newQueue(QueueConfig.parse({ name: '5v5', teams: 2, teamSize: 5, ...(regions && { maxLatencyMs: 60 }) }));
    // The ctx's clock is a getter on the simulation's own clock.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const sim = this;
    this.ctx = {
      get now() {
        return sim.now;
      },
      newId: () => `m${++this.ids}`,
    };
    this.normal = () => {
      const u = Math.max(this.r(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.r());
    };
  }

  /** Runs a command that must succeed and applies its events; returns them. */
  run(cmd: MmCommand): MmEvent[] {
    const d = decideQueue(this.q, cmd, this.ctx);
    if (!d.ok) throw new Error(`${cmd.type} refused: ${d.code}`);
    for (const e of d.events) applyQueue(this.q, e);
    return d.events;
  }

  private latencies(): Record<string, number> {
    const home = Math.floor(this.r() * REGIONS.length);
    return Object.fromEntries(REGIONS.map((reg, i) => [reg, Math.round(i === home ? 10 + this.r() * 40 : 40 + this.r() * 150)]));
  }

  /** One new ticket: a solo, or a party of 2–5. */
  private arrive(): void {
    const x = this.r();
    const n = x < 0.75 ? 1 : x < 0.85 ? 2 : x < 0.92 ? 3 : x < 0.96 ? 4 : 5;
    const base = 1500 + 300 * this.normal();
    const lat = this.regions ? this.latencies() : undefined;
    const players: TicketPlayer[] = Array.from({ length: n }, () => {
      const id = `u${++this.users}`;
      return {
        userId: id,
        name: id,
        rating: Math.round(n === 1 ? base : base + 100 * (this.r() * 2 - 1)),
        side: 'any',
        attributes: {},
        ...(lat && { latencies: lat }),
      };
    });
    const t0 = performance.now();
    this.run({ type: 'enqueue', ticketId: `t${++this.ids}`, players });
    this.enqueueMs += performance.now() - t0;
  }

  fill(): void {
    while (this.q.byUser.size < this.size) this.arrive();
  }
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Pauses of the garbage collector, as the runtime reports them (delivered between ticks). */
class GcLog {
  readonly pauses: { start: number; end: number }[] = [];
  private readonly obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  constructor() {
    this.obs.observe({ entryTypes: ['gc'] });
  }
  /** GC time inside [start, end]. */
  within(start: number, end: number): number {
    let ms = 0;
    for (const p of this.pauses) ms += Math.max(0, Math.min(end, p.end) - Math.max(start, p.start));
    return ms;
  }
  stop(): void {
    this.obs.disconnect();
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function benchSize(size: number, ticks: number, warmup: number, regions: boolean, seed: number, log: (line: string) => void): Promise<MmBenchRow> {
  const sim = new Sim(size, rng(seed), regions);
  sim.fill();
  const gc = new GcLog();
  const windows: [number, number][] = [];
  const tickTimes: number[] = [];
  const waits: number[] = [];
  let spreadSum = 0;
  let gapSum = 0;
  let matches = 0;
  let matched = 0;
  let timedOut = 0;
  let tickCpu = 0;
  const ratingOf = new Map<string, number>();
  for (let i = 0; i < warmup + ticks; i++) {
    const measured = i >= warmup;
    if (i === warmup) {
      sim.enqueueMs = 0;
      sim.acceptMs = 0;
    }
    sim.now += TICK_MS;
    const t0 = performance.now();
    const events = sim.run({ type: 'tick' });
    const t1 = performance.now();
    const ms = t1 - t0;
    const found: Extract<MmEvent, { ev: 'match.found' }>[] = [];
    for (const e of events) {
      if (e.ev === 'match.found') found.push(e);
      else if (e.ev === 'ticket.timedOut' && measured) timedOut += e.ticket.players.length;
    }
    const t2 = performance.now();
    for (const e of found) {
      ratingOf.clear();
      for (const t of e.tickets) for (const p of t.players) ratingOf.set(p.userId, p.rating);
      const queuedAt = new Map(e.tickets.flatMap((t) => t.players.map((p) => [p.userId, t.queuedAt] as const)));
      let ready = false;
      for (const team of e.match.teams) for (const u of team) ready = sim.run({ type: 'accept', userId: u }).some((x) => x.ev === 'match.ready') || ready;
      if (!ready) throw new Error('a match did not become ready');
      if (!measured) continue;
      const all = [...ratingOf.values()];
      spreadSum += Math.max(...all) - Math.min(...all);
      const means = e.match.teams.map((team) => team.reduce((s, u) => s + ratingOf.get(u)!, 0) / team.length);
      gapSum += Math.max(...means) - Math.min(...means);
      matches++;
      matched += all.length;
      for (const w of queuedAt.values()) waits.push((sim.now - w) / 1000);
    }
    sim.acceptMs += performance.now() - t2;
    if (measured) {
      tickTimes.push(ms);
      windows.push([t0, t1]);
      tickCpu += ms;
    }
    sim.fill();
    await yieldToLoop(); // lets the GC observer report
  }
  await yieldToLoop();
  gc.stop();
  const gcIn = windows.map(([a, b]) => gc.within(a, b));
  const cpu = tickCpu + sim.acceptMs + sim.enqueueMs;
  const row: MmBenchRow = {
    queued: size,
    ticks,
    tickP50Ms: quantile(tickTimes, 0.5),
    tickP99Ms: quantile(tickTimes, 0.99),
    tickMaxMs: Math.max(...tickTimes),
    tickP99NoGcMs: quantile(
      tickTimes.map((t, i) => t - gcIn[i]!),
      0.99,
    ),
    gcInTicksMs: gcIn.reduce((a, b) => a + b, 0),
    matchedPerTickCpuSec: matched / (tickCpu / 1000),
    matchedPerCpuSec: matched / (cpu / 1000),
    matchedPerSimSec: matched / ((ticks * TICK_MS) / 1000),
    waitP50S: quantile(waits, 0.5),
    waitP99S: quantile(waits, 0.99),
    spread: spreadSum / matches,
    teamGap: gapSum / matches,
    timedOut,
  };
  log(`  ${size.toLocaleString('en')} queued${regions ? ' (regions)' : ''}: ${matches} matches, ${matched} players in ${ticks} ticks; tick ${tickCpu.toFixed(0)} ms, accepts ${sim.acceptMs.toFixed(0)} ms, enqueues ${sim.enqueueMs.toFixed(0)} ms`);
  return row;
}

function table(rows: MmBenchRow[]): string {
  const head = ['queued', 'tick p50 ms', 'tick p99 ms', 'tick max ms', 'p99 w/o GC', 'GC in ticks ms', 'matched/s tick CPU', 'matched/s all CPU', 'matched/s sim', 'wait p50 s', 'wait p99 s', 'spread', 'team gap', 'timed out'];
  const f = (x: number, d = 1) => (Number.isNaN(x) ? '' : x.toFixed(d));
  const k = (x: number) => Math.round(x).toLocaleString('en');
  const body = rows.map((r) => [
    k(r.queued),
    f(r.tickP50Ms),
    f(r.tickP99Ms),
    f(r.tickMaxMs),
    f(r.tickP99NoGcMs),
    f(r.gcInTicksMs, 0),
    k(r.matchedPerTickCpuSec),
    k(r.matchedPerCpuSec),
    k(r.matchedPerSimSec),
    f(r.waitP50S, 2),
    f(r.waitP99S, 2),
    f(r.spread),
    f(r.teamGap, 2),
    String(r.timedOut),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** Runs the matchmaker benchmark and prints its table; returns the rows. */
export async function runMmBench(options: MmBenchOptions = {}): Promise<MmBenchRow[]> {
  const sizes = options.sizes ?? [10_000, 100_000];
  const ticks = options.ticks ?? 240;
  const warmup = options.warmup ?? 40;
  const log = options.log ?? ((line: string) => console.log(line));
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  log(`matchmaker, one 5v5 queue (node ${process.version}; ${TICK_MS} ms per tick, ${warmup} warm-up + ${ticks} measured ticks; load average ${load})`);
  const rows: MmBenchRow[] = [];
  for (const size of sizes) rows.push(await benchSize(size, ticks, warmup, options.regions ?? false, options.seed ?? 42, log));
  log(table(rows));
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, ticks: { type: 'string' }, warmup: { type: 'string' }, regions: { type: 'boolean' } } });
  await runMmBench({
    ...(values.sizes === undefined ? {} : { sizes: values.sizes.split(',').map(Number) }),
    ...(values.ticks === undefined ? {} : { ticks: Number(values.ticks) }),
    ...(values.warmup === undefined ? {} : { warmup: Number(values.warmup) }),
    ...(values.regions === undefined ? {} : { regions: values.regions }),
  });
}
