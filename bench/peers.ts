/**
 * `npm run bench:peers`: Foyer side by side with Socket.IO and Colyseus under
 * one chat load, with the peer harness in ../shared/peers (its README says
 * what it measures). N clients in rooms of R; each sends a chat line every P
 * ms for D seconds; every member of the room, the sender too, receives it.
 *
 * The harness is read-only where it lies: it is installed once per
 * package-lock.json (npm ci in a folder under the system's temp folder, kept
 * between runs) and its files are copied there anew for every run. Each
 * measurement is one `node load.mjs` with the harness's gcpre.mjs preloaded
 * into every server (its "before" RSS excludes start-up garbage). Foyer runs
 * as the node process itself (server/dist/main.js, built by `tsc -b`) with
 * in-memory storage, log level warn, and chat and request limits raised for
 * the load; the clients use the SDK through bench/peersDriver.ts, each Foyer
 * system run twice per round (--driver-workers): with the clients in the
 * harness's own thread, as the harness runs the peers' clients, and in two
 * worker threads, so that the harness's thread keeps its send timers
 * punctual (the full load, heavier than a busy thread offers). For Foyer the
 * driver also counts the deliveries the lines it sent call for and those it
 * received ("received % of sent": what the harness's expected/s cannot say,
 * as it counts lines the clients never sent), the load generator's CPU, and
 * where each line's latency went (to the server, on to the client, the
 * hand-over from a worker; event-loop delays; the server's GC pauses).
 *
 * Systems run interleaved in rounds (a, b, c, a, b, c, …), because the
 * machine is shared and noisy: compare within a round. The table gives, per
 * period and system, the range (min–max over the rounds) of: server CPU
 * (user + sys, % of one core), CPU per delivered message (µs = CPU % ×
 * 10,000 / delivered/s), delivered/s as a share of expected/s, latency p50
 * and p99, server RSS per client, joins/s. Then per round the ratio of
 * Foyer's CPU per delivered message to Colyseus's on the same transport.
 *
 * Flags (npm run bench:peers -- --flag value):
 *   --rounds K         rounds (3)
 *   --clients N        clients (2000)
 *   --room R           clients per room (10)
 *   --periods P,…      each client's chat period in ms, one table block each (500,250)
 *   --duration S       chat seconds per run (15)
 *   --systems S,…      foyer-uws, foyer-ws, socketio, colyseus-uws, colyseus-ws (all five)
 *   --driver-workers W,…  run each Foyer system once per count of the driver's worker threads in each
 *                      round (0,2): 0, its clients in the harness's own thread as the harness runs the
 *                      peers' (a like-for-like comparison: a busy thread sends late, as theirs do); 2, in
 *                      worker threads, which send every line on time (a heavier load than the peers get)
 *   --harness DIR      the harness (../shared/peers beside the checkout)
 *   --node-args "A …"  node flags for Foyer's node (space-separated; default: those `npm start` runs it with,
 *                      --max-semi-space-size=32; give --node-args= for none). Its environment is the shipped one
 *                      too (MALLOC_ARENA_MAX=1 unless set; the harness's own process of a Foyer run gets it as well)
 *   --profile DIR      profile Foyer's node (bench/peersProfile.ts: 5 s slices under DIR/<run>/) and
 *                      print the top self-time functions of each run's busiest slice (the chat window)
 *   --profile-harness DIR  write a CPU profile of each run's load generator (load.mjs with the clients of
 *                      the driver, not the server) to DIR/<run>/ (node --cpu-prof; written at its exit)
 *   --profile-joins    instead: profile one Foyer node (uws) while N clients log in and take their
 *                      seats, and print its top self-time functions and server time per op
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPORT_PREFIX, SERVER_READ_MS, type DriverReport, type Quantiles } from './peersDriver.js';
import { SERVER_MAIN, SHIPPED, fmt, fmtInt, intFlag, numFlag, printHelp, profileSelfTimes, say, summarizeProfile, table } from './lib.js';
import { profileJoins } from './peersJoins.js';

const SYSTEMS = ['foyer-uws', 'foyer-ws', 'socketio', 'colyseus-uws', 'colyseus-ws'] as const;
type System = (typeof SYSTEMS)[number];
/** Foyer / peer pairs whose CPU per delivered message is compared per round. */
const PAIRS: [System, System][] = [
  ['foyer-uws', 'colyseus-uws'],
  ['foyer-ws', 'colyseus-ws'],
];
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DRIVER = new URL('./peersDriver.js', import.meta.url).href;
const READY_PRELOAD = new URL('./peersReady.js', import.meta.url).href;
const PROFILE_PRELOAD = new URL('./peersProfile.js', import.meta.url).href;
const SERVER_READ_S = SERVER_READ_MS / 1000;
/** Foyer's limits for this load: 4 lines/s per client at 250 ms must never be refused. */
export const FOYER_LOAD_ENV = {
  FOYER_CHAT_PER_SEC: '100',
  FOYER_CHAT_BURST: '100',
  FOYER_RATE_LIMIT_PER_SEC: '1000',
  FOYER_RATE_LIMIT_BURST: '1000',
};

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '2000' },
    room: { type: 'string', default: '10' },
    periods: { type: 'string', default: '500,250' },
    duration: { type: 'string', default: '15' },
    systems: { type: 'string', default: SYSTEMS.join(',') },
    'driver-workers': { type: 'string', default: '0,2' },
    harness: { type: 'string', default: resolve(ROOT, '../shared/peers') },
    // As `npm start` (package.json) and the Dockerfile run the node: Foyer as shipped.
    'node-args': { type: 'string', default: SHIPPED.nodeArgs.join(' ') },
    profile: { type: 'string' },
    'profile-harness': { type: 'string' },
    'profile-joins': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  printHelp(import.meta.url);
  process.exit(0);
}
const ROUNDS = intFlag('rounds', flags.rounds, 1);
const CLIENTS = intFlag('clients', flags.clients, 2);
const ROOM = intFlag('room', flags.room, 2);
const DURATION = numFlag('duration', flags.duration, 1);
const PERIODS = flags.periods.split(',').map((p) => intFlag('periods', p.trim(), 1));
const systems = flags.systems.split(',').map((s) => s.trim()) as System[];
for (const s of systems) {
  if (!SYSTEMS.includes(s)) {
    process.stderr.write(`bench: unknown system "${s}" (${SYSTEMS.join(', ')})\n`);
    process.exit(2);
  }
}
/** What runs in each round: each system, a Foyer one once per --driver-workers count (its label then says which). */
interface Entry {
  label: string;
  system: System;
  workers?: number;
}
const driverWorkers = flags['driver-workers'].split(',').map((w) => intFlag('driver-workers', w.trim(), 0));
const lineup: Entry[] = systems.flatMap((system): Entry[] =>
  system.startsWith('foyer') ? driverWorkers.map((workers) => ({ label: `${system} (${workers} workers)`, system, workers })) : [{ label: system, system }],
);

