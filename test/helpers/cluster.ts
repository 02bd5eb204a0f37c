import { LobbyClient, LobbyError, type LobbyClientOptions, type LobbyState, type StateInfo } from '@foyer/client-sdk';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { ClusterProcs, NodeProcess, RedisServer, pollUntil, uniquePrefix, type ExitInfo } from '../../bench/clusterNodes.js';
import { Invariants, converged } from './invariants.js';
import { RedisCluster, deleteClusterKeys } from '../../bench/redisCluster.js';

/**
 * Clusters of real node processes (server/dist/main.js: build first with
 * `npx tsc -b`) for the cluster tests: N nodes on 127.0.0.2… sharing the
 * run's Postgres database and a Redis (the local one, under a key and
 * channel prefix of their own, or a private redis-server) or, in the
 * cluster-rc project, a Redis Cluster (test/setup/redisCluster.ts), SDK clients
 * spread over them that reconnect through every node's address, and the
 * invariant checker watching each client.
 */

export { RedisServer, pollUntil };

export const ADMIN_TOKEN = 'cluster-admin-token-0123456789';
export const TOKEN_SECRET = 'cluster-token-secret-0123456789abcdef0123';
/** The shared Redis of the machine (CI starts one); the nodes use their own prefix in it. */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * Node settings for tests: heartbeats every 250 ms and a node dead after
 * 1.5 s of silence (failover within a few seconds), a reconnect grace long
 * enough to outlive a failover, and rate limits out of the way.
 */
export const TEST_ENV: Record<string, string> = {
  FOYER_NODE_HEARTBEAT_MS: '250',
  FOYER_NODE_TIMEOUT_MS: '1500',
  FOYER_RECONNECT_GRACE_MS: '20000',
  FOYER_DRAIN_TIMEOUT_MS: '20000',
  FOYER_RATE_LIMIT_PER_SEC: '1000',
  FOYER_RATE_LIMIT_BURST: '1000',
  FOYER_CHAT_PER_SEC: '100',
  FOYER_CHAT_BURST: '100',
  FOYER_TRANSPORT: process.env.FOYER_TRANSPORT ?? 'uws',
};

/** One node of a test cluster. */
export class TestNode {
  constructor(
    readonly proc: NodeProcess,
    readonly index: number,
  ) {}
  get id(): string {
    return this.proc.id;
  }
  /** ws://127.0.0.x:port/ (the SDK adds ?v=2). */
  get url(): string {
    return this.proc.url;
  }
  get http(): string {
    return this.proc.http;
  }
  get running(): boolean {
    return this.proc.running;
  }
  get exited(): Promise<ExitInfo> {
    return this.proc.exited;
  }
  /** SIGKILL by default (kill -9); resolves with the exit. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    return this.proc.kill(signal);
  }
  /**
   * Kills it if it runs, starts it again on the same address and (when it
   * can bind it again: see NodeProcess.restart) the same port, and waits
   * until it is ready. Returns whether the port stayed the same; `url` follows.
   */
  async restart(readyTimeoutMs = 30_000): Promise<boolean> {
    const samePort = await this.proc.restart();
    await this.proc.waitReady(readyTimeoutMs);
    return samePort;
  }
  /** POST /admin/drain; resolves with the HTTP status (202 expected). */
  drain(): Promise<number> {
    return this.proc.drain(ADMIN_TOKEN);
  }
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    return this.proc.admin(ADMIN_TOKEN, method, path, body);
  }
  readyStatus(): Promise<number | undefined> {
    return this.proc.readyStatus();
  }
  waitReady(timeoutMs = 30_000): Promise<void> {
    return this.proc.waitReady(timeoutMs, true);
  }
  waitNotReady(timeoutMs = 15_000): Promise<void> {
    return this.proc.waitReady(timeoutMs, false);
  }
  /** Everything the node printed (stdout and stderr), prefixed. */
  output(): string[] {
    return this.proc.output();
  }
}

