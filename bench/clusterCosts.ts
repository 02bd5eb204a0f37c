/**
 * Part 7 of `npm run bench:cluster` (bench/cluster.ts): what Redis itself
 * spends per cluster operation, on a private redis-server and a private
 * Redis Cluster of 3 masters started for the run (so no other user of the
 * shared Redis shows in their CPU). Redis's CPU is read from INFO cpu
 * (used_cpu_user + used_cpu_sys, every thread) before and after N commands;
 * per command it includes reading the command and writing every copy to
 * subscribers' sockets (the kernel's share of that is charged to Redis as
 * sys time).
 *
 *   a. PUBLISH (one Redis) and SPUBLISH (3 masters) of a B-byte message to
 *      K subscribers of its channel, K = 1, 3, 10, 30: µs of Redis CPU per
 *      publish, the publishes/s one shard sustains at a full core, and the
 *      rate reached here (publisher pipelined, every copy read by raw
 *      sockets that only count bytes).
 *   b. SET of a stored snapshot (1 KiB, 4 KiB) with an expiry.
 *   c. a session record claim (GET, compare-and-set script, the node's
 *      session set script: the server's own SessionRecords.claim on its
 *      RedisBus) and a lookup of 100 users (one MGET; on a Redis Cluster one
 *      GET per key, also straight through ioredis with and without its
 *      auto-pipelining): Redis CPU per operation, and the CPU of the node's
 *      side of it (this process).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Cluster, Redis } from 'ioredis';
import { Names } from '@foyer/server/cluster/names';
import { RedisBus, type RedisTarget } from '@foyer/server/cluster/redisBus';
import { SessionRecords } from '@foyer/server/cluster/sessions';
import { slotOf } from '@foyer/server/cluster/redisSubscribers';
import { TickReads } from '@foyer/server/cluster/tickReads';
import { RedisServer } from './clusterNodes.js';
import { parseSeeds, RedisCluster } from './redisCluster.js';
import { fmt, fmtInt, table } from './lib.js';

const HOST = '127.0.0.1';
const ms = () => performance.now();

/** Redis CPU seconds so far (every thread), from INFO cpu. */
async function redisCpu(ports: number[]): Promise<number> {
  let sum = 0;
  for (const port of ports) {
    const r = new Redis({ host: HOST, port, lazyConnect: true });
    await r.connect();
    const info = await r.info('cpu');
    r.disconnect();
    const v = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    sum += v('used_cpu_user') + v('used_cpu_sys');
  }
  return sum;
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/**
 * A subscriber that only counts the bytes it receives (no parsing: the
 * harness must not be the bottleneck), subscribed to `channels` on one
 * server; resolves once every subscription is confirmed.
 */
async function rawSubscriber(port: number, channels: string[], sharded: boolean): Promise<{ bytes: () => number; close(): void }> {
  const socket = net.connect({ host: HOST, port });
  let bytes = 0;
  const verb = sharded ? 'ssubscribe' : 'subscribe';
  // The confirmations' exact size: `*3 $verb $channel :count` each.
  const confirm = channels.reduce((n, c, i) => n + Buffer.byteLength(`*3\r\n${bulk(verb)}${bulk(c)}:${sharded ? 1 : i + 1}\r\n`), 0);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes >= confirm) resolve();
    });
    socket.once('connect', () => socket.write(channels.map((c) => `${verb.toUpperCase()} ${c}\r\n`).join('')));
  });
  const base = confirm;
  return { bytes: () => bytes - base, close: () => socket.destroy() };
}

/** One message as a subscriber receives it. */
const frameBytes = (channel: string, payload: string, sharded: boolean) => Buffer.byteLength(`*3\r\n${bulk(sharded ? 'smessage' : 'message')}${bulk(channel)}${bulk(payload)}`);

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = ms() + timeoutMs;
  while (!check()) {
    if (ms() > deadline) return false;
    await new Promise((r) => setImmediate(r));
  }
  return true;
}

interface FanOut {
  usPerPublish: number;
  sustained: number;
  reached: number;
  complete: boolean;
}

