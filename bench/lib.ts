/**
 * Shared pieces of the benches (`npm run bench:*`): start a lobby node as its
 * own process and read its port, stop it, read its memory and CPU from /proc,
 * force a full GC through its inspector, read its /metrics, summarize a CPU
 * profile, percentiles, bounded concurrency, table printing, and a registry
 * of child processes that are killed whatever happens (hard timeout, Ctrl-C,
 * a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { LobbyClient, type WebSocketConstructor } from '@foyer/client-sdk';

/** The built server entry point (this file runs as bench/dist/lib.js). */
export const SERVER_MAIN = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));
export const MiB = 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
export const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
/** A share of one core (0.12) as "12%". */
export const pct = (share: number, d = 0) => (Number.isFinite(share) ? `${(share * 100).toFixed(d)}%` : '-');
/** Milliseconds on a clock every thread of this process shares. */
export const now = () => performance.timeOrigin + performance.now();
export const say = (s = '') => void process.stdout.write(s + '\n');

// ---- statistics ----

export interface Stats {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of `values` (NaN entries are ignored). */
export function stats(values: ArrayLike<number>): Stats {
  const sorted = Float64Array.from(values as ArrayLike<number>).filter((v) => !Number.isNaN(v)).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function statsLine(s: Stats, unit = 'ms'): string {
  return `n ${fmtInt(s.count)}, p50 ${fmt(s.p50, 2)} ${unit}, p99 ${fmt(s.p99, 2)} ${unit}, p99.9 ${fmt(s.p999, 2)} ${unit}, max ${fmt(s.max, 1)} ${unit}`;
}

/** A growable array of doubles (latency samples) without boxing. */
export class Samples {
  private buf: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

// ---- tables ----

/** A Markdown table; columns of numbers are right-aligned, the others left-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => i > 0 && rows.every((r) => /^[-+≤<>~]?\s*[\d.,]|^-?$|^-$/.test(r[i] ?? '')));
  const line = (cells: string[]) => '| ' + widths.map((w, i) => (numeric[i] ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|') + '|';
  return [line(head), sep, ...rows.map(line)].join('\n');
}

// ---- concurrency and errors ----

/** Runs `fn(0..count-1)` with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(concurrency, count)) }, runner));
}

/** Counts failures and keeps a few distinct messages to show. */
export class Errors {
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

// ---- client sockets ----

/**
 * A `ws` WebSocket for LobbyClient's `WebSocket` option, without compression,
 * optionally bound to a source address (127.0.0.x) so that many connections
 * do not run out of ephemeral ports on one address.
 */
export function socketClass(localAddress?: string, onPing?: () => void): WebSocketConstructor {
  const options: WebSocket.ClientOptions = { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) };
  return class BenchSocket extends WebSocket {
    constructor(url: string) {
      super(url, options);
      if (onPing) this.on('ping', onPing);
    }
  } as unknown as WebSocketConstructor;
}

/** `sources` socket classes on 127.0.0.2..127.0.0.(sources+1), or one on the default address. */
export function socketClasses(sources: number): WebSocketConstructor[] {
  return sources <= 1 ? [socketClass()] : Array.from({ length: sources }, (_, i) => socketClass(`127.0.0.${i + 2}`));
}

/** How many source addresses `connections` sockets need (0.7 of the ephemeral port range each). */
export function sourcesFor(connections: number): number {
  return Math.max(1, Math.ceil(connections / Math.floor(portRange() * 0.7)));
}

export function portRange(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi! - lo! + 1;
  } catch {
    return 28_232;
  }
}

export function fdLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/);
    const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: num(soft), hard: num(hard) };
  } catch {
    return undefined;
  }
}

/**
 * Opens `n` LobbyClients (reconnect off), each logged in as a guest, with at
 * most `concurrency` connecting at once; client i uses `sockets[i % length]`.
 * Failed ones are counted, closed and left out.
 */
export async function openClients(
  url: string,
  n: number,
  opts: { concurrency?: number; sockets?: WebSocketConstructor[]; name?: (i: number) => string; callTimeoutMs?: number; progress?: (done: number) => void } = {},
): Promise<{ clients: LobbyClient[]; errors: Errors; secs: number }> {
  const sockets = opts.sockets ?? [socketClass()];
  const slots: (LobbyClient | undefined)[] = new Array(n);
  const errors = new Errors();
  let done = 0;
  let shownAt = performance.now();
  const t0 = performance.now();
  await pool(n, opts.concurrency ?? 200, async (i) => {
    const client = new LobbyClient({ url, WebSocket: sockets[i % sockets.length]!, reconnect: false, callTimeoutMs: opts.callTimeoutMs ?? 30_000 });
    try {
      await client.connect();
      await client.call('auth.guest', { name: opts.name ? opts.name(i) : `bench-${i}` });
      slots[i] = client;
    } catch (err) {
      errors.add(err);
      void client.close();
    }
    done++;
    if (opts.progress && performance.now() - shownAt > 2000) {
      shownAt = performance.now();
      opts.progress(done);
    }
  });
  return { clients: slots.filter((c): c is LobbyClient => c !== undefined), errors, secs: (performance.now() - t0) / 1000 };
}