// ---- the harness, installed once per package-lock.json ----

/** Copies the harness's files (not node_modules) into `to`, written anew: the originals are read-only. */
function copyHarness(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (name === 'node_modules') continue;
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyHarness(src, join(to, name));
    else writeFileSync(join(to, name), readFileSync(src));
  }
}

/** The harness's working folder: installed (npm ci) unless a run before installed the same package-lock.json. */
function harnessDir(src: string): string {
  if (!existsSync(join(src, 'load.mjs')) || !existsSync(join(src, 'package-lock.json'))) {
    process.stderr.write(`bench: no peer harness at ${src} (load.mjs and package-lock.json); pass --harness DIR\n`);
    process.exit(2);
  }
  const hash = createHash('sha256').update(readFileSync(join(src, 'package-lock.json'))).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `foyer-peers-${hash}`);
  if (!existsSync(join(dir, '.installed'))) {
    say(`installing the peer harness (npm ci) for package-lock ${hash}…`);
    const work = mkdtempSync(join(tmpdir(), 'foyer-peers-install-'));
    copyHarness(src, work);
    const npm = (...args: string[]) => spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: work, stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
    const ci = npm('ci');
    if (ci.status !== 0) {
      say(ci.stderr.split('\n').filter((l) => /^npm error (code|`npm ci`|Missing)/.test(l)).join('\n'));
      // npm 11 refuses a lock file that lacks entries (the harness's lacks optional platform packages of
      // msgpackr-extract): install into the copy instead, which keeps the locked versions and adds what the lock lacks.
      say('npm ci refused the harness\'s package-lock.json; npm install in the copy instead');
      const install = npm('install');
      if (install.status !== 0) {
        process.stderr.write(`${install.stderr}\nbench: installing the peer harness failed in ${work}\n`);
        process.exit(1);
      }
    }
    writeFileSync(join(work, '.installed'), new Date().toISOString() + '\n');
    rmSync(dir, { recursive: true, force: true });
    // Another run may have installed it meanwhile: either copy will do.
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true });
    }
  }
  copyHarness(src, dir);
  return dir;
}

