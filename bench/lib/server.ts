/** The lobby node as a child process: start, settle, stop, force a GC, profile, read its memory and /metrics. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { MiB, sleep } from './format.js';
import { cpuSeconds, memOf, track } from './machine.js';

/** The built server entry point (this file runs as bench/dist/lib/server.js). */
export const SERVER_MAIN = fileURLToPath(new URL('../../../server/dist/main.js', import.meta.url));

// ---- the lobby node process ----

/**
 * How `npm start` and the image (package.json, Dockerfile) run the node, so
 * that the benches measure it as shipped: a young generation of up to 32 MiB
 * per semi-space, and one malloc arena. The environment wins over these (set
 * MALLOC_ARENA_MAX to compare), and so do `nodeArgs` (V8 takes a flag's last value).
 */
export const SHIPPED: { nodeArgs: readonly string[]; env: Readonly<Record<string, string>> } = {
  nodeArgs: ['--max-semi-space-size=32'],
  env: { MALLOC_ARENA_MAX: '1' },
};

export interface ServerOptions {
  transport: string;
  /** Extra server flags (`--chat-per-sec`, `10`, …). */
  args?: string[];
  /** Extra node flags (`--cpu-prof`, …). */
  nodeArgs?: string[];
  /** Start with --inspect on a random port so gc() can force a full GC before memory readings. */
  inspect?: boolean;
  /** Write a CPU profile (node --cpu-prof) into a temporary directory; see ServerProc.cpuProfile(). */
  cpuProfile?: boolean;
  /** Echo the server's output, prefixed. */
  echo?: (line: string) => void;
  /** How long to wait for the port line (ms). */
  startTimeoutMs?: number;
  /** The node's --data-dir: `memory` (default) keeps its embedded database in memory, out of the working tree. */
  dataDir?: string;
  /** The node's working directory (where it writes heap snapshots). Default: this process's. */
  cwd?: string;
}

export interface ServerProc {
  child: ChildProcess;
  pid: number;
  port: number;
  /** The transport the node reports (uws falls back to ws when its binding does not load). */
  transport: string;
  url: string;
  /** The last lines the server wrote (diagnostics). */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The directory the CPU profile is written to on exit, with cpuProfile. */
  profileDir: string | undefined;
  cwd: string;
  inspector(): string | undefined;
}

/**
 * Starts the built server (server/dist/main.js) as shipped (SHIPPED) on 127.0.0.1 with a free port,
 * log level warn, an in-memory embedded database and a random token secret, and resolves once it printed the
 * port. Both pipes are drained for the whole run: a full pipe would block the
 * server's logger.
 */
