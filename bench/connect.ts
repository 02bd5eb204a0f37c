/**
 * `npm run bench:connect`: how many authenticated sessions a lobby node
 * holds, what each costs in server memory, and how fast it answers.
 *
 * For each transport a lobby node runs as its own process (the built
 * server/dist/main.js) on loopback; this process is the load generator and
 * drives it with the real client SDK (LobbyClient over `ws`):
 *   1. open N connections, each logging in with auth.guest (bounded concurrency);
 *   2. read the server's RSS (/proc/<pid>/status) before and after;
 *   3. session.ping round trips: flat out (N×M pings, bounded in flight), then
 *      paced at a fixed rate, open loop, spread round-robin over every
 *      connection, for one whole heartbeat interval (15 s): the table shows
 *      the first seconds (steady) and the whole interval, heartbeat pings
 *      included. A server that pings every connection in one sweep gets the
 *      steady window aligned right after a sweep and the run carried through
 *      the next one; one that spreads its pings needs no alignment. A probe
 *      connection in its own thread pings lightly all along, to tell server
 *      stalls from this process's own;
 *   4. close every client, SIGTERM the node and wait for it to exit.
 *
 * Flags (npm run bench:connect -- --flag value):
 *   --connections N        sessions to open (10000)
 *   --requests M           pings per connection in the flat-out run (10)
 *   --inflight K           pings in flight in the flat-out run (100)
 *   --rate R               paced requests/s (10000)
 *   --duration-s S         steady paced window (5)
 *   --skip-heartbeat       paced run only --duration-s long: no heartbeat alignment or whole interval
 *   --transports uws,ws    which transports, in order
 *   --connect-concurrency  connects in flight (200)
 *   --sources K            spread clients over 127.0.0.2..127.0.0.K+1 (0 = auto: only when ports run short)
 *   --timeout-s T          hard limit for the whole run; the server is killed (400)
 *   --settle-ms MS         pause before each RSS reading (1000)
 *   --node-arg ARG         extra node flag for the server (repeatable), e.g. --node-arg=--trace-gc
 *   --server-arg ARG       extra server flag (repeatable, for diagnostics), e.g. --server-arg=--heartbeat-interval-ms=60000
 *   --heap-snapshot        write a server heap snapshot once all sessions are in (perturbs later phases)
 *   --skip-gc              do not start the server with --inspect to force a full GC before memory readings
 *   --server-output        echo what the server prints
 *   --timeline             print the paced run per 100 ms (latency, lag, heartbeat pings, CPU)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { LobbyClient, type WebSocketConstructor } from '@foyer/client-sdk';

const SERVER_MAIN = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url)); // this file runs as bench/dist/connect.js
const CALL_TIMEOUT_MS = 30_000;
const MiB = 1024 * 1024;
const PROBE_EVERY_MS = 5;

/**
 * A full GC of this process between phases, so the garbage of one phase is not
 * collected in the middle of the next measurement (no --expose-gc needed).
 */
const selfGc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
})();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
/** Milliseconds on a clock both threads share. */
const now = () => performance.timeOrigin + performance.now();

// ---- heartbeat sweeps, as the clients see them ----

/**
 * A burst of server pings as the clients see them (pings less than
 * BURST_GAP_MS apart): every connection at once if the gateway pings in one
 * sweep, a slice of them if it spreads its pings over the interval (the
 * gateway pings a slice every 100 ms).
 */
const BURST_GAP_MS = 50;
interface Sweep {
  start: number;
  last: number;
  count: number;
}
const sweeps: Sweep[] = [];
function onServerPing(): void {
  const t = now();
  const s = sweeps.at(-1);
  if (s && t - s.last < BURST_GAP_MS) (s.last = t), s.count++;
  else sweeps.push({ start: t, last: t, count: 1 });
}

/** A `ws` WebSocket (optionally bound to one source address), for LobbyClient's `WebSocket` option. */
function socketClass(localAddress: string | undefined, trackPings: boolean): WebSocketConstructor {
  const options: WebSocket.ClientOptions = { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) };
  return class BenchSocket extends WebSocket {
    constructor(url: string) {
      super(url, options);
      // ws answers the server's heartbeat pings itself; note when they arrive.
      if (trackPings) this.on('ping', onServerPing);
    }
  } as unknown as WebSocketConstructor;
}

// ---- the probe: one light connection on its own thread ----

/**
 * Pings every PROBE_EVERY_MS from a worker thread, so its latencies are not
 * held up by the main thread's work for 10,000 connections (only by the
 * server, and by the CPU both share).
 */
