/**
 * `npm run bench:games`: how fast a lobby node runs games, answers the game
 * list and pushes list changes to subscribers.
 *
 * Each part starts its own lobby node as a process (the built
 * server/dist/main.js, on loopback, generous request rate limits, a long
 * reconnect grace); this process drives it with the real client SDK
 * (LobbyClient over `ws`), all clients in this one process:
 *   1. create+join+leave: K clients in K/2 pairs, each pair looping
 *      game.create (A) → game.join (B) → game.leave (A) → game.leave (B) for a
 *      fixed time after a warm-up; every completed call counts as one op.
 *   2. games.list: the in-process index bench (bench/games-list.ts,
 *      runListBench(): the server-side time of games.list) at 10,000 and
 *      100,000 games; then live round trips from one client to a node holding
 *      N games, created through the API by N guest users (connect, log in,
 *      create, disconnect: the game stays, its owner within the reconnect
 *      grace).
 *   3. change → event: S clients each games.subscribe to gameType X; two
 *      driver clients create, join and leave X games in a paced loop; each
 *      games.added / games.updated / games.removed is timestamped on arrival
 *      and compared to the moment just before the driver sent the request
 *      that caused it (same process, same clock).
 *
 * Flags (npm run bench:games -- --flag value):
 *   --parts 1,2,3            which parts to run
 *   --transport uws          uws or ws
 *   --clients K              part 1 clients (200)
 *   --duration S             part 1 measured seconds (5), after --warmup S (1)
 *   --list-sizes 10000,100000  part 2 in-process sizes; --list-samples N (3000)
 *   --live-games 10000       part 2 live node sizes (comma-separated; 0 = skip)
 *   --live-concurrency C     guests creating games at once (200)
 *   --live-samples N         round trips per live case (1000)
 *   --subscribers S          part 3 subscribers (1000)
 *   --change-rate R          part 3 driver requests per second (20)
 *   --change-duration S      part 3 seconds (8); the first --change-warmup N changes (20) are not counted
 *   --timeout-s T            hard limit for the whole run; child processes are killed (900)
 *   --cpu-prof               profile the server over each measured window (V8 CPU profiler through
 *                            the inspector, as node --cpu-prof does) and print its top self-time functions
 *   --wait-quiet S           before each measurement wait (up to 60 s) for other processes to leave the CPU;
 *                            S is the budget for all such waits of the run (240; 0 = no waiting)
 *   --attempts A             repeat parts 1 and 3 (same server and clients) up to A times while other processes
 *                            use ≥ 25% of a core during them; the quietest run counts (2)
 *   --server-output          echo what the servers print
 *   --node-arg ARG           extra node flag for the servers (repeatable), e.g. --node-arg=--trace-gc
 *   --server-arg ARG         extra server flag (repeatable)
 */
import { performance } from 'node:perf_hooks';
import { runListBench, type ListBenchRow } from './games-list.js';
import {
  Errors,
  Samples,
  closeClients,
  cpuBetween,
  cpuSnapshot,
  fdLimits,
  fmt,
  fmtInt,
  hardTimeout,
  histogramPercentile,
  killAll,
  metricsOf,
  openClients,
  pct,
  pool,
  say,
  sleep,
  socketClasses,
  sourcesFor,
  stats,
  table,
  runtimeBetween,
} from './lib.js';
import { partChanges } from './games-changes.js';
import { attempts, DURATION_S, K, LIST_SAMPLES, LIST_SIZES, LIVE_CONCURRENCY, LIVE_GAMES, LIVE_SAMPLES, notes, out, PARTS, printed, profile, profiles, quiet, summary, TIMEOUT_S, TRANSPORT, WARMUP_S, withServer } from './games-context.js';

// ---------------------------------------------------------------- part 1

type Op = 'game.create' | 'game.join' | 'game.leave (owner)' | 'game.leave (last)';
const OPS: Op[] = ['game.create', 'game.join', 'game.leave (owner)', 'game.leave (last)'];