/** Closes every client, `concurrency` at a time. */
export async function closeClients(clients: LobbyClient[], concurrency = 500): Promise<void> {
  await pool(clients.length, concurrency, (i) => clients[i]!.close());
}

// ---- /proc ----

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
export function memOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

// USER_HZ is 100 on every mainstream Linux.
const TICK_S = 1 / 100;

/** CPU seconds (utime + stime, all threads) a process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** User and system (kernel: syscalls, and on loopback the TCP work of both ends) CPU seconds of a process. */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) * TICK_S, sys: Number(f[12]) * TICK_S };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

/** Busy CPU seconds of the whole machine (everything but idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const all = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (all.slice(0, 8).reduce((a, b) => a + b, 0) - all[3]! - all[4]!) * TICK_S;
  } catch {
    return NaN;
  }
}

/** CPU of some processes and of the machine at one moment. */
export interface CpuSnapshot {
  at: number;
  procs: { user: number; sys: number }[];
  machine: number;
}

/** CPU seconds of `pids` (use process.pid for this process) and of the machine, now. */
export function cpuSnapshot(pids: number[]): CpuSnapshot {
  return { at: performance.now(), procs: pids.map(cpuTimes), machine: machineBusySeconds() };
}

/**
 * CPU used between two snapshots as shares of one core: each process (total,
 * user, sys), and everything else on the machine.
 */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { procs: number[]; user: number[]; sys: number[]; other: number; secs: number } {
  const secs = (b.at - a.at) / 1000;
  const user = b.procs.map((v, i) => (v.user - a.procs[i]!.user) / secs);
  const sys = b.procs.map((v, i) => (v.sys - a.procs[i]!.sys) / secs);
  const procs = user.map((u, i) => u + sys[i]!);
  const other = Math.max(0, (b.machine - a.machine) / secs - procs.reduce((x, y) => x + y, 0));
  return { procs, user, sys, other, secs };
}

/**
 * Waits until the rest of the machine (everything but this process and its
 * tracked children) uses less than `threshold` of a core over two seconds, for
 * at most `maxS` seconds. Returns the last reading: benches share the machine
 * (other benches, test runs) and say so when it was busy.
 */
export async function waitQuiet(maxS: number, threshold = 0.25, log: (s: string) => void = say): Promise<number> {
  const deadline = performance.now() + Math.min(maxS, quietBudget.left) * 1000;
  const began = performance.now();
  try {
    return await waitQuietUntil(deadline, maxS, threshold, log);
  } finally {
    quietBudget.left = Math.max(0, quietBudget.left - (performance.now() - began) / 1000);
  }
}

/** Seconds a whole bench run may spend in waitQuiet, all calls together (set it from a flag). */
export const quietBudget = { left: 180 };

async function waitQuietUntil(deadline: number, maxS: number, threshold: number, log: (s: string) => void): Promise<number> {
  let said = false;
  for (;;) {
    const pids = [process.pid, ...[...live].map((c) => c.pid!).filter(Boolean)];
    const a = cpuSnapshot(pids);
    await sleep(2000);
    const other = cpuBetween(a, cpuSnapshot(pids)).other;
    if (other < threshold || performance.now() >= deadline) {
      if (other >= threshold) log(`WARNING: other processes still use ${pct(other)} of a core (waited up to ${fmt(Math.min(maxS, (deadline - performance.now()) / 1000 + maxS), 0)} s; the bench's waiting budget is ${quietBudget.left <= 2 ? 'spent' : 'limited'}); measuring anyway`);
      return other;
    }
    if (!said) {
      said = true;
      log(`waiting (up to ${fmt((deadline - performance.now()) / 1000, 0)} s) for a quiet machine: other processes use ${pct(other)} of a core…`);
    }
  }
}

// ---- child processes ----

const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Tracks a child so that killAll() (on exit, signals and the hard timeout) takes it down. */
export function track(child: ChildProcess): ChildProcess {
  installCleanup();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every tracked child still running. */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * The bench's hard bound: after `seconds`, `onTimeout` runs (print what is
 * known), every child is killed and the process exits with 3.
 */
export function hardTimeout(seconds: number, onTimeout: () => void = () => {}): { clear(): void } {
  installCleanup();
  const timer = setTimeout(() => {
    process.stderr.write(`\nbench: hard timeout of ${seconds} s reached; killing child processes\n`);
    try {
      onTimeout();
    } finally {
      killAll();
      process.exit(3);
    }
  }, seconds * 1000);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
}

// ---- the lobby node process ----

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
  inspector(): string | undefined;
}

/**
 * Starts the built server (server/dist/main.js) on 127.0.0.1 with a free port,
 * log level warn, an in-memory embedded database and a random token secret, and resolves once it printed the
 * port. Both pipes are drained for the whole run: a full pipe would block the
 * server's logger.
 */
