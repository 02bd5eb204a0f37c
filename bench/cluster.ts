/**
 * `npm run bench:cluster`: three lobby nodes sharing one lobby through Redis,
 * each its own process (the built server/dist/main.js on 127.0.0.2-4, the
 * same spawning code as the cluster tests: bench/clusterNodes.ts), driven by
 * SDK clients in this process (one clock for every timestamp):
 *   1. cross-node join: a client on n2 joins (then leaves) a game owned by
 *      n1; the round trip of game.join, next to the same join from a client
 *      on n1 (no routing), the two taking turns; the ratio of their p99s.
 *   2. replication lag: the owner on n1 changes its game (game.update); one
 *      games.subscribe subscriber per node. Lag = arrival of games.updated at
 *      the subscriber on n2 or n3 minus its arrival at the subscriber on n1
 *      (owner's event → remote delivery); also request sent → remote arrival.
 *   3. throughput: K clients in pairs looping game.create → game.join →
 *      game.leave → game.leave, spread over the 3 nodes (host on node i,
 *      guest on node i+1) versus all on n1; completed calls per second. A
 *      join the guest's node refuses with GAME_NOT_FOUND (the host's new game
 *      not replicated there yet) is retried and counted once; the retries are
 *      shown.
 *   4. failover: a game owned by n3 with a player on n1; kill -9 n3; time to
 *      the first successful resume of n3's client on another node, to its
 *      game.current showing the game, and to the first command the game
 *      accepts again (the successor owns it). With the server's default
 *      membership timings unless --heartbeat-ms / --node-timeout-ms.
 *   5. idle nodes: every player of --games games on n1, toggling
 *      game.setReady and chatting; per node messages/s and bytes/s from
 *      Redis, CPU, and each idle node's share of n1's (bench/clusterLoad.ts).
 *   6. a foreign event's cost on a node that applies it: one player of each
 *      game on n2, setReady (or renames: --cost-op) at --cost-rates; µs CPU
 *      per op and per message received.
 *   7. Redis's own costs, on a private redis-server and a private Redis
 *      Cluster of 3 masters (no lobby nodes): CPU per PUBLISH / SPUBLISH
 *      fanned out to K subscribers, per snapshot SET, per session record
 *      claim and lookup (bench/clusterCosts.ts).
 *
 * Needs Redis (REDIS_URL, default redis://127.0.0.1:6379; keys and channels
 * under a prefix of its own, deleted after) and Postgres (DATABASE_URL of a
 * server where it may create a scratch database, default
 * postgres://postgres@127.0.0.1:5432/postgres; dropped after). Loopback only.
 *
 * Flags (npm run bench:cluster -- --flag value):
 *   --parts 1,2,3,4,5    which parts to run (6 and 7 on request)
 *   --redis-cluster S    the nodes share a Redis Cluster (FOYER_REDIS_CLUSTER) instead of REDIS_URL:
 *                        seed nodes host:port,host:port, or `own` for a private one of 3 masters
 *   --server-dir DIR     run DIR/server/dist/main.js (another checkout's build) instead of this one's
 *   --transport uws      uws or ws
 *   --samples N          joins and changes measured in parts 1 and 2 (1000: a p99 of 300 is the third-slowest, which
 *                        one scheduling hiccup moves), after 30 unmeasured
 *   --clients K          part 3 clients (60)
 *   --duration S         part 3 measured seconds per layout (4), after 1 s of warm-up
 *   --heartbeat-ms H     FOYER_NODE_HEARTBEAT_MS of the nodes (server default)
 *   --node-timeout-ms T  FOYER_NODE_TIMEOUT_MS of the nodes (server default)
 *   --games G            parts 5 and 6: games of 4–10 players (30)
 *   --ready-rate R       part 5: game.setReady per second (109, the issue's before-figure)
 *   --chat-rate C        part 5: chat lines per second (50)
 *   --load-seconds S     parts 5 and 6: measured seconds per window (10)
 *   --settle-s S         part 5: seconds the seated nodes rest before the quiet window (40): past V8's memory
 *                        reducer, which compacts a node's start-up garbage once, seen 16-34 s after a node started
 *                        (up to 0.2 s of CPU on an idle node: a one-off, not what it carries per second)
 *   --cost-rates A,B     part 6: ops per second (50,200,800)
 *   --cost-op OP         part 6: ready (game.setReady by n1's players) or rename (game.update of the name by each
 *                        owner: a change the game list shows, so a listing where the list is fed by listings)
 *   --timeout-s T        hard limit for the whole run; child processes are killed (110 + 80 per part past 4)
 *   --server-output      echo what the nodes print
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LobbyClient, LobbyError, type LobbyClientOptions } from '@foyer/client-sdk';
import { ClusterProcs, killAllChildren, pingRedis, uniquePrefix, type NodeProcess } from './clusterNodes.js';
import { partForeignCost, partIdle } from './clusterLoad.js';
import { partRedisCosts } from './clusterCosts.js';
import { parseSeeds, RedisCluster } from './redisCluster.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Errors, Samples, cpuBetween, cpuSnapshot, fmt, fmtInt, hardTimeout, intFlag, numFlag, transportFlag, pct, printHelp, say, socketClass, stats, table, type Stats } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    parts: { type: 'string', default: '1,2,3,4,5' },
    'redis-cluster': { type: 'string' },
    'server-dir': { type: 'string' },
    games: { type: 'string', default: '30' },
    'ready-rate': { type: 'string', default: '109' },
    'chat-rate': { type: 'string', default: '50' },
    'load-seconds': { type: 'string', default: '10' },
    'settle-s': { type: 'string', default: '40' },
    'cost-rates': { type: 'string', default: '50,200,800' },
    'cost-op': { type: 'string', default: 'ready' },
    transport: { type: 'string', default: 'uws' },
    samples: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '60' },
    duration: { type: 'string', default: '4' },
    'heartbeat-ms': { type: 'string' },
    'node-timeout-ms': { type: 'string' },
    'timeout-s': { type: 'string' },
    'server-output': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  printHelp(import.meta.url);
  process.exit(0);
}
const PARTS = new Set(flags.parts.split(',').map((s) => s.trim()));
const TRANSPORT = transportFlag(flags.transport);
const SAMPLES = intFlag('samples', flags.samples, 10);
const K = Math.max(2, intFlag('clients', flags.clients, 2) & ~1);
const DURATION_S = numFlag('duration', flags.duration, 0.5);
const TIMEOUT_S = flags['timeout-s'] ? intFlag('timeout-s', flags['timeout-s'], 10) : 110 + 80 * [...PARTS].filter((p) => Number(p) > 4).length;
const GAMES = intFlag('games', flags.games, 1);
const LOAD_S = numFlag('load-seconds', flags['load-seconds'], 1);
const COST_RATES = flags['cost-rates'].split(',').map((r) => numFlag('cost-rates', r, 1));
const COST_OP = flags['cost-op'] === 'rename' ? 'rename' : flags['cost-op'] === 'ready' ? 'ready' : fail(`--cost-op: ready or rename, not "${flags['cost-op']}"`);
const SERVER_MAIN = flags['server-dir'] ? resolve(flags['server-dir'], 'server/dist/main.js') : undefined;
const WARMUP = 30;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ADMIN_DB_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const TARGET = { joinP99: 15, lagP99: 10, failoverMs: 5000 };

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

const uptimeLine = () => `load average ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min; ${new Date().toISOString().slice(0, 16)}Z)`;

const printed: string[] = [];
const out = (s = '') => {
  say(s);
  printed.push(s);
};
const notes: string[] = [];

const Socket = socketClass();
const ms = () => performance.now();

// ---- cluster set-up ----

/**
 * Logs the clients out: their sessions end at once. Only closing the
 * connection would leave each session for the reconnect grace period, to end
 * (and write its records) in the middle of a later part.
 */
