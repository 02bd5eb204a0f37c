import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';
const run = promisify(execFile);

// Every server still running when this process exits (a bench's hard timeout, a crash) is killed with it.
const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')));

/** A port free on 127.0.0.1 whose cluster-bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, HOST, () => srv.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!taken.has(port) && (await free(port)) && (await free(port + 10_000))) return port;
  }
  throw new Error('no free port pair (port, port + 10000) for a Redis Cluster node');
}

async function info(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), 'cluster', 'info'], { timeout: 2000 });
  return stdout;
}

/**
 * A Redis Cluster of its own (the cluster-rc tests' and bench:cluster's): `masters` redis-servers with cluster mode on
 * (no replicas, no persistence) on free local ports, their cluster config in
 * a temporary folder. stop() then start() is an outage of the whole cluster:
 * the servers come back with their slots (nodes.conf) but no data.
 */
export class RedisCluster {
  private readonly children = new Map<number, ChildProcess>();
  private joined = false;

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** Starts the servers, joins them into one cluster (redis-cli --cluster create) and waits until it serves. */
  static async start(masters = 3): Promise<RedisCluster> {
    const taken = new Set<number>();
    for (let i = 0; i < masters; i++) taken.add(await freeClusterPort(taken));
    const rc = new RedisCluster([...taken], await mkdtemp(path.join(tmpdir(), 'foyer-redis-cluster-')));
    try {
      await rc.start();
      await run('redis-cli', ['--cluster', 'create', ...rc.ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await rc.waitOk();
      rc.joined = true;
    } catch (err) {
      await rc.destroy();
      throw err;
    }
    return rc;
  }

  /** Seed nodes, as FOYER_REDIS_CLUSTER takes them. */
  get seeds(): string {
    return this.ports.map((p) => `${HOST}:${p}`).join(',');
  }

  /** Starts every server not running (again on its port, with its nodes.conf) and waits until the cluster serves. */
  async start(): Promise<void> {
    for (const port of this.ports) {
      if (this.children.has(port)) continue;
      // prettier-ignore
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', HOST, '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning',
        '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', `dump-${port}.rdb`,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
      ], { stdio: 'ignore' });
      this.children.set(port, child);
      live.add(child);
      child.once('exit', () => {
        live.delete(child);
        if (this.children.get(port) === child) this.children.delete(port);
      });
    }
    await this.waitUp();
    // Before the first join (start() of a new cluster) there is no cluster to wait for yet.
    if (this.joined) await this.waitOk();
  }

  /** Kills every server (SIGKILL: an outage, not a shutdown) and waits for them to exit. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    this.children.clear();
  }

  /** Stops it for good and deletes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async waitUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const port of this.ports) {
      for (;;) {
        try {
          await run('redis-cli', ['-h', HOST, '-p', String(port), 'ping'], { timeout: 1000 });
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }

  /** Until every node says cluster_state:ok with all 16384 slots assigned. */
  private async waitOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.ports.map((p) => info(p).catch(() => '')));
      if (states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s))) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${this.seeds} did not reach cluster_state:ok within ${timeoutMs} ms:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Parses FOYER_REDIS_CLUSTER-style seeds. */
export function parseSeeds(seeds: string): { host: string; port: number }[] {
  return seeds.split(',').map((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });
}

/** Deletes every key starting with `prefix` on every master of the Redis Cluster at `seeds` (test clean-up). */
export async function deleteClusterKeys(seeds: string, prefix: string): Promise<number> {
  const [seed] = parseSeeds(seeds);
  const probe = new Redis({ ...seed!, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  probe.on('error', () => {});
  let deleted = 0;
  try {
    await probe.connect();
    const shards = (await probe.cluster('SLOTS')).map(([, , master]) => ({ host: String(master![0]), port: Number(master![1]) }));
    for (const at of shards) {
      const r = new Redis({ ...at, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          // One key per DEL: keys of different slots cannot share one.
          for (const k of keys) deleted += await r.del(k);
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    }
  } finally {
    probe.disconnect();
  }
  return deleted;
}