/** N publishes of `payload` spread over `channels`, each channel with K raw subscribers on its master; Redis CPU per publish. */
async function fanOut(target: { single: number } | { masters: number[]; seeds: string }, channels: string[], k: number, n: number, payload: string): Promise<FanOut> {
  const sharded = 'masters' in target;
  const ports = sharded ? target.masters : [target.single];
  // Which master serves each channel (the slot map), so each subscriber subscribes where its channels are.
  const masterOf = new Map<string, number>();
  let pub: Redis | Cluster;
  if (sharded) {
    const cl = new Cluster(parseSeeds(target.seeds), { enableAutoPipelining: true });
    const slots = await cl.cluster('SLOTS');
    for (const c of channels) masterOf.set(c, Number(slots.find(([a, b]) => a <= slotOf(c) && slotOf(c) <= b)![2]![1]));
    pub = cl;
  } else {
    for (const c of channels) masterOf.set(c, target.single);
    pub = new Redis({ host: HOST, port: target.single, enableAutoPipelining: true });
  }
  const subs: Awaited<ReturnType<typeof rawSubscriber>>[] = [];
  for (const port of ports) {
    const mine = channels.filter((c) => masterOf.get(c) === port);
    if (mine.length) for (let i = 0; i < k; i++) subs.push(await rawSubscriber(port, mine, sharded));
  }
  const expected = Array.from({ length: n }, (_, i) => frameBytes(channels[i % channels.length]!, payload, sharded)).reduce((a, b) => a + b, 0) * k;
  const cpu0 = await redisCpu(ports);
  const t0 = ms();
  // 100 at a time, auto-pipelined (on a Redis Cluster, per master: one pipeline cannot span slots).
  for (let i = 0; i < n; i += 100) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      const c = channels[j % channels.length]!;
      batch.push(sharded ? pub.spublish(c, payload) : pub.publish(c, payload));
    }
    await Promise.all(batch);
  }
  const total = () => subs.reduce((a, s) => a + s.bytes(), 0);
  const complete = await until(() => total() >= expected, 30_000);
  const secs = (ms() - t0) / 1000;
  const cpu = (await redisCpu(ports)) - cpu0;
  subs.forEach((s) => s.close());
  pub.disconnect();
  const us = (cpu / n) * 1e6;
  return { usPerPublish: us, sustained: 1e6 / us, reached: n / secs, complete };
}

/** N commands of one kind, pipelined 100 at a time; Redis CPU per command. */
async function perCommand(port: number, n: number, add: (p: ReturnType<Redis['pipeline']>, i: number) => void): Promise<number> {
  const r = new Redis({ host: HOST, port });
  const cpu0 = await redisCpu([port]);
  for (let i = 0; i < n; i += 100) {
    const p = r.pipeline();
    for (let j = i; j < Math.min(n, i + 100); j++) add(p, j);
    await p.exec();
  }
  const cpu = (await redisCpu([port])) - cpu0;
  r.disconnect();
  return (cpu / n) * 1e6;
}

/** Session record claims and lookups through the server's own code: Redis CPU and this process's CPU per operation. */
async function sessions(target: RedisTarget, ports: number[], n: number): Promise<{ claim: [number, number, number]; lookup: [number, number, number] }> {
  const log = pino({ level: 'silent' });
  const bus = new RedisBus(target, log);
  await bus.connect();
  const records = new SessionRecords(bus, new Names(`bench-${Date.now()}`), 'n1', () => false, log, new TickReads(bus));
  const users = Array.from({ length: n }, (_, i) => `user-${i}`);
  const run = async (ops: number, fn: (i: number) => Promise<unknown>): Promise<[number, number, number]> => {
    const cpu0 = await redisCpu(ports);
    const own0 = process.cpuUsage();
    const t0 = ms();
    let next = 0;
    // 50 at a time: logins of many sessions at once, as a node under load makes them.
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < ops) await fn(next++);
    }));
    const secs = (ms() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const cpu = (await redisCpu(ports)) - cpu0;
    return [(cpu / ops) * 1e6, ((own.user + own.system) / ops), ops / secs];
  };
  const claim = await run(n, (i) => records.claim(users[i]!, `name-${i}`, async () => 'none'));
  const lookup = await run(n / 10, (i) => records.lookup(Array.from({ length: 100 }, (_, j) => users[(i * 100 + j) % n]!)));
  await bus.close();
  return { claim, lookup };
}

/**
 * The same 100-key lookup on a Redis Cluster straight through ioredis, with
 * and without its auto-pipelining: what RedisBus.getMany's one GET per key
 * costs Redis, and what sending each master's GETs together would.
 */
async function rawLookups(seeds: string, ports: number[], autoPipelining: boolean, n: number): Promise<[number, number]> {
  const c = new Cluster(parseSeeds(seeds), { enableAutoPipelining: autoPipelining });
  const keys = Array.from({ length: 100 }, (_, i) => `bench:{user:u${i}}:session`);
  await Promise.all(keys.map((k) => c.set(k, 'r'.repeat(60))));
  const cpu0 = await redisCpu(ports);
  const t0 = ms();
  for (let i = 0; i < n; i++) await Promise.all(keys.map((k) => c.get(k)));
  const secs = (ms() - t0) / 1000;
  const cpu = (await redisCpu(ports)) - cpu0;
  c.disconnect();
  return [(cpu / n) * 1e6, n / secs];
}