async function endSessions(cs: LobbyClient[]): Promise<void> {
  await Promise.all(cs.map((c) => c.logout().catch(() => c.close().catch(() => {}))));
}

async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `foyer_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DB_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_DB_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_DB_URL, connectionTimeoutMillis: 5000 });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

let nodes: NodeProcess[] = [];
const clients: LobbyClient[] = [];

/** Every node's address starting with `home`'s: a client's url list. */
const urls = (home: number) => nodes.map((_, i) => nodes[(home + i) % nodes.length]!.url);

function client(home: number, options: Partial<LobbyClientOptions> = {}): LobbyClient {
  const c = new LobbyClient({ url: urls(home), WebSocket: Socket, callTimeoutMs: 10_000, reconnect: { minDelayMs: 100, maxDelayMs: 1000 }, ...options });
  clients.push(c);
  return c;
}

async function guest(home: number, name: string, options: Partial<LobbyClientOptions> = {}): Promise<LobbyClient> {
  const c = client(home, options);
  await c.connect();
  await c.call('auth.guest', { name });
  return c;
}

/**
 * game.join, retried while the joiner's node does not know the game yet
 * (created a moment ago on another node, not replicated there yet:
 * GAME_NOT_FOUND), for at most 5 s. Returns how many attempts were refused so.
 */
async function joinWhenKnown(c: LobbyClient, gameId: string, onTry?: () => void): Promise<number> {
  const deadline = ms() + 5000;
  for (let refused = 0; ; refused++) {
    try {
      onTry?.();
      await c.call('game.join', { gameId });
      return refused;
    } catch (err) {
      if (!(err instanceof LobbyError) || err.code !== 'GAME_NOT_FOUND' || ms() > deadline) throw err;
    }
  }
}

const statsRow = (label: string, s: Stats, target?: string) => [label, fmtInt(s.count), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 1), target ?? ''];
const verdict = (v: number, limit: number) => (Number.isFinite(v) ? (v < limit ? `ok (< ${limit})` : `MISSED (< ${limit})`) : 'no data');

// ---- part 1: cross-node join ----

async function partJoin(): Promise<void> {
  out('\n## 1. Cross-node join round trip (game.join, then game.leave unmeasured)\n');
  const owner = await guest(0, 'Owner');
  const { game } = await owner.call('game.create', { name: 'join bench', gameType: 'bench-join', maxPlayers: 3 });
  // The two joiners take turns, one join each, so both see the same machine (other work comes and goes). Three
  // seats: n2's copy of the game may not have applied the other joiner's leave yet when n2's joiner asks (GAME_FULL).
  const tally = () => ({ samples: new Samples(SAMPLES), errors: new Errors(), s: stats([]) });
  const remote = tally();
  const local = tally();
  const turns = [
    { joiner: await guest(1, 'Joiner-n2'), r: remote },
    { joiner: await guest(0, 'Joiner-n1'), r: local },
  ];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    for (const { joiner, r } of turns) {
      if (r.errors.count > 20) continue;
      const t0 = ms();
      try {
        await joiner.call('game.join', { gameId: game.id });
        if (i >= WARMUP) r.samples.push(ms() - t0);
        await joiner.call('game.leave', {});
      } catch (err) {
        r.errors.add(err);
      }
    }
  }
  for (const r of [remote, local]) r.s = stats(r.samples.values());
  // Gone before the next part: a node with a session is not idle (part 5 measures what an idle node carries).
  await endSessions([owner, ...turns.map((t) => t.joiner)]);
  out(table(['join', 'n', 'p50 ms', 'p99 ms', 'max ms', 'target'], [
    statsRow('client on n2, game owned by n1 (routed)', remote.s, `p99 < ${TARGET.joinP99} ms: ${verdict(remote.s.p99, TARGET.joinP99)}`),
    statsRow('client on n1, game owned by n1 (local)', local.s),
  ]));
  const ratio = remote.s.p99 / local.s.p99;
  out(`cross-node p99 ÷ same-node p99: ${fmt(ratio, 2)}× (target ≤ 1.5×: ${Number.isFinite(ratio) ? (ratio <= 1.5 ? 'ok' : 'MISSED') : 'no data'})`);
  for (const [k, r] of [['cross-node', remote], ['local', local]] as const) if (r.errors.count) out(`${k} join errors: ${r.errors.count} (${r.errors})`);
}

// ---- part 2: replication lag ----

async function partLag(): Promise<void> {
  out('\n## 2. Replication lag (owner on n1 changes its game; games.updated at one subscriber per node)\n');
  const owner = await guest(0, 'Changer');
  const subs = await Promise.all([0, 1, 2].map((i) => guest(i, `Sub-n${i + 1}`)));
  const arrivals = new Map<number, number[]>(); // version → arrival ms at subscriber i
  let waiting: { version: number; resolve: () => void } | undefined;
  subs.forEach((s, i) =>
    s.on('games.updated', (e) => {
      const t = ms();
      const a = arrivals.get(e.game.version) ?? [NaN, NaN, NaN];
      a[i] = t;
      arrivals.set(e.game.version, a);
      if (waiting && e.game.version >= waiting.version && a.every((x) => !Number.isNaN(x))) waiting.resolve();
    }),
  );
  await Promise.all(subs.map((s) => s.call('games.subscribe', { filter: { gameType: 'bench-lag' } })));
  await owner.call('game.create', { name: 'lag bench', gameType: 'bench-lag', maxPlayers: 4 });
  const lag = new Samples(SAMPLES * 2);
  const sentToRemote = new Samples(SAMPLES * 2);
  const local = new Samples(SAMPLES);
  let missed = 0;
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t0 = ms();
    const { game } = await owner.call('game.update', { attributes: { i } });
    const all = new Promise<void>((resolve) => (waiting = { version: game.version, resolve }));
    const a0 = arrivals.get(game.version);
    if (!a0 || a0.some((x) => Number.isNaN(x))) {
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000));
      if ((await Promise.race([all, timer])) === 'timeout') {
        missed++;
        if (missed > 10) break;
        continue;
      }
    }
    waiting = undefined;
    const a = arrivals.get(game.version)!;
    arrivals.delete(game.version);
    if (i < WARMUP) continue;
    local.push(a[0]! - t0);
    for (const r of [a[1]!, a[2]!]) {
      lag.push(r - a[0]!);
      sentToRemote.push(r - t0);
    }
  }
  const sl = stats(lag.values());
  out(table(['games.updated', 'n', 'p50 ms', 'p99 ms', 'max ms', 'target'], [
    statsRow('replication lag: remote arrival − arrival on n1', sl, `p99 < ${TARGET.lagP99} ms: ${verdict(sl.p99, TARGET.lagP99)}`),
    statsRow('request sent → arrival on n2/n3', stats(sentToRemote.values())),
    statsRow('request sent → arrival on n1 (owner node)', stats(local.values())),
  ]));
  if (missed) out(`changes not seen by every subscriber within 2 s: ${missed}`);
  await endSessions([owner, ...subs]);
}

// ---- part 3: throughput ----

async function runPairs(layout: 'spread' | 'one'): Promise<{ ops: number; secs: number; errors: Errors; latency: Stats; cpu: number[]; notYetKnown: number }> {
  const pairs = K / 2;
  const hosts = await Promise.all(Array.from({ length: pairs }, (_, i) => guest(layout === 'spread' ? i % 3 : 0, `H${i}`)));
  const guests = await Promise.all(Array.from({ length: pairs }, (_, i) => guest(layout === 'spread' ? (i + 1) % 3 : 0, `G${i}`)));
  let counting = false;
  let ops = 0;
  let notYetKnown = 0;
  let stop = false;
  const errors = new Errors();
  const latency = new Samples(4096);
  const timed = async <T>(p: Promise<T>): Promise<T> => {
    const t0 = ms();
    const r = await p;
    if (counting) {
      ops++;
      latency.push(ms() - t0);
    }
    return r;
  };
  const loop = async (h: LobbyClient, g: LobbyClient, i: number) => {
    let failures = 0;
    while (!stop) {
      try {
        const { game } = await timed(h.call('game.create', { name: `tp ${i}`, gameType: `bench-tp-${layout}`, maxPlayers: 2 }));
        // The join counts once, from its first attempt, however often the guest's node said GAME_NOT_FOUND first.
        const refused = await timed(joinWhenKnown(g, game.id));
        if (counting) notYetKnown += refused;
        await timed(h.call('game.leave', {}));
        await timed(g.call('game.leave', {}));
      } catch (err) {
        errors.add(err);
        if (++failures > 50) return;
      }
    }
  };
  const loops = hosts.map((h, i) => loop(h, guests[i]!, i));
  await new Promise((r) => setTimeout(r, 1000));
  const pids = nodes.map((n) => n.pid!);
  const c0 = cpuSnapshot(pids);
  const t0 = ms();
  counting = true;
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  counting = false;
  const secs = (ms() - t0) / 1000;
  const cpu = cpuBetween(c0, cpuSnapshot(pids)).procs;
  stop = true;
  await Promise.all(loops);
  await endSessions([...hosts, ...guests]);
  return { ops, secs, errors, latency: stats(latency.values()), cpu, notYetKnown };
}

async function partThroughput(): Promise<void> {
  out(`\n## 3. Operations/s: ${K} clients in ${K / 2} pairs (create → join → leave → leave), ${DURATION_S} s each\n`);
  const rows: string[][] = [];
  for (const layout of ['spread', 'one'] as const) {
    const r = await runPairs(layout);
    rows.push([
      layout === 'spread' ? 'spread over n1, n2, n3 (guest on the next node)' : 'all on n1',
      fmtInt(r.ops / r.secs),
      fmt(r.latency.p50, 2),
      fmt(r.latency.p99, 2),
      r.cpu.map((c) => pct(c)).join(' / '),
      fmtInt(r.errors.count),
      fmtInt(r.notYetKnown),
    ]);
    if (r.errors.count) notes.push(`part 3 ${layout}: ${r.errors}`);
  }
  out(table(['layout', 'ops/s', 'p50 ms', 'p99 ms', 'CPU n1 / n2 / n3', 'errors', 'joins retried'], rows));
  out('(joins retried: GAME_NOT_FOUND from the guest\'s node, which had not yet replicated the game the host had just created on another node; the join is retried and counted once, its time from the first attempt)');
}