async function partOps(): Promise<void> {
  await withServer('ops', async (server) => {
    const { clients, errors: connectErrors } = await openClients(server.url, K, { concurrency: 100 });
    if (connectErrors.count) throw new Error(`${connectErrors.count} of ${K} clients failed to log in: ${connectErrors}`);
    const pairs = K / 2;
    let n = 0;
    const measure = async () => {
      const lat = new Map<Op, Samples>(OPS.map((o) => [o, new Samples(100_000)]));
      const errors = new Errors();
      const stopProfile = await profile(server, 'ops');
      const m0 = await metricsOf(server.port);
      const t0 = performance.now();
      const warmEnd = t0 + WARMUP_S * 1000;
      const end = warmEnd + DURATION_S * 1000;
      let cpu0 = cpuSnapshot([server.pid, process.pid]);
      let cpu1 = cpu0;
      let cycles = 0;
      const cpuTimers = [
        setTimeout(() => (cpu0 = cpuSnapshot([server.pid, process.pid])), WARMUP_S * 1000),
        setTimeout(() => (cpu1 = cpuSnapshot([server.pid, process.pid])), (WARMUP_S + DURATION_S) * 1000),
      ];
      const call = async <T>(op: Op, fn: () => Promise<T>): Promise<T> => {
        const s = performance.now();
        const r = await fn();
        const e = performance.now();
        if (s >= warmEnd && e <= end) lat.get(op)!.push(e - s);
        return r;
      };
      await Promise.all(
        Array.from({ length: pairs }, async (_, p) => {
          const a = clients[2 * p]!;
          const b = clients[2 * p + 1]!;
          while (performance.now() < end) {
            try {
              const { game } = await call('game.create', () => a.call('game.create', { name: `ops ${p}-${n++}`, gameType: 'bench', maxPlayers: 4 }));
              await call('game.join', () => b.call('game.join', { gameId: game.id }));
              await call('game.leave (owner)', () => a.call('game.leave'));
              await call('game.leave (last)', () => b.call('game.leave'));
              if (performance.now() <= end && performance.now() >= warmEnd) cycles++;
            } catch (err) {
              errors.add(err);
              // Start the next cycle from a clean slate.
              await a.call('game.leave').catch(() => {});
              await b.call('game.leave').catch(() => {});
              await sleep(10);
            }
          }
        }),
      );
      cpuTimers.forEach(clearTimeout);
      await stopProfile();
      const rt = runtimeBetween(m0, await metricsOf(server.port));
      const cpu = cpuBetween(cpu0, cpu1);
      const all = new Samples(400_000);
      for (const s of lat.values()) for (const v of s.values()) all.push(v);
      const total = stats(all.values());
      const rows = OPS.map((o) => {
        const s = stats(lat.get(o)!.values());
        return [o, fmtInt(s.count), fmtInt(s.count / DURATION_S), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 1)];
      });
      rows.push(['all ops', fmtInt(total.count), fmtInt(total.count / DURATION_S), fmt(total.p50, 2), fmt(total.p99, 2), fmt(total.max, 1)]);
      const line =
        `${fmtInt(total.count / DURATION_S)} ops/s (${fmtInt(cycles / DURATION_S)} create→join→leave→leave cycles/s); ` +
        `CPU: server ${pct(cpu.procs[0]!)} (user ${pct(cpu.user[0]!)}, sys ${pct(cpu.sys[0]!)}), bench ${pct(cpu.procs[1]!)}, other processes ${pct(cpu.other)} of one core` +
        (errors.count ? `; ${errors.count} FAILED: ${errors}` : '') +
        `\nserver runtime (warm-up included): GC ${fmtInt(rt.gcCount)} pauses, ${fmtInt(rt.gcMs)} ms (major ${fmtInt(rt.majorCount)}, ${fmtInt(rt.majorMs)} ms); event-loop delay p99 ${fmt(rt.lagP99Ms, 0)} / max ${fmt(rt.lagMaxMs, 0)} ms`;
      return { other: cpu.other, rows, line, errors, opsPerSec: total.count / DURATION_S, p99: total.p99 };
    };
    const r = await attempts('ops', measure);
    out(`\n## 1. create+join+leave: ${K} clients in ${pairs} pairs, ${DURATION_S} s after ${WARMUP_S} s warm-up (${server.transport})\n`);
    out(table(['op', 'completed', 'ops/s', 'p50 ms', 'p99 ms', 'max ms'], r.rows));
    out(`\n${r.line}${r.note}`);
    if (r.errors.count) notes.push(`part 1: ${r.errors.count} calls failed: ${r.errors}`);
    summary.push([`create+join+leave ops/s (${K} clients)`, `${fmtInt(r.opsPerSec)} ops/s, p99 ${fmt(r.p99, 2)} ms`, '', '']);
    await closeClients(clients);
  });
}

// ---------------------------------------------------------------- part 2

const GAME_TYPES = ['PvE', 'PvP', 'PvP_rank', 'Coop', 'BattleRoyale'];
const TYPE_WEIGHTS = [0.35, 0.25, 0.15, 0.15, 0.1];
const SIZES = [2, 4, 4, 6, 8, 8, 10, 12, 16];
const MAPS = ['forest', 'desert', 'tundra', 'swamp', 'canyon', 'harbor', 'ruins', 'volcano'];
const REGIONS = ['eu', 'na', 'asia', 'sa', 'oce'];
const WORDS = ['dragon', 'raid', 'chill', 'noobs', 'welcome', 'pros', 'only', 'fast', 'ranked', 'fun', 'night', 'squad', 'legends', 'casual', 'grind', 'party'];