export interface ClusterOptions {
  /** Default 3. */
  nodes?: number;
  /** Extra environment for every node (on top of TEST_ENV). */
  env?: Record<string, string>;
  /** Extra environment of one node (0-based). */
  nodeEnv?: (i: number) => Record<string, string>;
  /** Extra flags of every node (`--drain`). */
  args?: string[];
  /** Default REDIS_URL (the shared one), unless on a Redis Cluster. */
  redisUrl?: string;
  /**
   * Seed nodes of a Redis Cluster (FOYER_REDIS_CLUSTER) instead of one Redis.
   * Default: the cluster-rc project's (inject('redisCluster')) unless `redisUrl` is given.
   */
  redisCluster?: string;
  /** Default: inject('databaseUrl'), the run's own database. */
  databaseUrl?: string;
}

export interface TestCluster {
  readonly nodes: TestNode[];
  readonly prefix: string;
  readonly redisUrl: string;
  /** Seed nodes of the Redis Cluster the nodes share, when they share one instead of `redisUrl`. */
  readonly redisCluster: string | undefined;
  readonly inv: Invariants;
  /** Every node's address, starting with `home`'s and going round: a client's `url` list. */
  urls(home: number): string[];
  /** A client homed on node `home`, reconnecting through the others, watched by the invariant checker; closed by stop(). */
  client(home: number, label: string, options?: Partial<LobbyClientOptions>): LobbyClient;
  /** client(), connected and logged in as a guest named `name`. */
  guest(home: number, name: string, options?: Partial<LobbyClientOptions>): Promise<LobbyClient>;
  /** One guest per node subscribed to the whole game list (games.subscribe), so list summaries from every node are compared. */
  watchers(prefix?: string): Promise<LobbyClient[]>;
  /** Waits until these clients (one per node) list the same games at the same versions. */
  converged: typeof converged;
  /** The nodes' own state (admin API of the running nodes), then every violation the clients saw: throws if any. */
  checkInvariants(): Promise<void>;
  /** Closes every client, kills every node, deletes the prefix's keys. */
  stop(): Promise<void>;
  /** Every node's last output lines. */
  logs(): string;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const prefix = uniquePrefix('foyertest');
  const redisCluster = opts.redisUrl ? undefined : (opts.redisCluster ?? inject('redisCluster'));
  // On a Redis Cluster, `redisUrl` is one of its nodes (for the harness; the nodes get the seeds, and no REDIS_URL).
  const redisUrl = redisCluster ? `redis://${redisCluster.split(',')[0]}` : (opts.redisUrl ?? REDIS_URL);
  const busEnv: Record<string, string> = redisCluster ? { REDIS_URL: '', FOYER_REDIS_CLUSTER: redisCluster } : {};
  const procs = await ClusterProcs.start({
    nodes: opts.nodes ?? 3,
    redisUrl,
    prefix,
    databaseUrl: opts.databaseUrl ?? inject('databaseUrl'),
    tokenSecret: TOKEN_SECRET,
    adminToken: ADMIN_TOKEN,
    env: { ...TEST_ENV, ...busEnv, ...opts.env },
    ...(opts.nodeEnv ? { nodeEnv: opts.nodeEnv } : {}),
    ...(opts.args ? { args: opts.args } : {}),
  });
  const nodes = procs.nodes.map((p, i) => new TestNode(p, i));
  const inv = new Invariants();
  const clients: LobbyClient[] = [];

  const urls = (home: number) => nodes.map((_, i) => nodes[(home + i) % nodes.length]!.url);
  const client = (home: number, label: string, options: Partial<LobbyClientOptions> = {}) => {
    const c = new LobbyClient({ url: urls(home), callTimeoutMs: 5000, reconnect: { minDelayMs: 20, maxDelayMs: 250 }, ...options });
    clients.push(c);
    return inv.track(c, label);
  };
  const guest = async (home: number, name: string, options?: Partial<LobbyClientOptions>) => {
    const c = client(home, name, options);
    await c.connect();
    await c.call('auth.guest', { name });
    return c;
  };