// ---- part 4: failover ----

async function partFailover(): Promise<void> {
  out('\n## 4. Failover: kill -9 the node that owns a game\n');
  const victim = nodes[2]!;
  const f1 = await guest(2, 'Fail-owner'); // on n3, which will die
  const f2 = await guest(0, 'Fail-peer'); // on n1
  const { game } = await f1.call('game.create', { name: 'failover bench', gameType: 'bench-failover', maxPlayers: 4 });
  await joinWhenKnown(f2, game.id);
  const resumed = new Promise<{ at: number; state: string }>((resolve) =>
    f1.onState((s) => {
      if (s === 'resynced' || s === 'resumed' || s === 'connected') resolve({ at: ms(), state: s });
    }),
  );
  let refusals = 0;
  const t0 = ms();
  victim.child!.kill('SIGKILL');
  // The game takes commands again: the peer toggles ready until one is accepted.
  const takeover = (async () => {
    for (let ready = true; ms() - t0 < 30_000; ready = !ready) {
      try {
        await f2.call('game.setReady', { ready });
        return ms();
      } catch (err) {
        if (!(err instanceof LobbyError)) throw err;
        refusals++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return NaN;
  })();
  const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000));
  const back = await Promise.race([resumed, timeout]);
  let current = NaN;
  if (back) {
    for (; ms() - t0 < 30_000; ) {
      try {
        const cur = await f1.call('game.current', {});
        if (cur.game?.id === game.id) {
          current = ms();
          break;
        }
      } catch {
        // Not yet.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const took = await takeover;
  const since = (t: number | undefined) => (t === undefined || Number.isNaN(t) ? NaN : t - t0);
  out(table(['from kill -9 of n3 to', 'ms', 'target'], [
    [`first successful resume of its client on ${back ? f1.url.replace('ws://', '') : '-'} (${back?.state ?? 'never'})`, fmtInt(since(back?.at)), ''],
    ['its game.current shows the game', fmtInt(since(current)), ''],
    ['the game accepts a command again (successor owns it)', fmtInt(since(took)), `< ${TARGET.failoverMs} ms: ${verdict(since(took), TARGET.failoverMs)}`],
  ]));
  const setting = (v: string | undefined) => (v ? `${v} ms` : 'the server default');
  out(`(commands refused meanwhile: ${refusals}; node heartbeat ${setting(flags['heartbeat-ms'])}, node timeout ${setting(flags['node-timeout-ms'])}; client reconnect delay 100-1000 ms)`);
}

// ---- main ----

/** Where the nodes' Redis is: one Redis, or a Redis Cluster (given, or a private one started here). */
async function redisTarget(): Promise<{ label: string; seeds?: string; ports: number[]; stop(): Promise<void> }> {
  const flag = flags['redis-cluster'];
  if (!flag) {
    const u = new URL(REDIS_URL);
    if (!(await pingRedis(u.hostname, Number(u.port || 6379), 2000))) throw new Error(`no Redis answers at ${REDIS_URL} (set REDIS_URL)`);
    return { label: `Redis ${REDIS_URL}`, ports: [Number(u.port || 6379)], stop: async () => {} };
  }
  const own = flag === 'own' ? await RedisCluster.start(3) : undefined;
  const seeds = own?.seeds ?? flag;
  const probe = new Redis({ ...parseSeeds(seeds)[0]!, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const masters = new Set((await probe.cluster('SLOTS')).map(([, , m]) => Number(m![1])));
    return { label: `Redis Cluster ${seeds}${own ? ' (started for this run)' : ''}, ${masters.size} masters`, seeds, ports: [...masters], stop: async () => void (await own?.destroy()) };
  } catch (err) {
    await own?.destroy();
    throw new Error(`no Redis Cluster answers at ${seeds}: ${String(err)}`);
  } finally {
    probe.disconnect();
  }
}

/** Which build the nodes run: this checkout's, or --server-dir's (its commit, and whether its dist is older than its sources). */
function serverLabel(): string {
  if (!SERVER_MAIN) return 'this checkout\'s server/dist';
  const dir = flags['server-dir']!;
  if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} does not exist: build that checkout first (npx tsc -b there)`);
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %cd', '--date=iso'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['-C', dir, 'status', '--porcelain', 'server', 'shared'], { encoding: 'utf8' }).trim()) commit += ', with uncommitted changes in server/ or shared/';
  } catch {
    // not a git checkout
  }
  const newest = (folder: string): number => {
    let t = 0;
    for (const e of readdirSync(folder, { withFileTypes: true })) {
      const p = join(folder, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  const stale = newest(resolve(dir, 'server/src')) > newest(resolve(dir, 'server/dist'));
  return `${SERVER_MAIN} (commit ${commit}${stale ? '; STALE: server/src changed after its last build' : ''})`;
}

async function main(): Promise<void> {
  const hard = hardTimeout(TIMEOUT_S, () => {
    killAllChildren();
    say(printed.join('\n'));
  });
  let redis: Awaited<ReturnType<typeof redisTarget>>;
  let server: string;
  try {
    server = serverLabel();
    redis = await redisTarget();
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  try {
    db = await scratchDatabase();
  } catch (err) {
    process.stderr.write(`bench: cannot create a scratch database through ${ADMIN_DB_URL.replace(/\/\/[^@]*@/, '//…@')}: ${String(err)} (set DATABASE_URL)\n`);
    process.exit(2);
  }
  const prefix = uniquePrefix('foyerbench');
  const env: Record<string, string> = {
    FOYER_TRANSPORT: TRANSPORT,
    FOYER_RATE_LIMIT_PER_SEC: '100000',
    FOYER_RATE_LIMIT_BURST: '100000',
    FOYER_RECONNECT_GRACE_MS: '60000',
    FOYER_AUTH_TIMEOUT_MS: '600000',
    ...(flags['heartbeat-ms'] ? { FOYER_NODE_HEARTBEAT_MS: String(intFlag('heartbeat-ms', flags['heartbeat-ms'], 1)) } : {}),
    ...(flags['node-timeout-ms'] ? { FOYER_NODE_TIMEOUT_MS: String(intFlag('node-timeout-ms', flags['node-timeout-ms'], 1)) } : {}),
  };
  out(`# bench:cluster — 3 nodes (${TRANSPORT}), ${redis.label} (prefix ${prefix}), Postgres scratch database`);
  out(`server: ${server}; ${uptimeLine()}`);
  let cluster: ClusterProcs | undefined;
  let failed = false;
  try {
    const t0 = ms();
    cluster = await ClusterProcs.start({
      nodes: 3,
      redisUrl: REDIS_URL,
      ...(redis.seeds ? { redisCluster: redis.seeds } : {}),
      ...(SERVER_MAIN ? { serverMain: SERVER_MAIN } : {}),
      prefix,
      databaseUrl: db.url,
      tokenSecret: randomBytes(32).toString('hex'),
      adminToken: randomBytes(16).toString('hex'),
      env,
      ...(flags['server-output'] ? { echo: (l: string) => say(`  ${l}`) } : {}),
    });
    nodes = cluster.nodes;
    out(`nodes ready in ${fmt((ms() - t0) / 1000, 1)} s: ${nodes.map((n) => `${n.id} ${n.host}:${n.port} (pid ${n.pid})`).join(', ')}`);
    const run = async (part: string, fn: () => Promise<void>) => {
      if (!PARTS.has(part)) return;
      try {
        await fn();
      } catch (err) {
        failed = true;
        out(`part ${part} FAILED: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await run('1', partJoin);
    await run('2', partLag);
    await run('3', partThroughput);
    const ctx = { nodes, redisPorts: redis.ports, guest: (home: number, name: string) => guest(home, name), out, notes };
    await run('5', () => partIdle(ctx, { games: GAMES, readyPerSec: numFlag('ready-rate', flags['ready-rate'], 1), chatPerSec: numFlag('chat-rate', flags['chat-rate'], 0), seconds: LOAD_S, settleSeconds: numFlag('settle-s', flags['settle-s'], 0) }));
    await run('6', () => partForeignCost(ctx, { games: GAMES, rates: COST_RATES, seconds: LOAD_S, op: COST_OP }));
    await run('7', () => partRedisCosts(out));
    // Part 4 last: it kills n3.
    await run('4', partFailover);
  } catch (err) {
    failed = true;
    out(`bench FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (cluster) out(cluster.logs(20));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster?.stop();
    await redis.stop().catch((err: unknown) => notes.push(`could not stop the private Redis Cluster: ${String(err)}`));
    await db.drop().catch((err: unknown) => notes.push(`could not drop the scratch database: ${String(err)}`));
    hard.clear();
  }
  out(`\n${uptimeLine()}`);
  if (notes.length) out(`\nnotes:\n- ${notes.join('\n- ')}`);
  process.exit(failed ? 1 : 0);
}

await main();