// ---- one run: `node load.mjs` ----

/** The harness's result line. */
interface LoadResult {
  system: string;
  joinsPerSec: number;
  deliveredPerSec: number;
  expectedPerSec: number;
  p50ms: number;
  p99ms: number;
  serverCpuPct: number;
  rssPerClientKiB: number;
}

interface Run {
  round: number;
  period: number;
  system: System;
  label: string;
  /** Foyer's driver's worker threads, when --driver-workers says. */
  workers?: number;
  load1: number;
  result?: LoadResult;
  /** Foyer's driver reports. */
  joined?: Extract<DriverReport, { kind: 'joined' }>;
  sent?: Extract<DriverReport, { kind: 'sent' }>;
  error?: string;
  /** With --profile: where this run's node wrote its profile slices. */
  profileDir?: string;
}

/** The process group of the load.mjs running now (its servers are in it): killed on any exit. */
let running: ChildProcess | undefined;
const killRunning = () => {
  if (running?.pid) {
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
};
process.on('exit', killRunning);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (killRunning(), process.exit(130)));

async function runLoad(dir: string, run: Run): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(dir, 'gcpre.mjs')).href}`.trim() };
  if (run.system.startsWith('foyer')) {
    const nodeArgs = flags['node-args'].split(' ').filter(Boolean);
    if (run.profileDir) nodeArgs.push(`--import=${PROFILE_PRELOAD}`);
    Object.assign(env, { ...SHIPPED.env, ...process.env }, FOYER_LOAD_ENV, {
      FOYER_DIR: ROOT,
      FOYER_START: process.execPath,
      // The node process itself (its CPU and RSS are what the harness reads), with the READY line it waits for.
      FOYER_ARGS: [...nodeArgs, `--import=${READY_PRELOAD}`, SERVER_MAIN].join(' '),
      FOYER_DRIVER: DRIVER,
      FOYER_DATA_DIR: 'memory',
      FOYER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
    });
    if (run.profileDir) env.FOYER_PROFILE_DIR = run.profileDir;
    if (run.workers !== undefined) env.FOYER_DRIVER_WORKERS = String(run.workers);
  }
  const harnessArgs = flags['profile-harness']
    ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(flags['profile-harness']), `r${run.round}-${run.period}ms-${slug(run.label)}`)}`]
    : [];
  const args = [...harnessArgs, 'load.mjs', '--system', run.system, '--clients', String(CLIENTS), '--room', String(ROOM), '--period', String(run.period), '--duration', String(DURATION)];
  // Its own process group, so that the server it starts goes down with it whatever happens.
  const child = spawn(process.execPath, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running = child;
  const stderr: string[] = [];
  let result: LoadResult | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) result = JSON.parse(line) as LoadResult;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith(REPORT_PREFIX)) {
      const r = JSON.parse(line.slice(REPORT_PREFIX.length)) as DriverReport;
      if (r.kind === 'joined') run.joined = r;
      else run.sent = r;
    } else if (stderr.push(line) > 20) stderr.shift();
  });
  // Start-up, joins and chat; generous for a busy machine.
  const limitMs = (DURATION + 300) * 1000;
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  killRunning();
  running = undefined;
  if (result) run.result = result;
  else {
    // The error's own message comes before its stack: show it, then the last lines.
    const said = stderr.filter((l) => /error|cannot|fail/i.test(l) && !/^\s+at /.test(l)).slice(0, 3);
    run.error = `load.mjs exited with ${code ?? `a kill after ${limitMs / 1000} s`} and no result: ${[...said, '…', ...stderr.slice(-3)].join(' | ')}`;
  }
}