export async function partRedisCosts(out: (s?: string) => void): Promise<void> {
  out('\n## 7. Redis\'s own costs (a private redis-server, and a private Redis Cluster of 3 masters; Redis CPU from INFO cpu)\n');
  const single = await RedisServer.start();
  const rc = await RedisCluster.start(3);
  try {
    const N = 20_000;
    const rows: string[][] = [];
    // 400 B: about one game batch (part 5's B/msg). 16 KiB: a list channel's summaries of one tick, to every node.
    const cases = [...[1, 3, 10, 30].map((k) => ({ size: 400, k })), ...[10, 30, 100].map((k) => ({ size: 16_384, k }))];
    for (const { size, k } of cases) {
      const payload = 'x'.repeat(size);
      // At most ~200 MB of copies per row: the harness reads every one on the same two cores.
      const n = Math.max(300, Math.min(N, Math.floor(2e8 / (size * k))));
      const one = await fanOut({ single: single.port }, ['bench:{game:g0}'], k, n, payload);
      const channels = Array.from({ length: 30 }, (_, i) => `bench:{game:g${i}}`);
      const three = await fanOut({ masters: rc.ports, seeds: rc.seeds }, channels, k, n, payload);
      const row = (label: string, f: FanOut) => [label, fmtInt(size), String(k), fmtInt(n), fmt(f.usPerPublish, 1), fmtInt(f.sustained), fmtInt(f.reached), f.complete ? 'yes' : 'NO'];
      rows.push(row('PUBLISH, one Redis', one), row('SPUBLISH, 3 masters (per publish, all shards)', three));
    }
    out(table(['command', 'bytes', 'subscribers K', 'publishes', 'µs Redis CPU per publish', 'publishes/s at one full core', 'publishes/s reached here', 'every copy arrived'], rows));
    out(`(100 publishes at a time, auto-pipelined; on 3 masters spread over 30 channels, each master's channels with K subscriber connections. "At one full core": 10⁶ ÷ µs per publish, what one shard sustains when its core does nothing else; "reached here": on this 2-core machine with the publisher and the subscribers on the same cores)`);

    const snap = [1024, 4096].map((size) => {
      const value = 's'.repeat(size);
      return { size, value };
    });
    const setRows: string[][] = [];
    for (const { size, value } of snap) setRows.push([`SET of a snapshot, ${size} B, PX 10 min`, fmt(await perCommand(single.port, N, (p, i) => p.set(`snap:{game:g${i % 3000}}`, value, 'PX', 600_000)), 1)]);
    setRows.push(['GET of a stored 4 KiB snapshot', fmt(await perCommand(single.port, N, (p, i) => p.get(`snap:{game:g${i % 3000}}`)), 1)]);
    out(table(['command (one Redis, pipelined 100)', 'µs Redis CPU per command'], setRows));

    const s1 = await sessions({ url: single.url }, [single.port], 5000);
    const s3 = await sessions({ cluster: parseSeeds(rc.seeds) }, rc.ports, 5000);
    const srow = (label: string, r: [number, number, number]) => [label, fmt(r[0], 1), fmt(r[1], 1), fmtInt(r[2])];
    const [plain, auto] = [await rawLookups(rc.seeds, rc.ports, false, 300), await rawLookups(rc.seeds, rc.ports, true, 300)];
    out(table(['session records (SessionRecords, 50 at once)', 'µs Redis CPU per op', 'µs node CPU per op', 'ops/s reached here'], [
      srow('claim (GET + CAS script + session-set script), one Redis', s1.claim),
      srow('claim, Redis Cluster of 3', s3.claim),
      srow('lookup of 100 users (MGET), one Redis', s1.lookup),
      srow('lookup of 100 users (each master\'s GETs in one pipeline), Redis Cluster of 3', s3.lookup),
      srow('the same 100 GETs straight through ioredis (each written on its own), one lookup at a time', [plain[0], NaN, plain[1]]),
      srow('the same with ioredis\'s enableAutoPipelining (each master\'s GETs written together), one lookup at a time', [auto[0], NaN, auto[1]]),
    ]));
  } finally {
    await single.stop();
    await rc.destroy();
  }
}