export async function startServer(opts: ServerOptions): Promise<ServerProc> {
  const profileDir = opts.cpuProfile ? mkdtempSync(join(tmpdir(), 'foyer-prof-')) : undefined;
  const args = [
    ...SHIPPED.nodeArgs,
    ...(opts.nodeArgs ?? []),
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []),
    SERVER_MAIN,
    '--port', '0',
    '--host', '127.0.0.1',
    '--transport', opts.transport,
    '--log-level', 'warn',
    '--data-dir', opts.dataDir ?? 'memory',
    ...(opts.args ?? []),
  ];
  const child = track(
    spawn(process.execPath, args, { cwd: opts.cwd ?? process.cwd(), env: { ...SHIPPED.env, ...process.env, FOYER_TOKEN_SECRET: randomBytes(32).toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const output: string[] = [];
  const keep = (line: string) => {
    opts.echo?.(line);
    output.push(line);
    if (output.length > 50) output.shift();
  };
  let inspector: string | undefined;
  createInterface({ input: child.stderr! }).on('line', (l) => {
    const m = /^Debugger listening on (ws:\/\/\S+)/.exec(l);
    if (m) inspector = m[1];
    else if (!/^For help, see: https:\/\/nodejs.org\/en\/docs\/inspector|^Debugger attached|^Debugger ending/.test(l)) keep(`[stderr] ${l}`);
  });
  const stdout = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number; transport: string }>((resolve, reject) => {
    // Generous: the node starts its embedded database before it listens, slow on a busy machine.
    const timeoutMs = opts.startTimeoutMs ?? 120_000;
    const timer = setTimeout(() => reject(new Error(`the server did not print its port within ${timeoutMs / 1000} s; its last lines:\n  ${output.join('\n  ')}`)), timeoutMs);
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
  return {
    child,
    pid: child.pid!,
    ...ready,
    url: `ws://127.0.0.1:${ready.port}/`,
    output,
    exited,
    profileDir,
    cwd: opts.cwd ?? process.cwd(),
    inspector: () => inspector,
  };
}

/**
 * Waits until the server is idle: under 5% of a core and RSS within 2 MiB over
 * a second, for at most `maxMs`. A node keeps working for a while after it
 * listens (its embedded database starts up and grows to hundreds of MiB),
 * which must not count as the clients' CPU or memory. Returns how long it took.
 */
export async function settle(s: Pick<ServerProc, 'pid'>, maxMs = 60_000): Promise<{ ms: number; settled: boolean }> {
  const t0 = performance.now();
  let prev = { cpu: cpuSeconds(s.pid), rss: memOf(s.pid).rss };
  while (performance.now() - t0 < maxMs) {
    await sleep(1000);
    const cur = { cpu: cpuSeconds(s.pid), rss: memOf(s.pid).rss };
    const quiet = cur.cpu - prev.cpu < 0.05 && Math.abs(cur.rss - prev.rss) < 2 * MiB;
    prev = cur;
    if (quiet) return { ms: performance.now() - t0, settled: true };
  }
  return { ms: performance.now() - t0, settled: false };
}

/** SIGTERM, then SIGKILL after `graceMs`. Says how it ended. */
export async function stopServer(s: ServerProc, graceMs = 20_000): Promise<string> {
  s.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  const r = await Promise.race([s.exited, timeout]);
  if (r === 'timeout') {
    s.child.kill('SIGKILL');
    await s.exited;
    return `did not exit within ${graceMs / 1000} s of SIGTERM; killed`;
  }
  return r.code === 0 ? 'exited 0 after SIGTERM' : `exited with code ${r.code}, signal ${r.signal}`;
}

/** Forces a full GC in a server started with `inspect` (HeapProfiler.collectGarbage). */
export async function gcServer(s: ServerProc): Promise<boolean> {
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

/** A DevTools-protocol session with a server started with `inspect`. */
async function inspectorSession(s: ServerProc): Promise<{ send(method: string, params?: object): Promise<any>; close(): void }> {
  const url = s.inspector();
  if (!url) throw new Error('the server was not started with inspect');
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * MiB });
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const w = m.id === undefined ? undefined : waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id!);
    if (m.error) w.reject(new Error(m.error.message));
    else w.resolve(m.result);
  });
  ws.on('close', () => {
    for (const w of waiting.values()) w.reject(new Error('inspector closed'));
    waiting.clear();
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Starts the V8 CPU profiler in a server started with `inspect` (what
 * `node --cpu-prof` does, but over the measured window only, not start-up and
 * set-up). `stop()` writes the profile as a .cpuprofile file (DevTools can
 * open it) and returns its path.
 */
export async function startProfile(s: ServerProc, label: string, intervalUs = 500): Promise<{ stop(): Promise<string> }> {
  const session = await inspectorSession(s);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.send('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await session.send('Profiler.stop')) as { profile: unknown };
      session.close();
      const dir = mkdtempSync(join(tmpdir(), 'foyer-prof-'));
      const file = join(dir, `${label.replace(/[^\w.-]+/g, '-')}-${s.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

/** The server's RSS after `settleMs`, and (with `inspect`) again after a forced full GC. */
export async function serverMemory(s: ServerProc, settleMs = 1000, gc = true): Promise<{ rss: number; rssGc: number }> {
  await sleep(settleMs);
  const rss = memOf(s.pid).rss;
  let rssGc = NaN;
  if (gc && (await gcServer(s))) {
    await sleep(300);
    rssGc = memOf(s.pid).rss;
  }
  return { rss, rssGc };
}

/**
 * The node's /metrics (`at`: its port on 127.0.0.1, or its base http://host:port)
 * as `name{labels}` → value (counters, gauges, histogram buckets). Empty if
 * it does not answer.
 */
export async function metricsOf(at: number | string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const base = typeof at === 'number' ? `http://127.0.0.1:${at}` : at;
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  } catch {
    // No metrics: the caller shows '-'.
  }
  return out;
}

/** Sum of every series of `name` whose labels contain all of `labels` (`op="chat.send"`). */
export function metricSum(m: Map<string, number>, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const [k, v] of m) {
    const brace = k.indexOf('{');
    const n = brace < 0 ? k : k.slice(0, brace);
    if (n !== name) continue;
    if (labels.every((l) => k.includes(l))) sum += v;
  }
  return sum;
}

/**
 * The node's own view of a window between two /metrics readings (prom-client
 * default metrics): GC pauses by kind, and event-loop delay (monitorEventLoopDelay,
 * which prom-client resets at every scrape, so the second reading covers the
 * window; its resolution is 10 ms, so only the max and the upper percentiles mean much).
 */
export function runtimeBetween(a: Map<string, number>, b: Map<string, number>): { gcCount: number; gcMs: number; majorCount: number; majorMs: number; lagP99Ms: number; lagMaxMs: number } {
  const d = (name: string, ...labels: string[]) => metricSum(b, name, ...labels) - metricSum(a, name, ...labels);
  const gc = 'foyer_nodejs_gc_duration_seconds';
  return {
    gcCount: d(`${gc}_count`),
    gcMs: d(`${gc}_sum`) * 1000,
    majorCount: d(`${gc}_count`, 'kind="major"'),
    majorMs: d(`${gc}_sum`, 'kind="major"') * 1000,
    lagP99Ms: metricSum(b, 'foyer_nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMaxMs: metricSum(b, 'foyer_nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

/**
 * Server-side request time percentile of one op from the Prometheus histogram
 * between two readings (an upper bound: the bucket's `le`).
 */
export function histogramPercentile(a: Map<string, number>, b: Map<string, number>, name: string, op: string, p: number): number {
  const buckets: [number, number][] = [];
  for (const [k, v] of b) {
    if (!k.startsWith(`${name}_bucket{`) || !k.includes(`op="${op}"`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    buckets.push([le === '+Inf' ? Infinity : Number(le), v - (a.get(k) ?? 0)]);
  }
  buckets.sort((x, y) => x[0] - y[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return NaN;
  const want = (p / 100) * total;
  for (const [le, c] of buckets) if (c >= want) return le;
  return Infinity;
}