async function probe(): Promise<void> {
  const { url } = workerData as { url: string };
  const port = parentPort!;
  const client = new LobbyClient({ url, WebSocket: socketClass(undefined, false), reconnect: false, callTimeoutMs: CALL_TIMEOUT_MS });
  await client.connect();
  await client.call('auth.guest', { name: 'bench-probe' });
  const sent: number[] = [];
  const lat: number[] = [];
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  port.on('message', async (msg: string) => {
    if (msg === 'start') {
      timer = setInterval(() => {
        const i = sent.length;
        const t = performance.now();
        sent.push(performance.timeOrigin + t);
        lat.push(NaN);
        pending++;
        client.call('session.ping', { t: i }).then(
          () => ((lat[i] = performance.now() - t), pending--),
          () => pending--,
        );
      }, PROBE_EVERY_MS);
    } else if (msg === 'stop') {
      clearInterval(timer);
      for (let i = 0; i < 200 && pending > 0; i++) await sleep(10);
      port.postMessage({ sent, lat });
      await client.close();
      port.close();
    }
  });
  port.postMessage('ready');
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      requests: { type: 'string', default: '10' },
      inflight: { type: 'string', default: '100' },
      rate: { type: 'string', default: '10000' },
      'duration-s': { type: 'string', default: '5' },
      'skip-heartbeat': { type: 'boolean', default: false },
      transports: { type: 'string', default: 'uws,ws' },
      'connect-concurrency': { type: 'string', default: '200' },
      sources: { type: 'string', default: '0' },
      'timeout-s': { type: 'string', default: '400' },
      'settle-ms': { type: 'string', default: '1000' },
      'node-arg': { type: 'string', multiple: true, default: [] },
      'server-arg': { type: 'string', multiple: true, default: [] },
      'heap-snapshot': { type: 'boolean', default: false },
      'skip-gc': { type: 'boolean', default: false },
      'server-output': { type: 'boolean', default: false },
      timeline: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (flags.help) {
    const src = readFileSync(fileURLToPath(import.meta.url).replace(/\.js$/, '.ts').replace('/dist/', '/'), 'utf8');
    process.stdout.write(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n');
    process.exit(0);
  }
  const int = (name: keyof typeof flags, min: number): number => {
    const v = Number(flags[name]);
    if (!Number.isInteger(v) || v < min) {
      process.stderr.write(`bench: --${name} must be an integer >= ${min} (got ${String(flags[name])})\n`);
      process.exit(2);
    }
    return v;
  };
  const N = int('connections', 1);
  const M = int('requests', 0);
  const INFLIGHT = int('inflight', 1);
  const RATE = int('rate', 1);
  const DURATION_S = int('duration-s', 1);
  const CONNECT_CONCURRENCY = int('connect-concurrency', 1);
  const TIMEOUT_S = int('timeout-s', 10);
  const SETTLE_MS = int('settle-ms', 0);
  const HEARTBEAT = !flags['skip-heartbeat'];
  const GC = !flags['skip-gc'];
  const SERVER_ARGS = flags['server-arg'] ?? [];
  // The server's heartbeat interval: its default unless a --server-arg or the environment sets it.
  const hbArg = SERVER_ARGS.map((a, i) => (a.startsWith('--heartbeat-interval-ms=') ? a.split('=')[1] : a === '--heartbeat-interval-ms' ? SERVER_ARGS[i + 1] : undefined)).find((v) => v !== undefined);
  const HEARTBEAT_MS = Number(hbArg ?? process.env.FOYER_HEARTBEAT_INTERVAL_MS ?? 15_000) || 15_000;
  const TRANSPORTS = flags.transports.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of TRANSPORTS) {
    if (t !== 'uws' && t !== 'ws') {
      process.stderr.write(`bench: unknown transport "${t}" (uws, ws)\n`);
      process.exit(2);
    }
  }

  // ---- environment: file descriptors, ephemeral ports, CPUs ----

  const cores = availableParallelism();
  const fds = fdLimits();
  // The client sockets live in this process and the server's in its own; each
  // needs one fd per connection plus slack, under the same (inherited) limit.
  const FD_NEEDED = N + 512;
  const FD_COMFORTABLE = 25_000;
  const ports = portRange();
  const SOURCES = Number(flags.sources) > 0 ? int('sources', 1) : Math.max(1, Math.ceil(N / Math.floor(ports * 0.7)));
  const notes: string[] = [];
  const say = (s: string) => process.stdout.write(s + '\n');

  say(
    `Foyer bench:connect — ${N} sessions; flat out ${M} pings/conn (${INFLIGHT} in flight); paced ${RATE} req/s ` +
      `(${DURATION_S} s steady${HEARTBEAT ? ', on to one whole heartbeat interval' : ''}); transports ${TRANSPORTS.join(',')}`,
  );
  say(
    `machine: ${cores} CPU core(s), node ${process.version}; open files limit (ulimit -n) soft=${fds?.soft ?? '?'} hard=${fds?.hard ?? '?'}; ` +
      `ephemeral ports ${ports}; clients connect from ${SOURCES === 1 ? '127.0.0.1' : `127.0.0.2..127.0.0.${SOURCES + 1}`}`,
  );
  const raiseTo = fds ? Math.min(fds.hard, Math.max(65_536, FD_NEEDED)) : 65_536;
  const canRaise = fds !== undefined && fds.hard > fds.soft;
  const howToRaise =
    (canRaise ? `run \`ulimit -n ${raiseTo}\` in the shell first (the server inherits it)` : `the hard limit is ${fds?.hard} as well, so raise that first`) +
    (fds && fds.hard < Math.max(65_536, FD_NEEDED)
      ? ' (/etc/security/limits.conf, systemd LimitNOFILE=, or docker run --ulimit nofile=65536:65536), then `ulimit -n 65536`'
      : '');
  if (fds && fds.soft < FD_NEEDED) {
    process.stderr.write(
      `\nbench: ulimit -n is ${fds.soft}, too low for ${N} connections: this process and the server each need about ${FD_NEEDED} file descriptors.\n` +
        `  Node cannot raise its own limit: ${howToRaise},\n  or run fewer: npm run bench:connect -- --connections ${Math.max(1, fds.soft - 512)}\n`,
    );
    process.exit(2);
  }
  if (fds && fds.soft < FD_COMFORTABLE) {
    const hint = `HINT: ulimit -n is ${fds.soft} (< ${FD_COMFORTABLE}): enough for ${N} sessions, but each process runs out above ~${fds.soft - 512}. Node cannot raise it itself: ${howToRaise}.`;
    say(hint);
    notes.push(hint);
  }
  notes.push(
    `the load generator (this process: the real LobbyClient over ws, one main thread, plus a 1-connection probe thread) runs on the same ${cores}-core machine ` +
      'as the server and competes with it for CPU. Flat-out rt/s is a lower bound for the server (see "server alone ≈", scaled by the server\'s CPU share); ' +
      'latencies include this process\'s queueing (the probe shows the server\'s side).',
  );
  say('');

  // ---- the server process ----

  const live = new Set<ChildProcess>();
  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  const results: Result[] = [];
  // The hard overall bound: whatever hangs, the server dies and the bench exits.
  const hardTimer = setTimeout(() => {
    process.stderr.write(`\nbench: hard timeout of ${TIMEOUT_S} s reached; killing the server\n`);
    printTable();
    killAll();
    process.exit(3);
  }, TIMEOUT_S * 1000);

  interface Server {
    child: ChildProcess;
    pid: number;
    port: number;
    transport: string;
    cwd: string;
    /** The last lines the server wrote, for diagnostics. */
    output: string[];
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    inspector: () => string | undefined;
  }

  /** Forces a full GC in the server through its inspector (HeapProfiler.collectGarbage). */
  async function gcServer(s: Server): Promise<boolean> {
    const url = s.inspector();
    if (!url) return false;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    try {
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 15_000);
        ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
        ws.on('message', (data) => {
          if ((JSON.parse(String(data)) as { id?: number }).id === 1) (clearTimeout(timer), resolve(true));
        });
        ws.once('error', () => (clearTimeout(timer), resolve(false)));
      });
    } finally {
      ws.close();
    }
  }

  /** The server's memory as it is, then (unless --skip-gc) after a forced full GC. */
  /** Waits until the server's CPU use stays under 5% of a core for 1 s (start-up work done), at most 30 s. */
  async function settleServer(s: Server): Promise<boolean> {
    const deadline = performance.now() + 30_000;
    let last = cpuSnapshot(s.pid);
    let quietSince = performance.now();
    while (performance.now() < deadline) {
      await sleep(250);
      const cur = cpuSnapshot(s.pid);
      if (cur.server - last.server > 0.25 * 0.05) quietSince = performance.now();
      last = cur;
      if (performance.now() - quietSince >= 1000) return true;
    }
    return false;
  }

  async function measure(s: Server): Promise<{ raw: number; gc: number; heap: Record<string, number> }> {
    await sleep(SETTLE_MS);
    const raw = memOf(s.pid).rss;
    let gc = NaN;
    if (GC && (await gcServer(s))) {
      await sleep(300);
      gc = memOf(s.pid).rss;
    }
    return { raw, gc, heap: await heapOf(s.port) };
  }

  async function startServer(transport: string): Promise<Server> {
    const cwd = flags['heap-snapshot'] ? mkdtempSync(join(tmpdir(), 'foyer-bench-')) : process.cwd();
    const args = [
      ...(flags['node-arg'] ?? []),
      ...(flags['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2'] : []),
      // The inspector only lets the bench force a full GC before reading memory; nothing attaches otherwise.
      ...(GC ? ['--inspect=127.0.0.1:0'] : []),
      SERVER_MAIN,
      '--port', '0',
      '--host', '127.0.0.1',
      '--transport', transport,
      '--log-level', 'warn',
      // The embedded database in memory: out of the working tree (its rows count in the server's RSS).
      '--data-dir', 'memory',
      // Generous limits: the bench measures capacity, not the limits.
      '--rate-limit-per-sec', '100000',
      '--rate-limit-burst', '100000',
      '--auth-timeout-ms', '600000',
      ...SERVER_ARGS,
    ];
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, FOYER_TOKEN_SECRET: randomBytes(32).toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
    const output: string[] = [];
    const keep = (line: string) => {
      if (flags['server-output']) say(`  [server ${transport}] ${line}`);
      output.push(line);
      if (output.length > 50) output.shift();
    };
    // Both pipes are drained for the whole run: a full pipe would block the server's logger.
    let inspector: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (l) => {
      const m = /^Debugger listening on (ws:\/\/\S+)/.exec(l);
      if (m) inspector = m[1];
      else if (!/^For help, see: https:\/\/nodejs.org\/en\/docs\/inspector|^Debugger attached|^Debugger ending/.test(l)) keep(`[stderr] ${l}`);
    });
    const stdout = createInterface({ input: child.stdout! });
    const ready = await new Promise<{ port: number; transport: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not print its port within 20 s')), 20_000);
      stdout.on('line', (line) => {
        keep(line);
        const m = /Foyer lobby on http:\/\/localhost:(\d+)\/ \(WebSocket \S+, (\w+)\)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ port: Number(m[1]), transport: m[2]! });
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the server exited before listening (code ${code}, signal ${signal}):\n  ${output.join('\n  ')}`));
      });
    });
    return { child, pid: child.pid!, ...ready, cwd, output, exited, inspector: () => inspector };
  }

  async function stopServer(s: Server): Promise<string> {
    s.child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
    const r = await Promise.race([s.exited, timeout]);
    if (r === 'timeout') {
      s.child.kill('SIGKILL');
      await s.exited;
      return 'did not exit within 20 s of SIGTERM; killed';
    }
    return r.code === 0 ? 'exited 0 after SIGTERM' : `exited with code ${r.code}, signal ${r.signal}`;
  }

  /** Writes a heap snapshot of the server (SIGUSR2) and returns its path once written. */
  async function heapSnapshot(s: Server): Promise<string | undefined> {
    const before = new Set(readdirSync(s.cwd));
    s.child.kill('SIGUSR2');
    for (let i = 0; i < 600; i++) {
      await sleep(200);
      const f = readdirSync(s.cwd).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
      // The server writes it synchronously: once /metrics answers, the file is complete.
      if (f && (await heapOf(s.port)).heap_size_used_bytes !== undefined) return join(s.cwd, f);
    }
    return undefined;
  }

  // ---- the load generator ----

  const socketClasses = SOURCES === 1 ? [socketClass(undefined, true)] : Array.from({ length: SOURCES }, (_, i) => socketClass(`127.0.0.${i + 2}`, true));

  /**
   * Watches the heartbeat pings from `after` on: a burst that reaches at least
   * half the connections is a whole sweep (returned once it is over); two
   * smaller bursts mean the server spreads its pings ('spread').
   */
  async function heartbeatStyle(after: number, n: number, timeoutMs: number): Promise<Sweep | 'spread' | undefined> {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      const seen = sweeps.filter((w) => w.start > after);
      const whole = seen.find((w) => w.count >= n / 2);
      if (whole && now() - whole.last > 300) return whole;
      if (!whole && seen.filter((w) => now() - w.last > 300).length >= 2) return 'spread';
      await sleep(20);
    }
    return undefined;
  }

  async function runTransport(transport: string): Promise<Result> {
    const log = (s: string) => say(`[${transport}] ${s}`);
    sweeps.length = 0;
    const server = await startServer(transport);
    log(`server pid ${server.pid}, port ${server.port}, transport ${server.transport}${server.transport !== transport ? ' — FELL BACK: the uWS binding did not load' : ''}`);
    const url = `ws://127.0.0.1:${server.port}/`;
    const errors: string[] = [];
    const r: Result = {
      transport,
      actual: server.transport,
      conns: 0,
      connPerSec: NaN,
      rssBefore: NaN,
      rssAfter: NaN,
      rssPeak: NaN,
      heapBefore: {},
      heapAfter: {},
      flat: { rtPerSec: NaN, p50: NaN, p99: NaN, serverCpu: NaN, clientCpu: NaN, otherCpu: NaN, sweeps: 0 },
      steady: undefined,
      full: undefined,
      sweep: undefined,
      probeSteady: undefined,
      probeSweep: undefined,
      pacedAchieved: NaN,
      lagP99: NaN,
      lagMax: NaN,
      pacedCpu: { server: NaN, client: NaN, other: NaN },
      errors,
      stopped: '',
      snapshot: undefined,
    };
    results.push(r);

    // The idle node once its start-up work is over (the embedded database's start-up garbage
    // is hundreds of MiB until a GC): the baseline both growth figures start from.
    const idle = await settleServer(server);
    if (!idle) notes.push(`${transport}: the server was still busy 30 s after start; its memory baseline may be off.`);
    const before = await measure(server);
    const baseline = GC && Number.isFinite(before.gc) ? before.gc : before.raw;
    r.rssBefore = baseline;
    r.rssIdleRaw = before.raw;
    r.rssBeforeGc = before.gc;
    r.heapBefore = before.heap;

    // 1. N sessions.
    const clients: LobbyClient[] = [];
    let dropped = 0;
    const connectErrors = new Errors();
    let connectMs = 0;
    let progressAt = performance.now();
    const connectRange = async (from: number, to: number) => {
      const t0 = performance.now();
      await pool(to - from, CONNECT_CONCURRENCY, async (j) => {
        const i = from + j;
        const client = new LobbyClient({ url, WebSocket: socketClasses[i % socketClasses.length]!, reconnect: false, callTimeoutMs: CALL_TIMEOUT_MS });
        try {
          await client.connect();
          await client.call('auth.guest', { name: `bench-${i}` });
          clients.push(client);
          client.onState((state) => state === 'closed' && dropped++);
        } catch (err) {
          connectErrors.add(err);
          void client.close();
        }
        if (performance.now() - progressAt > 2000) {
          progressAt = performance.now();
          log(`  ${clients.length + connectErrors.count}/${N} connecting…`);
        }
      });
      connectMs += performance.now() - t0;
    };
    // Half, a pause to read memory, then the rest: the second half's growth is the marginal cost of a session,
    // without one-off growth (young generation, code, buffers) that the first connections trigger.
    const half = Math.floor(N / 2);
    await connectRange(0, half);
    const mid = await measure(server);
    const midSessions = clients.length;
    r.rssMid = mid.raw;
    r.rssMidGc = mid.gc;
    r.heapMid = mid.heap;
    await connectRange(half, N);
    const connectS = connectMs / 1000;
    const n = clients.length;
    r.conns = n;
    r.connPerSec = n / connectS;
    log(`${n}/${N} logged in in ${fmt(connectS, 2)} s: ${fmtInt(r.connPerSec)} conn/s${connectErrors.count ? `; ${connectErrors.count} FAILED: ${connectErrors}` : ''}`);
    if (connectErrors.count) errors.push(`${connectErrors.count} connects failed: ${connectErrors}`);

    const after = await measure(server);
    r.rssAfter = after.raw;
    r.rssAfterGc = after.gc;
    r.heapAfter = after.heap;
    const growth = after.raw - baseline;
    // From the readings after GC when there are some: garbage left over from the handshakes makes raw ones jumpy.
    r.marginal = GC ? (after.gc - mid.gc) / Math.max(1, n - midSessions) : (after.raw - mid.raw) / Math.max(1, n - midSessions);
    log(
      `server RSS (idle${GC ? ', after a full GC' : ''}) ${fmt(baseline / MiB)} → ${fmt(after.raw / MiB)} MiB: +${fmt(growth / MiB)} MiB, ${fmt(growth / 1024 / Math.max(1, n), 2)} KiB/session; ` +
        (GC ? `after a full GC ${fmt(before.gc / MiB)} → ${fmt(after.gc / MiB)} MiB: +${fmt((after.gc - before.gc) / MiB)} MiB; ` : '') +
        `marginal ${fmt(r.marginal / 1024, 2)} KiB/session (${midSessions} → ${n})`,
    );
    if (flags['heap-snapshot']) {
      const file = await heapSnapshot(server);
      r.snapshot = file;
      log(`heap snapshot: ${file ?? 'NOT WRITTEN'} (the phases after it are perturbed)`);
    }

    // 2. Flat out: N×M pings, INFLIGHT at a time, round-robin over every connection.
    if (n > 0 && M > 0) {
      selfGc();
      const total = n * M;
      const lat = new Float64Array(total).fill(NaN);
      const rtErrors = new Errors();
      const cpu0 = cpuSnapshot(server.pid);
      const sweeps0 = sweeps.length;
      const whole = (from: number) => sweeps.slice(from).filter((w) => w.count >= n / 2).length;
      const start = performance.now();
      await pool(total, INFLIGHT, async (k) => {
        const t = performance.now();
        try {
          await clients[k % n]!.call('session.ping', { t: k });
          lat[k] = performance.now() - t;
        } catch (err) {
          rtErrors.add(err);
        }
      });
      const secs = (performance.now() - start) / 1000;
      const cpu = cpuSince(cpu0, server.pid, secs);
      const ok = lat.filter((v) => !Number.isNaN(v)).sort();
      r.flat = {
        rtPerSec: ok.length / secs,
        p50: percentile(ok, 50),
        p99: percentile(ok, 99),
        serverCpu: cpu.server,
        clientCpu: cpu.client,
        otherCpu: cpu.other,
        sweeps: whole(sweeps0),
      };
      log(
        `flat out: ${fmtInt(total)} pings in ${fmt(secs, 2)} s = ${fmtInt(r.flat.rtPerSec)} rt/s (p50 ${fmt(r.flat.p50, 2)} ms, p99 ${fmt(r.flat.p99, 2)} ms); ` +
          `CPU: server ${pct(cpu.server)}, bench ${pct(cpu.client)}, other processes ${pct(cpu.other)} of a core${r.flat.sweeps ? `; ${r.flat.sweeps} heartbeat sweep(s) fell in it` : ''}` +
          (rtErrors.count ? `; ${rtErrors.count} FAILED: ${rtErrors}` : ''),
      );
      if (rtErrors.count) errors.push(`${rtErrors.count} flat-out pings failed: ${rtErrors}`);
    }

    // 3. Paced, open loop: request k goes out at start + k/RATE whether or not earlier ones were answered.
    if (n > 0) {
      selfGc();
      await sleep(300);
      let aligned: Sweep | undefined;
      let style = 'unknown';
      if (HEARTBEAT) {
        // A server that pings everyone in one sweep: start right after one, so the steady window holds none
        // and the next comes ~15 s later. One that spreads its pings: nothing to wait for.
        log('paced: watching the heartbeat pings (one sweep over every connection, or spread?)…');
        const hb = await heartbeatStyle(now() - 100, n, HEARTBEAT_MS + 5_000);
        if (hb === 'spread') style = 'spread';
        else if (hb) (aligned = hb), (style = 'sweep');
        else notes.push(`${transport}: saw neither a heartbeat sweep nor spread pings within ${HEARTBEAT_MS + 5000} ms; the paced run was not aligned.`);
        log(`  heartbeat: ${style === 'sweep' ? `one sweep (${hb && hb !== 'spread' ? hb.count : '?'} pings over ${hb && hb !== 'spread' ? fmt(hb.last - hb.start, 0) : '?'} ms); starting right after it` : style === 'spread' ? 'pings spread over the interval' : 'unknown'}`);
        if (aligned) await sleep(300);
      }
      selfGc();
      r.heartbeatStyle = HEARTBEAT ? style : 'not watched (--skip-heartbeat)';
      const probe = new Worker(new URL(import.meta.url), { workerData: { url } });
      const probeResult = new Promise<{ sent: number[]; lat: number[] }>((resolve, reject) => {
        probe.on('message', (m: unknown) => typeof m === 'object' && resolve(m as { sent: number[]; lat: number[] }));
        probe.once('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        probe.once('message', () => resolve());
        probe.once('error', reject);
      });

      const maxS = HEARTBEAT ? Math.max(DURATION_S, HEARTBEAT_MS / 1000) + (aligned ? 6 : 0) : DURATION_S;
      const cap = Math.ceil(RATE * maxS);
      const sentAt = new Float64Array(cap);
      const lat = new Float64Array(cap).fill(NaN);
      const lag = new Float64Array(cap);
      const pacedErrors = new Errors();
      const cpuSamples: [number, CpuSnapshot][] = [];
      let sent = 0;
      let done = 0;
      let stopAt = Infinity; // set once the run may end
      probe.postMessage('start');
      const cpu0 = cpuSnapshot(server.pid);
      const start = now();
      const steadyEnd = start + DURATION_S * 1000;
      await new Promise<void>((resolve) => {
        const settle = () => ++done === sent && sent >= stopAt && resolve();
        const tick = () => {
          const t = now();
          if (flags.timeline && t - (cpuSamples.at(-1)?.[0] ?? 0) >= 10) cpuSamples.push([t, cpuSnapshot(server.pid)]);
          const due = Math.min(cap, Math.floor(((t - start) / 1000) * RATE));
          while (sent < due && sent < stopAt) {
            const k = sent++;
            const ts = performance.now();
            sentAt[k] = performance.timeOrigin + ts;
            lag[k] = sentAt[k]! - (start + (k * 1000) / RATE);
            // No SDK timer per call (timeoutMs: Infinity): 10,000 timers armed and cleared a second are
            // load-generator work that adds to its own jitter. The drain deadline below bounds the wait instead.
            clients[k % n]!.call('session.ping', { t: k }, { timeoutMs: Infinity }).then(
              () => {
                lat[k] = performance.now() - ts;
                settle();
              },
              (err: unknown) => {
                pacedErrors.add(err);
                settle();
              },
            );
          }
          if (stopAt === Infinity) {
            // Aligned to a sweep: on until the next whole sweep is over. Otherwise: one heartbeat interval (or --duration-s).
            const next = aligned && sweeps.find((w) => w.start > aligned!.last + 1000 && w.count >= n / 2);
            const enough = aligned ? t >= steadyEnd && next !== undefined && t - next.last > 500 : t - start >= maxS * 1000;
            if (enough || sent >= cap) stopAt = sent;
          }
          if (sent < stopAt) setTimeout(tick, 1);
          else if (done === sent) resolve();
          else
            setTimeout(() => {
              if (done < sent) pacedErrors.add(new Error(`${sent - done} pings had no reply ${CALL_TIMEOUT_MS / 1000} s after the last was sent`));
              resolve();
            }, CALL_TIMEOUT_MS).unref();
        };
        tick();
      });
      const end = now();
      probe.postMessage('stop');
      const pr = await probeResult;
      const cpu = cpuSince(cpu0, server.pid, (end - start) / 1000);
      r.pacedCpu = { server: cpu.server, client: cpu.client, other: cpu.other };
      r.pacedAchieved = sent / ((sentAt[sent - 1]! - start) / 1000);
      r.paceErrors = pacedErrors.count;
      if (pacedErrors.count) errors.push(`${pacedErrors.count} paced pings failed: ${pacedErrors}`);
      const lags = lag.slice(0, sent).sort();
      r.lagP99 = percentile(lags, 99);
      r.lagMax = lags[lags.length - 1] ?? NaN;

      // The heartbeat burst to look at: the whole sweep in the run, else the largest slice of pings.
      const inRun = sweeps.filter((w) => w.start > start && w.start < end);
      const sweep = inRun.find((w) => w.count >= n / 2) ?? inRun.reduce<Sweep | undefined>((a, w) => (a && a.count >= w.count ? a : w), undefined);
      const inSweep = (t: number) => sweep !== undefined && t >= sweep.start - 500 && t <= sweep.last + 500;
      const pick = (from: number, to: number, exclude = false) => {
        const out: number[] = [];
        for (let k = 0; k < sent; k++) if (sentAt[k]! >= from && sentAt[k]! < to && !(exclude && inSweep(sentAt[k]!))) out.push(lat[k]!);
        return stats(out);
      };
      const pickProbe = (pred: (t: number) => boolean) => stats(pr.lat.filter((_, i) => pred(pr.sent[i]!)));
      const steadyHasSweep = sweeps.some((w) => w.count >= n / 2 && w.last >= start && w.start < steadyEnd);
      r.steady = pick(start, steadyEnd);
      r.steadyHasSweep = steadyHasSweep;
      r.probeSteady = pickProbe((t) => t >= start && t < steadyEnd);
      if (HEARTBEAT && sweep) {
        // One whole heartbeat interval from the end of the previous sweep: what a long run sees.
        const intervalEnd = aligned ? Math.min(end, aligned.start + HEARTBEAT_MS + (sweep.last - sweep.start) + 500) : end;
        r.full = pick(start, intervalEnd);
        r.fullS = (intervalEnd - start) / 1000;
        r.sweep = pick(sweep.start - 500, sweep.last + 500);
        r.sweepMs = sweep.last - sweep.start;
        r.sweepPings = sweep.count;
        r.probeSweep = pickProbe(inSweep);
      }
      log(
        `paced ${fmtInt(RATE)} req/s (sent at ${fmtInt(r.pacedAchieved)}/s, lag behind schedule p99 ${fmt(r.lagP99, 2)} ms, max ${fmt(r.lagMax, 1)} ms); ` +
          `CPU: server ${pct(cpu.server)}, bench ${pct(cpu.client)}, other processes ${pct(cpu.other)}`,
      );
      log(`  steady ${DURATION_S} s${steadyHasSweep ? ' (A WHOLE HEARTBEAT SWEEP FELL IN IT)' : ''}: ${statsLine(r.steady)}; probe thread: ${statsLine(r.probeSteady)}`);
      if (r.full) log(`  one whole heartbeat interval (${fmt(r.fullS ?? NaN, 1)} s, heartbeat pings included): ${statsLine(r.full)}`);
      if (r.sweep) {
        log(
          `  around the ${style === 'sweep' ? 'heartbeat sweep' : 'largest burst of heartbeat pings'} (${r.sweepPings} pings reached clients over ${fmt(r.sweepMs ?? NaN, 0)} ms): ${statsLine(r.sweep)}; ` +
            `probe thread: ${statsLine(r.probeSweep!)}`,
        );
      } else if (HEARTBEAT) notes.push(`${transport}: no heartbeat pings during the paced run; its heartbeat columns are empty.`);

      if (flags.timeline) {
        for (let b = 0; b * 100 < end - start; b++) {
          const from = start + b * 100;
          const to = from + 100;
          let cnt = 0;
          let maxLat = 0;
          let maxLag = 0;
          for (let k = 0; k < sent; k++) {
            if (sentAt[k]! < from || sentAt[k]! >= to) continue;
            cnt++;
            maxLat = Math.max(maxLat, lat[k]!);
            maxLag = Math.max(maxLag, lag[k]!);
          }
          const burst = sweeps.filter((w) => w.start < to && w.last >= from).reduce((a, w) => a + w.count, 0);
          const pings = burst ? `pings ${burst}` : '';
          const a = cpuSamples.filter(([t]) => t < from).at(-1);
          const z = cpuSamples.filter(([t]) => t < to).at(-1);
          const c = a && z && z[0] > a[0] ? cpuSince(a[1], server.pid, (z[0] - a[0]) / 1000, z[1]) : undefined;
          log(
            `  t=${fmt(b / 10, 1)}s sent ${cnt} max ${fmt(maxLat, 1)} ms lag ${fmt(maxLag, 1)} ms ${pings}` +
              (c ? ` cpu server ${pct(c.server)} bench ${pct(c.client)} other ${pct(c.other)}` : ''),
          );
        }
      }
    }
    r.rssPeak = memOf(server.pid).hwm;
    if (dropped) errors.push(`${dropped} sessions were closed by the server during the run`);

    // 4. Close every client, then stop the server.
    const tc = performance.now();
    await pool(n, 1000, (i) => clients[i]!.close());
    log(`closed ${n} clients in ${fmt((performance.now() - tc) / 1000, 2)} s`);
    r.stopped = await stopServer(server);
    log(`server ${r.stopped}`);
    const extra = server.output.filter((l) => !l.startsWith('Foyer lobby on'));
    if (extra.length && !flags['server-output']) log(`server output (last lines):\n    ${extra.slice(-10).join('\n    ')}`);
    return r;
  }

  function printTable(): void {
    const rate = `@ ${fmtInt(RATE)}/s`;
    const head = ['transport', 'conns', 'conn/s', 'RSS growth MiB', 'after GC MiB', 'KiB/conn', 'marginal KiB/conn', 'max rt/s', `p50 ms ${rate}`, `p99 ms ${rate}`, 'probe p99 ms'];
    if (HEARTBEAT) head.push('p99 ms incl. heartbeat', 'max ms in heartbeat');
    const rows = results.map((r) => {
      const growth = r.rssAfter - r.rssBefore;
      const row = [
        r.actual === r.transport ? r.transport : `${r.transport} (fell back to ${r.actual})`,
        fmtInt(r.conns),
        fmtInt(r.connPerSec),
        fmt(growth / MiB),
        fmt(((r.rssAfterGc ?? NaN) - (r.rssBeforeGc ?? NaN)) / MiB),
        fmt(growth / 1024 / Math.max(1, r.conns), 2),
        fmt((r.marginal ?? NaN) / 1024, 2),
        fmtInt(r.flat.rtPerSec),
        fmt(r.steady?.p50 ?? NaN, 2),
        fmt(r.steady?.p99 ?? NaN, 2) + (r.steadyHasSweep ? '*' : ''),
        fmt(r.probeSteady?.p99 ?? NaN, 2),
      ];
      if (HEARTBEAT) row.push(fmt(r.full?.p99 ?? NaN, 2), fmt(r.sweep?.max ?? NaN, 1));
      return row;
    });
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
    const sep = '|' + widths.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|';
    say('\n' + [line(head), sep, ...rows.map(line)].join('\n') + '\n');
    for (const r of results) {
      const mib = (v: number | undefined) => fmt((v ?? NaN) / MiB);
      const three = (k: string) => `${mib(r.heapBefore[k])} → ${mib(r.heapMid?.[k])} → ${mib(r.heapAfter[k])}`;
      const outside = (rss: number | undefined, heap: Record<string, number> | undefined) => (rss ?? NaN) - (heap?.heap_size_total_bytes ?? NaN);
      say(`${r.transport}:`);
      say(
        `  memory (MiB; 0 → ${fmtInt(Math.floor(N / 2))} → ${fmtInt(r.conns)} sessions): RSS ${mib(r.rssIdleRaw)} → ${mib(r.rssMid)} → ${mib(r.rssAfter)} ` +
          `(after a full GC ${mib(r.rssBeforeGc)} → ${mib(r.rssMidGc)} → ${mib(r.rssAfterGc)}; peak over the run ${mib(r.rssPeak)}); ` +
          (GC ? 'after GC: ' : '') +
          `V8 heap used ${three('heap_size_used_bytes')} (old space ${three('heap_space_size_used_bytes_old')}), ` +
          `V8 heap reserved ${three('heap_size_total_bytes')} (new space ${three('heap_space_size_total_bytes_new')}); ` +
          `RSS outside the V8 heap ${mib(outside(GC ? r.rssBeforeGc : r.rssBefore, r.heapBefore))} → ${mib(outside(GC ? r.rssMidGc : r.rssMid, r.heapMid))} → ${mib(outside(GC ? r.rssAfterGc : r.rssAfter, r.heapAfter))}` +
          (r.snapshot ? `; heap snapshot ${r.snapshot}` : ''),
      );
      say(
        `  flat out: ${fmtInt(r.flat.rtPerSec)} rt/s, p50 ${fmt(r.flat.p50, 2)} / p99 ${fmt(r.flat.p99, 2)} ms at ${INFLIGHT} in flight; ` +
          `CPU server ${pct(r.flat.serverCpu)}, bench ${pct(r.flat.clientCpu)}, other ${pct(r.flat.otherCpu)} of a core → server alone ≈ ${fmtInt(r.flat.rtPerSec / r.flat.serverCpu)} rt/s per core`,
      );
      if (r.steady) {
        say(`  paced steady: ${statsLine(r.steady)}${r.steadyHasSweep ? ' (* a heartbeat sweep fell in it)' : ''}; probe thread ${statsLine(r.probeSteady!)}`);
        if (r.full) say(`  paced over one whole heartbeat interval (${fmt(r.fullS ?? NaN, 1)} s): ${statsLine(r.full)}`);
        if (r.sweep) {
          const what = r.heartbeatStyle === 'sweep' ? 'the heartbeat sweep' : 'the largest burst of heartbeat pings';
          say(`  around ${what} (${r.sweepPings} pings over ${fmt(r.sweepMs ?? NaN, 0)} ms): ${statsLine(r.sweep)}; probe thread ${statsLine(r.probeSweep!)}`);
        }
        say(
          `  paced sent at ${fmtInt(r.pacedAchieved)}/s, lag behind schedule p99 ${fmt(r.lagP99, 2)} ms / max ${fmt(r.lagMax, 1)} ms; ` +
            `CPU server ${pct(r.pacedCpu.server)}, bench ${pct(r.pacedCpu.client)}, other ${pct(r.pacedCpu.other)}`,
        );
      }
      if (r.errors.length) say(`  ERRORS: ${r.errors.join('; ')}`);
      say(`  server ${r.stopped}`);
    }
    const busy = results.filter((r) => r.flat.otherCpu > 0.15 || r.pacedCpu.other > 0.15);
    if (busy.length) {
      notes.push(
        `OTHER PROCESSES used CPU during the run (${busy.map((r) => `${r.transport}: ${pct(Math.max(r.flat.otherCpu, r.pacedCpu.other))} of a core`).join(', ')}): ` +
          'on a 2-core machine that skews every number; rerun on a quiet machine.',
      );
    }
    notes.push(
      'latency: from handing a request to the SDK to its reply, on this process\'s clock; the paced run is open loop in 1 ms ticks. ' +
        '"max ms in heartbeat" covers requests sent from 0.5 s before the heartbeat sweep (or, when the server spreads its pings, the largest burst of them) reached the clients until 0.5 s after. ' +
        `Heartbeat: ${results.map((r) => `${r.transport} ${r.heartbeatStyle ?? '-'}`).join(', ')}.`,
    );
    say('\nNotes:\n' + notes.map((s) => `- ${s}`).join('\n'));
  }

  let failed = false;
  for (const t of TRANSPORTS) {
    try {
      await runTransport(t);
    } catch (err) {
      failed = true;
      process.stderr.write(`[${t}] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      killAll();
    }
  }
  clearTimeout(hardTimer);
  printTable();
  const bad = results.some((r) => r.errors.length || !r.stopped.startsWith('exited 0'));
  process.exit(failed || bad ? 1 : 0);
}

// ---- helpers ----

interface Stats {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  over5: number;
}

interface Result {
  transport: string;
  actual: string;
  conns: number;
  connPerSec: number;
  rssBefore: number;
  rssAfter: number;
  rssPeak: number;
  heapBefore: Record<string, number>;
  heapAfter: Record<string, number>;
  heapMid?: Record<string, number>;
  rssMid?: number;
  rssBeforeGc?: number;
  /** The idle server's RSS before any GC (start-up garbage included). */
  rssIdleRaw?: number;
  rssMidGc?: number;
  rssAfterGc?: number;
  /** RSS bytes per session from N/2 to N sessions. */
  marginal?: number;
  flat: { rtPerSec: number; p50: number; p99: number; serverCpu: number; clientCpu: number; otherCpu: number; sweeps: number };
  steady: Stats | undefined;
  steadyHasSweep?: boolean;
  /** 'sweep' (every connection at once), 'spread' or 'unknown'. */
  heartbeatStyle?: string;
  full: Stats | undefined;
  fullS?: number;
  sweep: Stats | undefined;
  sweepMs?: number;
  sweepPings?: number;
  probeSteady: Stats | undefined;
  probeSweep: Stats | undefined;
  pacedAchieved: number;
  paceErrors?: number;
  lagP99: number;
  lagMax: number;
  pacedCpu: { server: number; client: number; other: number };
  errors: string[];
  stopped: string;
  snapshot: string | undefined;
}

function stats(values: number[]): Stats {
  const sorted = Float64Array.from(values.filter((v) => !Number.isNaN(v))).sort();
  const over5 = sorted.findIndex((v) => v > 5);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
    over5: over5 < 0 ? 0 : sorted.length - over5,
  };
}

function statsLine(s: Stats): string {
  return `${fmtInt(s.count)} reqs, p50 ${fmt(s.p50, 2)} ms, p99 ${fmt(s.p99, 2)} ms, p99.9 ${fmt(s.p999, 2)} ms, max ${fmt(s.max, 1)} ms, ${fmtInt(s.over5)} over 5 ms`;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const pct = (share: number) => `${fmt(share * 100, 0)}%`;

/** Runs `fn(0..count-1)` with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, runner));
}

class Errors {
  count = 0;
  readonly samples = new Map<string, number>();
  add(err: unknown): void {
    this.count++;
    const key = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`.slice(0, 160) : String(err);
    this.samples.set(key, (this.samples.get(key) ?? 0) + 1);
  }
  toString(): string {
    return [...this.samples].slice(0, 5).map(([k, c]) => `${c}× ${k}`).join('; ');
  }
}

function fdLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/);
    const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: num(soft), hard: num(hard) };
  } catch {
    return undefined;
  }
}