  return {
    nodes,
    prefix,
    redisUrl,
    redisCluster,
    inv,
    urls,
    client,
    guest,
    async watchers(name = 'Watch') {
      return Promise.all(
        nodes.map(async (n, i) => {
          const c = await guest(i, `${name}-${n.id}`);
          await c.call('games.subscribe', { limit: 100 });
          return c;
        }),
      );
    },
    converged,
    async checkInvariants() {
      await inv.checkNodes(
        nodes.filter((n) => n.running),
        ADMIN_TOKEN,
      );
      inv.assertClean();
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await procs.stop();
      if (redisCluster) await deleteClusterKeys(redisCluster, prefix).catch(() => 0);
    },
    logs: () => procs.logs(),
  };
}

/**
 * Starts a cluster before the file's tests and stops it after them (also on
 * failure); a failed test prints every node's output and the clients' last
 * observations. Returns a getter (the cluster exists once beforeAll ran).
 */
export function useCluster(opts: ClusterOptions | (() => Promise<ClusterOptions>) = {}): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(typeof opts === 'function' ? await opts() : opts);
  }, 90_000);
  afterEach((ctx) => {
    if (cluster && ctx.task.result?.state === 'fail') {
      console.error(`==== node output (${cluster.prefix}) ====\n${cluster.logs()}\n==== client observations ====\n${cluster.inv.trail(150)}`);
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);
  return () => {
    if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
    return cluster;
  };
}

// ---- awaiting without sleeping ----

/** `p`, or a rejection naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next time `client` enters one of `states` (with the info of that change). */
export function nextState(client: LobbyClient, ...states: LobbyState[]): Promise<{ state: LobbyState; info: StateInfo }> {
  return new Promise((resolve) => {
    const off = client.onState((state, info) => {
      if (states.includes(state)) {
        off();
        resolve({ state, info });
      }
    });
  });
}

/** Polls `check` (state nobody is told about: a counter, a process) until it holds; throws naming `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  if (!(await pollUntil(check, timeoutMs, 20))) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

/**
 * Waits until every one of `clients` (one per node) lists game `gameId`: a
 * game is known on its owner at once, elsewhere once replicated, and a join
 * through a node that does not know the game yet is GAME_NOT_FOUND.
 */
export async function listedEverywhere(clients: LobbyClient[], gameId: string, timeoutMs = 5000): Promise<void> {
  const listed = async (c: LobbyClient) => (await c.call('games.list', { limit: 100 })).games.some((g) => g.id === gameId);
  await eventually(async () => (await Promise.all(clients.map(listed))).every(Boolean), timeoutMs, `game ${gameId} listed on every node`);
}

/** Retries `fn` while it fails with one of `retryOn` (a transient cluster error), until it succeeds or `timeoutMs` passes. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs: number, retryOn: string[] = ['NODE_UNAVAILABLE', 'DISCONNECTED', 'TIMEOUT']): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof LobbyError) || !retryOn.includes(err.code) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The LobbyError code `p` rejects with (fails if it resolves). */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LobbyError) return err.code;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * A Redis of one test file's own — a redis-server, or in the cluster-rc
 * project a Redis Cluster of 3 masters — so that stopping it touches no other
 * test. Started once, at the first `config()`; `stop` kills it at once and
 * `restart` starts it again empty (a Redis Cluster keeps its slots). Call it
 * before `useCluster`: its clean-up then runs after the nodes are stopped.
 */
export function privateRedis() {
  let redis: RedisServer | undefined;
  let redisCluster: RedisCluster | undefined;
  let started: Promise<{ redisUrl: string } | { redisCluster: string }> | undefined;
  afterAll(async () => {
    await redis?.stop();
    await redisCluster?.destroy();
  });
  return {
    /** What useCluster needs to put its nodes on this Redis. */
    config: () =>
      (started ??= (async () => {
        if (inject('redisCluster') !== undefined) {
          redisCluster = await RedisCluster.start(3);
          return { redisCluster: redisCluster.seeds };
        }
        redis = await RedisServer.start();
        return { redisUrl: redis.url };
      })()),
    stop: async () => void (await (redisCluster ? redisCluster.stop() : redis!.stop('SIGKILL'))),
    restart: () => (redisCluster ? redisCluster.start() : redis!.start()),
  };
}