export async function startServer(opts: ServerOptions): Promise<ServerProc> {
  const profileDir = opts.cpuProfile ? mkdtempSync(join(tmpdir(), 'foyer-prof-')) : undefined;
  const args = [
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
    spawn(process.execPath, args, { env: { ...process.env, FOYER_TOKEN_SECRET: randomBytes(32).toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] }),
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
    inspector: () => inspector,
  };
}

/**
 * Waits until the server is idle: under 5% of a core and RSS within 2 MiB over
 * a second, for at most `maxMs`. A node keeps working for a while after it
 * listens (its embedded database starts up and grows to hundreds of MiB),
 * which must not count as the clients' CPU or memory. Returns how long it took.
 */
export async function settle(s: ServerProc, maxMs = 60_000): Promise<{ ms: number; settled: boolean }> {
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
 * The node's /metrics as `name{labels}` → value (counters, gauges, histogram
 * buckets). Empty if it does not answer.
 */
export async function metricsOf(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
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
  const gc = 'foyer_process_nodejs_gc_duration_seconds';
  return {
    gcCount: d(`${gc}_count`),
    gcMs: d(`${gc}_sum`) * 1000,
    majorCount: d(`${gc}_count`, 'kind="major"'),
    majorMs: d(`${gc}_sum`, 'kind="major"') * 1000,
    lagP99Ms: metricSum(b, 'foyer_process_nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMaxMs: metricSum(b, 'foyer_process_nodejs_eventloop_lag_max_seconds') * 1000,
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

// ---- CPU profiles ----

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** The newest .cpuprofile in `dir`. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files.at(-1)!) : undefined;
}

/** Where a profile frame's code lives, short: `server/gateway/gateway.js`, `node_modules/zod`, `node:internal/…`. */
function whereOf(url: string): string {
  if (!url) return '(native/V8)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const m = /\/(server|shared|client-sdk|bench)\/dist\/(.*)$/.exec(u);
  if (m) return `${m[1]}/${m[2]}`;
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  return basename(u);
}

/**
 * Self time per function of a .cpuprofile (from the sample deltas), the top
 * `top` functions, and self time per file or package — as printable lines.
 * `(idle)` is shown but not counted in the shares of busy time.
 */
export function summarizeProfile(file: string, top = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample.
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const where = whereOf(cf.url);
    const key = `${cf.functionName || '(anonymous)'}  ${where}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const fileKey = cf.url ? where : cf.functionName.startsWith('(') ? cf.functionName : '(native/V8)';
    fileSelf.set(fileKey, (fileSelf.get(fileKey) ?? 0) + us);
  }
  const busy = total - idle;
  const lines: string[] = [];
  lines.push(`profile ${file}: ${fmt(total / 1000, 0)} ms sampled, ${fmt(busy / 1000, 0)} ms busy (${pct(busy / Math.max(1, total))}), idle ${fmt(idle / 1000, 0)} ms`);
  lines.push(`top ${top} functions by self time (share of busy time):`);
  const rows = [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) lines.push(`  ${fmt(us / 1000, 1).padStart(8)} ms ${pct(us / busy, 1).padStart(6)}  ${k}`);
  lines.push('self time by file or package:');
  for (const [k, us] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${fmt(us / 1000, 1).padStart(8)} ms ${pct(us / busy, 1).padStart(6)}  ${k}`);
  return lines;
}

// ---- flags ----

/** A --transport flag: uws or ws, or exit 2 with a message. */
export function transportFlag(value: string): 'uws' | 'ws' {
  if (value !== 'uws' && value !== 'ws') {
    process.stderr.write('bench: --transport must be uws or ws\n');
    process.exit(2);
  }
  return value;
}

/** An integer flag ≥ min, or exit 2 with a message. */
export function intFlag(name: string, value: string | undefined, min: number): number {
  const v = Number(value);
  if (value === undefined || !Number.isInteger(v) || v < min) {
    process.stderr.write(`bench: --${name} must be an integer >= ${min} (got ${String(value)})\n`);
    process.exit(2);
  }
  return v;
}

/** A number flag ≥ min, or exit 2 with a message. */
export function numFlag(name: string, value: string | undefined, min: number): number {
  const v = Number(value);
  if (value === undefined || !Number.isFinite(v) || v < min) {
    process.stderr.write(`bench: --${name} must be a number >= ${min} (got ${String(value)})\n`);
    process.exit(2);
  }
  return v;
}

/** Comma-separated transports, each uws or ws, or exit 2. */
export function transportsFlag(value: string): ('uws' | 'ws')[] {
  const list = value.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of list) {
    if (t !== 'uws' && t !== 'ws') {
      process.stderr.write(`bench: unknown transport "${t}" (uws, ws)\n`);
      process.exit(2);
    }
  }
  return list as ('uws' | 'ws')[];
}

/** Prints the doc comment at the top of the bench's source file (for --help). */
export function printHelp(moduleUrl: string): void {
  const src = readFileSync(fileURLToPath(moduleUrl).replace(/\.js$/, '.ts').replace('/dist/', '/'), 'utf8');
  process.stdout.write(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n');
}