/** A run's label as a folder name. */
const slug = (label: string) => label.replace(/[^\w-]+/g, '-').replace(/-+$/, '');

/** CPU per delivered message, µs. */
const usPerMsg = (r: LoadResult) => (r.serverCpuPct * 10_000) / r.deliveredPerSec;

/**
 * The run's figures; for Foyer, when the node was not listening by the time
 * the harness stopped waiting for it, joins/s is the driver's own (it excludes
 * the wait) and so is RSS per client (the harness read its "before" RSS
 * before the node had started).
 */
function figures(run: Run) {
  const r = run.result!;
  const late = (run.joined?.waitedMs ?? 0) > 0;
  return {
    cpu: r.serverCpuPct,
    us: usPerMsg(r),
    deliveredPct: (100 * r.deliveredPerSec) / r.expectedPerSec,
    // Foyer's driver counts what its clients sent and received; the harness's other systems do not say.
    receivedPct: run.sent ? (100 * run.sent.received) / run.sent.offered : NaN,
    p50: r.p50ms,
    p99: r.p99ms,
    rss: late ? (run.joined!.rssPerClientKiB ?? NaN) : r.rssPerClientKiB,
    joins: late ? (run.joined!.clients / run.joined!.joinMs) * 1000 : r.joinsPerSec,
  };
}

/** "min–max" of the finite values, or the one value. */
function range(values: number[], show: (v: number) => string): string {
  const ok = values.filter(Number.isFinite);
  if (!ok.length) return '-';
  const lo = show(Math.min(...ok));
  const hi = show(Math.max(...ok));
  return lo === hi ? lo : `${lo}–${hi}`;
}