/** A varied game for the live list (deterministic by index). */
function liveGame(i: number) {
  const h = (k: number) => (Math.imul(i + 1, 2654435761) >>> k) & 0xffff;
  let x = h(3) / 0x10000;
  let gameType = GAME_TYPES[0]!;
  for (let t = 0; t < GAME_TYPES.length; t++) if ((x -= TYPE_WEIGHTS[t]!) < 0) (gameType = GAME_TYPES[t]!), (t = GAME_TYPES.length);
  return {
    name: `${WORDS[h(1) % WORDS.length]} ${WORDS[h(7) % WORDS.length]} ${i % 1000}`,
    gameType,
    maxPlayers: SIZES[h(5) % SIZES.length]!,
    closed: h(9) % 20 === 0,
    locked: h(11) % 20 === 1,
    ...(h(13) % 7 === 0 ? { password: 'secret' } : {}),
    attributes: { map: MAPS[h(2) % MAPS.length]!, region: REGIONS[h(4) % REGIONS.length]!, ...(h(6) % 3 === 0 ? { minRank: h(8) % 30 } : {}) },
  };
}

type ListCase = { name: string; data: (i: number) => Record<string, unknown> };
const LIVE_CASES: ListCase[] = [
  { name: 'first page, no filter (20)', data: () => ({ limit: 20 }) },
  {
    name: 'type+open+free+region (20)',
    data: (i) => ({
      filter: { gameType: GAME_TYPES[i % GAME_TYPES.length], status: 'open', hasFreeSeats: true, attributes: [{ key: 'region', op: 'eq', value: REGIONS[(i * 3) % REGIONS.length] }] },
      limit: 20,
    }),
  },
  { name: 'first page, open (100)', data: () => ({ filter: { status: 'open' }, limit: 100 }) },
  { name: 'nameContains word (20)', data: (i) => ({ filter: { nameContains: WORDS[i % WORDS.length] }, limit: 20 }) },
];

interface LiveResult {
  games: number;
  fillS: number;
  rows: string[][];
}

async function liveList(n: number): Promise<LiveResult> {
  return withServer(`list ${fmtInt(n)}`, async (server) => {
    const sources = sourcesFor(n);
    const sockets = socketClasses(sources);
    const fillErrors = new Errors();
    let created = 0;
    const t0 = performance.now();
    let shownAt = t0;
    // Each guest connects, logs in, creates one game and disconnects: the game stays (owner within the reconnect grace).
    await pool(n, LIVE_CONCURRENCY, async (i) => {
      const { clients, errors } = await openClients(server.url, 1, { sockets: [sockets[i % sockets.length]!], name: () => `owner-${i}` });
      const c = clients[0];
      if (!c) return void fillErrors.add(new Error(errors.toString()));
      try {
        await c.call('game.create', liveGame(i));
        created++;
      } catch (err) {
        fillErrors.add(err);
      }
      await c.close();
      if (performance.now() - shownAt > 3000) {
        shownAt = performance.now();
        say(`[list ${fmtInt(n)}]   ${fmtInt(created)}/${fmtInt(n)} games created…`);
      }
    });
    const fillS = (performance.now() - t0) / 1000;
    say(`[list ${fmtInt(n)}] ${fmtInt(created)} games created by ${fmtInt(n)} guests in ${fmt(fillS, 1)} s (${fmtInt(created / fillS)}/s, ${LIVE_CONCURRENCY} at once, ${sources} source address(es))${fillErrors.count ? `; ${fillErrors.count} FAILED: ${fillErrors}` : ''}`);
    if (fillErrors.count) notes.push(`live list ${n}: ${fillErrors.count} game creations failed: ${fillErrors}`);

    const { clients } = await openClients(server.url, 1, { name: () => 'lister' });
    const lister = clients[0]!;
    const measure = async () => {
      const rows: string[][] = [];
      const stopProfile = await profile(server, `list-${n}`);
      const m0 = await metricsOf(server.port);
      const cpu0 = cpuSnapshot([server.pid, process.pid]);
      for (const c of LIVE_CASES) {
        for (let i = 0; i < 100; i++) await lister.call('games.list', c.data(i) as never);
        const lat = new Float64Array(LIVE_SAMPLES);
        let returned = 0;
        for (let i = 0; i < LIVE_SAMPLES; i++) {
          const s = performance.now();
          const page = await lister.call('games.list', c.data(i) as never);
          lat[i] = performance.now() - s;
          returned += page.games.length;
        }
        const st = stats(lat);
        rows.push([fmtInt(created), c.name, fmtInt(st.count), fmt(returned / LIVE_SAMPLES, 1), fmt(st.p50, 3), fmt(st.p99, 3), fmt(st.max, 2)]);
      }
      const cpu = cpuBetween(cpu0, cpuSnapshot([server.pid, process.pid]));
      await stopProfile();
      const m1 = await metricsOf(server.port);
      const p99 = histogramPercentile(m0, m1, 'foyer_request_duration_seconds', 'games.list', 99);
      say(`[list ${fmtInt(n)}] server-side games.list p99 from /metrics: ≤ ${fmt(p99 * 1000, 2)} ms (histogram bucket bound); other processes ${pct(cpu.other)} of a core`);
      return { other: cpu.other, rows };
    };
    const { rows } = await attempts(`list ${fmtInt(n)}`, measure);
    await lister.close();
    return { games: created, fillS, rows };
  });
}