function portRange(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi! - lo! + 1;
  } catch {
    return 28_232; // Linux's default 32768-60999
  }
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
function memOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

// CPU accounting from /proc, in seconds; USER_HZ is 100 on every mainstream Linux.
interface CpuSnapshot {
  server: number;
  client: number;
  machine: number;
}

function cpuSnapshot(pid: number): CpuSnapshot {
  let server = NaN;
  let machine = NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    server = (Number(f[11]) + Number(f[12])) / 100;
    // Busy time of the whole machine: everything but idle and iowait.
    const all = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    machine = (all.slice(0, 8).reduce((a, b) => a + b, 0) - all[3]! - all[4]!) / 100;
  } catch {
    // Not Linux: no CPU figures.
  }
  const u = process.cpuUsage();
  return { server, client: (u.user + u.system) / 1e6, machine };
}

/** CPU used since `a`, as shares of one core: the server, this process (all threads) and everything else. */
function cpuSince(a: CpuSnapshot, pid: number, secs: number, b = cpuSnapshot(pid)): { server: number; client: number; other: number } {
  const server = (b.server - a.server) / secs;
  const client = (b.client - a.client) / secs;
  const other = Math.max(0, (b.machine - a.machine) / secs - server - client);
  return { server, client, other };
}

/** A few gauges from the node's /metrics (prom-client default metrics). */
async function heapOf(port: number): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^foyer_process_nodejs_(heap_size_used_bytes|heap_size_total_bytes|external_memory_bytes|heap_space_size_(?:used|total)_bytes\{space="(?:new|old)"\}) (\S+)/.exec(line);
      if (m) out[m[1]!.replace(/\{space="(\w+)"\}/, '_$1')] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

// Last, so every declaration above is initialized when the run starts.
if (isMainThread) await main();
else await probe();
