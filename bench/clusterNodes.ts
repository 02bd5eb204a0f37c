/**
 * Lobby nodes of a cluster as child processes, and a private redis-server
 * (a private Redis Cluster: redisCluster.ts):
 * what `npm run bench:cluster` (bench/cluster.ts) and the cluster tests
 * (test/helpers/cluster.ts) share. Node builtins and ioredis only, so the
 * tests can import it from source and the bench from bench/dist.
 *
 * Each node is the built server (server/dist/main.js) on its own loopback
 * address (127.0.0.2, 127.0.0.3, …), first on a free port (PORT=0, read from
 * the line it prints), then on that same port again after a restart, so that
 * clients holding the node's address find it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deleteClusterKeys } from './redisCluster.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs as bench/clusterNodes.ts (tests) or bench/dist/clusterNodes.js (bench). */
export const REPO_ROOT = basename(here) === 'dist' ? resolve(here, '../..') : resolve(here, '..');
/** The built server entry point (build it with `npx tsc -b`); FOYER_SERVER_MAIN runs another build. */
export const SERVER_MAIN = process.env.FOYER_SERVER_MAIN || resolve(REPO_ROOT, 'server/dist/main.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Loopback address of the i-th node (0-based): 127.0.0.2, 127.0.0.3, … */
export const nodeHost = (i: number) => `127.0.0.${i + 2}`;

/** A prefix of Redis keys and channels of its own, so runs sharing one Redis never collide (fixed length: no prefix is a prefix of another). */
export function uniquePrefix(kind = 'foyertest'): string {
  return `${kind}-${randomBytes(6).toString('hex')}`;
}

/** A TCP port free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `everyMs` until it holds; false if `timeoutMs` passed first. */
export async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

// ---- child processes: killed whatever happens ----

const live = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): ChildProcess {
  if (!exitHook) {
    exitHook = true;
    // A test worker or bench that exits without its cleanup still takes its nodes down.
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every node and redis-server this process started that still runs. */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A bounded ring of output lines (diagnostics). */
class Lines {
  readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
}

// ---- one lobby node ----

/** The node exited because it could not listen on its address (port still taken). */
export class ListenError extends Error {}

export interface NodeProcessOptions {
  /** FOYER_NODE_ID. */
  id: string;
  /** HOST: a loopback address of its own. */
  host: string;
  /** Environment on top of this process's (REDIS_URL, FOYER_REDIS_PREFIX, DATABASE_URL, …). */
  env: Record<string, string>;
  /** Extra flags (`--drain`). */
  args?: string[];
  /** Extra node flags. */
  nodeArgs?: string[];
  /** The server entry point to run (another checkout's build); default SERVER_MAIN. */
  serverMain?: string;
  /** How long to wait for the port line (ms). Default 60000. */
  startTimeoutMs?: number;
  /** Every output line, as it comes (say, echo to the console). */
  echo?: (line: string) => void;
  /** Output lines kept for diagnostics. Default 2000. */
  keepLines?: number;
}

/** One lobby node process; start() again after it exited (or restart()) brings it back on the same port. */
export class NodeProcess {
  readonly id: string;
  readonly host: string;
  port = 0;
  child: ChildProcess | undefined;
  /** Every exit so far, in order. */
  readonly exits: ExitInfo[] = [];
  private readonly out: Lines;
  private exitedP: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private starts = 0;

  constructor(readonly options: NodeProcessOptions) {
    this.id = options.id;
    this.host = options.host;
    this.out = new Lines(options.keepLines ?? 2000);
  }

  /** The WebSocket address for LobbyClient (the SDK adds `?v=2`). */
  get url(): string {
    return `ws://${this.host}:${this.port}/`;
  }
  /** Base of the HTTP API (/healthz, /readyz, /admin/...). */
  get http(): string {
    return `http://${this.host}:${this.port}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** The process runs (started and not exited). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
  /** Resolves when the current process exits. */
  get exited(): Promise<ExitInfo> {
    return this.exitedP;
  }
  /** The output kept so far, each line prefixed with the node id and stream. */
  output(): string[] {
    return [...this.out.lines];
  }

  /** Spawns the node and resolves once it printed its port (it may not be ready yet: see waitReady). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.id} runs already`);
    const run = ++this.starts;
    const o = this.options;
    const child = track(
      spawn(process.execPath, [...(o.nodeArgs ?? []), o.serverMain ?? SERVER_MAIN, ...(o.args ?? [])], {
        env: { ...process.env, ...o.env, PORT: String(this.port), HOST: this.host, FOYER_NODE_ID: this.id },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.child = child;
    this.exitedP = new Promise<ExitInfo>((resolve) =>
      child.once('exit', (code, signal) => {
        const info = { code, signal };
        this.exits.push(info);
        this.keep(`[${this.id}#${run}] exited: code ${code}, signal ${signal}`);
        resolve(info);
      }),
    );
    createInterface({ input: child.stderr! }).on('line', (l) => this.keep(`[${this.id}#${run} err] ${l}`));
    const stdout = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      const timeoutMs = o.startTimeoutMs ?? 60_000;
      const timer = setTimeout(() => reject(new Error(`${this.id} did not print its port within ${timeoutMs / 1000} s:\n${this.tail(30)}`)), timeoutMs);
      stdout.on('line', (line) => {
        this.keep(`[${this.id}#${run}] ${line}`);
        const m = /Foyer lobby on http:\/\/[^:/]+:(\d+)\//.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void this.exitedP.then((e) => {
        clearTimeout(timer);
        const tail = this.tail(30);
        const cannotListen = /cannot listen|could not listen|EADDRINUSE/.test(tail.split(`[${this.id}#${run}`).slice(1).join(''));
        reject(new (cannotListen ? ListenError : Error)(`${this.id} exited before listening (code ${e.code}, signal ${e.signal}):\n${tail}`));
      });
    });
    this.port = port;
  }

  /** Sends `signal` (SIGKILL by default: a crash) and resolves with the exit. Nothing if it is not running. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (!this.running) return this.exits.at(-1) ?? { code: null, signal: null };
    this.child!.kill(signal);
    return this.exitedP;
  }

  /**
   * Kills it (SIGKILL) if it runs and starts it again, on the same port when
   * it can: the uws transport cannot bind a port whose old connections still
   * linger in the kernel (for a while after a kill -9), so after
   * `samePortForMs` of trying it takes a fresh port (and says so in its
   * output). Returns whether the port stayed the same.
   */
  async restart(samePortForMs = 3000): Promise<boolean> {
    await this.kill('SIGKILL');
    const deadline = Date.now() + samePortForMs;
    for (;;) {
      try {
        await this.start();
        return true;
      } catch (err) {
        if (!(err instanceof ListenError)) throw err;
        if (Date.now() >= deadline) break;
        await sleep(250);
      }
    }
    const old = this.port;
    this.port = 0;
    await this.start();
    this.keep(`[${this.id}] (harness) could not listen on port ${old} again; restarted on port ${this.port}`);
    return false;
  }

  /** GET /readyz: its status, or undefined when the node does not answer (within 1 s). */
  async readyStatus(): Promise<number | undefined> {
    try {
      const res = await fetch(`${this.http}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return undefined;
    }
  }

  /** Polls /readyz until it answers 200 (ready: true) or not 200 (ready: false); throws after `timeoutMs`. */
  async waitReady(timeoutMs = 30_000, ready = true): Promise<void> {
    const ok = await pollUntil(async () => {
      if (ready && !this.running) throw new Error(`${this.id} exited while waiting for it to be ready:\n${this.tail(30)}`);
      const status = await this.readyStatus();
      return ready ? status === 200 : status !== 200;
    }, timeoutMs);
    if (!ok) throw new Error(`${this.id}: /readyz did not turn ${ready ? '200' : 'non-200'} within ${timeoutMs} ms:\n${this.tail(30)}`);
  }

  /** An admin API call with the bearer token. */
  async admin(adminToken: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(this.http + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text.
    }
    return { status: res.status, body: parsed };
  }

  /** POST /admin/drain: the node drains (202) and exits when done. */
  async drain(adminToken: string): Promise<number> {
    return (await this.admin(adminToken, 'POST', '/admin/drain')).status;
  }

  /** The last `n` output lines, one string. */
  tail(n = 50): string {
    return this.out.lines.slice(-n).join('\n');
  }

  private keep(line: string): void {
    this.out.push(line);
    this.options.echo?.(line);
  }
}

// ---- a cluster of nodes ----

export interface ClusterSpec {
  /** How many nodes (n1…nN on 127.0.0.2…). */
  nodes: number;
  /** One Redis (REDIS_URL), unless `redisCluster` is set. */
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (FOYER_REDIS_CLUSTER, `host:port,…`) instead of `redisUrl`. */
  redisCluster?: string;
  /** The server entry point every node runs; default SERVER_MAIN. */
  serverMain?: string;
  /** FOYER_REDIS_PREFIX: keys and channels of this cluster only. */
  prefix: string;
  /** Shared by every node: accounts must be the same everywhere. */
  databaseUrl: string;
  tokenSecret: string;
  adminToken: string;
  /** Environment for every node, on top of the defaults below (overrides them). */
  env?: Record<string, string>;
  /** Environment of one node (0-based index), on top of `env`. */
  nodeEnv?: (i: number) => Record<string, string>;
  /** Flags of every node. */
  args?: string[];
  /** How long to wait for every node to be ready. Default 60000. */
  readyTimeoutMs?: number;
  echo?: (line: string) => void;
}

/** The environment every cluster node gets unless the spec overrides it. */
export function clusterEnv(spec: ClusterSpec): Record<string, string> {
  return {
    ...(spec.redisCluster ? { FOYER_REDIS_CLUSTER: spec.redisCluster } : { REDIS_URL: spec.redisUrl }),
    FOYER_REDIS_PREFIX: spec.prefix,
    DATABASE_URL: spec.databaseUrl,
    FOYER_TOKEN_SECRET: spec.tokenSecret,
    FOYER_ADMIN_TOKEN: spec.adminToken,
    LOG_LEVEL: 'warn',
  };
}

export class ClusterProcs {
  private constructor(
    readonly spec: ClusterSpec,
    readonly nodes: NodeProcess[],
  ) {}

  /**
   * Starts every node at once and waits until each answers /readyz 200. On
   * failure every node is killed and the error carries their output.
   */
  static async start(spec: ClusterSpec): Promise<ClusterProcs> {
    const nodes = Array.from(
      { length: spec.nodes },
      (_, i) =>
        new NodeProcess({
          id: `n${i + 1}`,
          host: nodeHost(i),
          env: { ...clusterEnv(spec), ...spec.env, ...spec.nodeEnv?.(i) },
          ...(spec.args ? { args: spec.args } : {}),
          ...(spec.serverMain ? { serverMain: spec.serverMain } : {}),
          ...(spec.echo ? { echo: spec.echo } : {}),
        }),
    );
    const cluster = new ClusterProcs(spec, nodes);
    try {
      // The first node alone, then the others together: it migrates a fresh database before it listens
      // (several nodes migrating one fresh database at once can fail creating schema_migrations).
      await nodes[0]!.start();
      await Promise.all(nodes.slice(1).map((n) => n.start()));
      await Promise.all(nodes.map((n) => n.waitReady(spec.readyTimeoutMs ?? 60_000)));
    } catch (err) {
      await cluster.kill();
      throw err;
    }
    return cluster;
  }

  /** SIGKILLs every node still running. */
  async kill(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill('SIGKILL')));
  }

  /** Kills every node and deletes the cluster's keys in Redis (if Redis answers). */
  async stop(): Promise<void> {
    await this.kill();
    const { redisCluster, redisUrl, prefix } = this.spec;
    await (redisCluster ? deleteClusterKeys(redisCluster, prefix) : deleteKeys(redisUrl, prefix)).catch(() => 0);
  }

  /** Every node's kept output, for a failure report. */
  logs(lastPerNode = 200): string {
    return this.nodes.map((n) => `---- ${n.id} (${n.host}:${n.port}, pid ${n.pid ?? '-'}) ----\n${n.tail(lastPerNode)}`).join('\n');
  }
}

/** Deletes every key of `prefix` (SCAN + DEL, in batches). Returns how many. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

// ---- a private redis-server ----

/** Sends PING over a raw socket; true on +PONG within `timeoutMs`. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buf += String(d);
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/**
 * A redis-server of its own (no persistence: a restart starts empty), on a
 * free port of 127.0.0.1, that can be stopped and started again on the same
 * port: the Redis outage test uses it so the shared Redis is never touched.
 */
export class RedisServer {
  readonly host = '127.0.0.1';
  child: ChildProcess | undefined;
  private readonly out = new Lines(500);
  private exitedP: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });

  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<RedisServer> {
    const r = new RedisServer(port ?? (await freePort('127.0.0.1')));
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it (again, on the same port) and waits until it answers PING. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.running) throw new Error('redis-server runs already');
    const child = track(
      spawn('redis-server', ['--port', String(this.port), '--bind', this.host, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.child = child;
    this.exitedP = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout! }).on('line', (l) => this.out.push(`[redis] ${l}`));
    createInterface({ input: child.stderr! }).on('line', (l) => this.out.push(`[redis err] ${l}`));
    const spawnError = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`))));
    spawnError.catch(() => {});
    const up = await Promise.race([pollUntil(() => pingRedis(this.host, this.port), timeoutMs, 25), spawnError]);
    if (!up) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${this.port} did not answer within ${timeoutMs} ms:\n${this.out.lines.join('\n')}`);
    }
  }

  /** Stops it (SIGKILL by default: an outage, not a shutdown) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (!this.running) return { code: null, signal: null };
    this.child!.kill(signal);
    return this.exitedP;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  output(): string[] {
    return [...this.out.lines];
  }
}