async function partList(): Promise<void> {
  out(`\n## 2. games.list\n`);
  out(`### server-side time (in-process GameList index, bench/games-list.ts runListBench(); µs per call)\n`);
  const lines: string[] = [];
  await quiet('list');
  const cpu0 = cpuSnapshot([process.pid]);
  const rows: ListBenchRow[] = runListBench({ sizes: LIST_SIZES, samples: LIST_SAMPLES, log: (l) => lines.push(l) });
  const cpu = cpuBetween(cpu0, cpuSnapshot([process.pid]));
  for (const l of lines) out(l);
  out(`\n(${fmt(cpu.secs, 1)} s; other processes used ${pct(cpu.other)} of a core meanwhile)`);
  if (cpu.other >= 0.25) notes.push(`list index bench: other processes used ${pct(cpu.other)} of a core while it ran`);
  // The targets: list p99 at each size, over every list case.
  const listRows = rows.filter((r) => r.case.startsWith('list:'));
  for (const size of LIST_SIZES) {
    const mine = listRows.filter((r) => r.games === size);
    const worst = mine.reduce((a, b) => (b.p99Us > a.p99Us ? b : a), mine[0]!);
    const pick = (name: string) => mine.find((r) => r.case.startsWith(name));
    const unf = pick('list: first page, no filter');
    const fil = pick('list: type+open+free+region');
    out(
      `\n${fmtInt(size)} games: unfiltered first page p50 ${fmt((unf?.p50Us ?? NaN) / 1000, 3)} / p99 ${fmt((unf?.p99Us ?? NaN) / 1000, 3)} ms; ` +
        `filtered (type+open+free+region) p50 ${fmt((fil?.p50Us ?? NaN) / 1000, 3)} / p99 ${fmt((fil?.p99Us ?? NaN) / 1000, 3)} ms; ` +
        `worst list case p99 ${fmt(worst.p99Us / 1000, 3)} ms (${worst.case})`,
    );
    summary.push([
      `games.list server p99 @ ${fmtInt(size)} games (worst case)`,
      `${fmt(worst.p99Us / 1000, 3)} ms`,
      size >= 100_000 ? '< 2 ms' : '',
      size >= 100_000 ? (worst.p99Us < 2000 ? 'PASS' : 'MISS') : '',
    ]);
  }
  if (LIVE_GAMES.length) {
    const live: LiveResult[] = [];
    for (const n of LIVE_GAMES) live.push(await liveList(n));
    out(`\n### live round trips from one client (${TRANSPORT}; sequential, ${LIVE_SAMPLES} per case after 100 warm-up)\n`);
    out(table(['games', 'case', 'n', 'games/page', 'p50 ms', 'p99 ms', 'max ms'], live.flatMap((l) => l.rows)));
    out(`\n(games created through the API: ${live.map((l) => `${fmtInt(l.games)} in ${fmt(l.fillS, 1)} s`).join(', ')}; one guest per game, since a user is in one game)`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const fds = fdLimits();
  say(
    `Foyer bench:games — transport ${TRANSPORT}; parts ${[...PARTS].join(',')}; node ${process.version}; ` +
      `open files limit ${fds?.soft ?? '?'}; all clients in this process (LobbyClient over ws) on the same machine as the server`,
  );
  const hard = hardTimeout(TIMEOUT_S, () => say(printed.join('\n')));
  let failed = false;
  const run = async (part: string, fn: () => Promise<void>) => {
    if (!PARTS.has(part)) return;
    try {
      await fn();
    } catch (err) {
      failed = true;
      process.stderr.write(`part ${part} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      killAll();
    }
  };
  await run('1', partOps);
  await run('2', partList);
  await run('3', partChanges);
  hard.clear();
  if (summary.length) {
    out('\n## targets\n');
    out(table(['measure', 'value', 'target', ''], summary));
  }
  notes.push(
    'latencies are measured in this process from just before the SDK call to the reply or event; the bench process (all clients, one thread) ' +
      'shares the machine\'s cores with the server, so they include its own queueing (a fan-out of N events is read here one after another).',
  );
  say('\nNotes:\n' + notes.map((s) => `- ${s}`).join('\n'));
  if (profiles.length) say('\n' + profiles.join('\n'));
  process.exit(failed ? 1 : 0);
}

await main();