function report(runs: Run[]): void {
  const done = runs.filter((r) => r.result);
  const rows: string[][] = [];
  for (const period of PERIODS) {
    for (const { label } of lineup) {
      const f = done.filter((r) => r.period === period && r.label === label).map(figures);
      if (!f.length) {
        rows.push([`${period}`, label, '-', '-', '-', '-', '-', '-', '-', '-', '0']);
        continue;
      }
      rows.push([
        `${period}`,
        label,
        range(f.map((x) => x.cpu), (v) => fmt(v, 0)),
        range(f.map((x) => x.us), (v) => fmt(v, 1)),
        range(f.map((x) => x.deliveredPct), (v) => fmt(v, 1)),
        range(f.map((x) => x.receivedPct), (v) => fmt(v, 2)),
        range(f.map((x) => x.p50), (v) => fmt(v, 0)),
        range(f.map((x) => x.p99), (v) => fmt(v, 0)),
        range(f.map((x) => x.rss), (v) => fmt(v, 1)),
        range(f.map((x) => x.joins), (v) => fmtInt(v)),
        `${f.length}`,
      ]);
    }
  }
  say();
  say(`${CLIENTS} clients in rooms of ${ROOM}, ${DURATION} s of chat per run, ${ROUNDS} round(s); ranges are min–max over the rounds`);
  // The harness divides by D + 0.5 s (its drain), and each client's interval starts at a random point of
  // the first period, so it sends D/P − 1 lines: a run that loses nothing shows this share, not 100 %.
  const ceiling = (p: number) => (1 - p / 1000 / DURATION) * (DURATION / (DURATION + 0.5));
  say('received % of sent (Foyer only: its driver counts both): deliveries received of those the lines sent call for (one per member of the room)');
  say(`delivered % of expected: a run that loses nothing shows about ${PERIODS.map((p) => `${fmt(100 * ceiling(p), 1)} % at ${p} ms`).join(', ')} (the harness's expected/s counts its 0.5 s drain and every client's first period)`);
  say();
  say(table(['period ms', 'system', 'server CPU %', 'CPU µs / delivered', 'delivered % of expected', 'received % of sent', 'p50 ms', 'p99 ms', 'RSS KiB / client', 'joins/s', 'runs'], rows));

  const ratioRows: string[][] = [];
  for (const period of PERIODS) {
    for (const [foyer, peer] of PAIRS) {
      if (!systems.includes(peer)) continue;
      for (const { label } of lineup.filter((e) => e.system === foyer)) {
        const cells: string[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          const a = done.find((r) => r.round === round && r.period === period && r.label === label);
          const b = done.find((r) => r.round === round && r.period === period && r.system === peer);
          cells.push(a && b ? fmt(usPerMsg(a.result!) / usPerMsg(b.result!), 2) : '-');
        }
        ratioRows.push([`${period}`, `${label} / ${peer}`, ...cells]);
      }
    }
  }
  if (ratioRows.length) {
    say();
    say('CPU per delivered message, Foyer / Colyseus on the same transport, per round (issue 12 aims at ≤ 0.8 on uws at 500 and 250 ms):');
    say();
    say(table(['period ms', 'pair', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`)], ratioRows));
  }

  const notes: string[] = [];
  for (const run of runs) {
    const tag = `round ${run.round}, ${run.period} ms, ${run.label}`;
    if (run.error) notes.push(`${tag}: FAILED: ${run.error}`);
    if (run.joined?.waitedMs) notes.push(`${tag}: the node listened ${fmt(run.joined.waitedMs / 1000, 1)} s after the harness stopped waiting (8 s): joins/s and RSS per client from the driver`);
    if (run.joined?.failed) notes.push(`${tag}: ${run.joined.failed} clients failed to join: ${run.joined.errors}`);
    if (run.sent) {
      const refused = Object.entries(run.sent.refused);
      const h = run.sent.handOverMs;
      const lost = Object.entries(run.sent.lost);
      const offered = ` (${fmt((100 * run.sent.received) / run.sent.offered, 1)} % of the deliveries they call for received)`;
      notes.push(
        `${tag}: ${fmtInt(run.sent.sent)} chat lines sent (without id)${offered}, ${refused.length ? `refused: ${refused.map(([k, v]) => `${v}× ${k}`).join(', ')}` : 'none refused'}` +
          `; ${lost.length ? `connections lost: ${lost.map(([k, v]) => `${v}× close ${k}`).join(', ')}` : 'no connection lost'}` +
          `; the load generator used ${fmt(run.sent.cpuPct, 0)} % of a core, ` +
          (run.joined?.workers === 0
            ? "its clients in the harness's own thread"
            : `and the hand-over from its ${run.joined?.workers ?? '?'} worker thread(s) added p50 ${h.p50} ms, p99 ${h.p99} ms, max ${h.max} ms to the latency`),
      );
      notes.push(`${tag}: where the latency went: ${breakdown(run.sent, run.joined?.workers !== 0)}`);
    }
  }
  const loads = runs.map((r) => r.load1);
  notes.push(`load average (1 min) at the start of the runs: ${range(loads, (v) => fmt(v, 1))}`);
  say();
  for (const n of notes) say(`- ${n}`);
}

/** A Foyer run's latency by leg and the event-loop delays and GC pauses that make its tail. */
function breakdown(sent: Extract<DriverReport, { kind: 'sent' }>, workers: boolean): string {
  const q = (x: Quantiles) => `p50 ${x.p50}, p99 ${x.p99}, max ${x.max} ms`;
  const loop = (l: { p99: number; max: number }) => `p99 ${fmt(l.p99, 0)}, max ${fmt(l.max, 0)} ms`;
  const s = sent.server;
  const server = s
    ? `the server's event-loop delay (worst ${SERVER_READ_S} s window) p99 ${fmt(s.lagP99Ms, 0)}, max ${fmt(s.lagMaxMs, 0)} ms, its GC ${fmtInt(s.gcCount)} pauses, ${fmt(s.gcMs, 0)} ms in all (major: ${fmtInt(s.majorCount)}, ${fmt(s.majorMs, 0)} ms)`
    : 'the server\'s /metrics not read';
  return (
    `harness's t to the server taking the line ${q(sent.toServerMs)}; on to a client reading it ${q(sent.toClientMs)}; ` +
    `${server}; event-loop delay of the harness's thread ${loop(sent.harnessLoop)}` +
    (workers ? `, of the busiest worker ${loop(sent.workerLoop)}` : '')
  );
}

/** The summary of the slice of a run's profile where Foyer's code and native calls were busiest (the chat window). */
function printBusiestSlice(dir: string): void {
  const slices = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  let best: { file: string; busy: number } | undefined;
  for (const f of slices) {
    // The chat window, not start-up or the joins: the slice where Foyer's own code and the native calls (writes) took most.
    const t = profileSelfTimes(join(dir, f));
    let busy = 0;
    for (const [where, us] of t.fileSelf) if (/^(server|shared)\/|^\(native\/V8\)$/.test(where)) busy += us;
    if (!best || busy > best.busy) best = { file: join(dir, f), busy };
  }
  if (!best) return say(`  (no profile slices in ${dir})`);
  for (const line of summarizeProfile(best.file, 30)) say(`  ${line}`);
}

// ---- main ----

if (flags['profile-joins']) {
  await profileJoins({ clients: CLIENTS, room: ROOM, env: FOYER_LOAD_ENV });
  process.exit(0);
}

const dir = harnessDir(resolve(flags.harness));
const runs: Run[] = [];
const total = ROUNDS * PERIODS.length * lineup.length;
for (let round = 1; round <= ROUNDS; round++) {
  for (const period of PERIODS) {
    for (const { label, system, workers } of lineup) {
      const run: Run = { round, period, system, label, load1: loadavg()[0]!, ...(workers !== undefined && { workers }) };
      if (flags.profile && system.startsWith('foyer')) run.profileDir = join(resolve(flags.profile), `r${round}-${period}ms-${slug(label)}`);
      runs.push(run);
      await runLoad(dir, run);
      // The harness picks its port at random (20000–40000), inside Linux's ephemeral range: on a busy machine a
      // client socket of something else may hold it. Another try picks another port.
      for (let retry = 0; retry < 2 && run.error && /port is in use|EADDRINUSE/.test(run.error); retry++) {
        say(`  (${label}: its port was in use; again)`);
        delete run.error;
        await runLoad(dir, run);
      }
      if (run.profileDir) printBusiestSlice(run.profileDir);
      const r = run.result;
      const f = r && figures(run);
      say(
        `[${runs.length}/${total}] round ${round}, ${period} ms, ${label}: ` +
          (r && f
            ? `CPU ${f.cpu} %, ${fmt(f.us, 1)} µs/msg, delivered ${fmtInt(r.deliveredPerSec)}/${fmtInt(r.expectedPerSec)} per s, p50 ${f.p50} ms, p99 ${f.p99} ms, RSS ${fmt(f.rss, 1)} KiB/client, ${fmtInt(f.joins)} joins/s (load ${fmt(run.load1, 1)})`
            : run.error),
      );
    }
  }
}
report(runs);
process.exit(runs.some((r) => r.error) ? 1 : 0);
