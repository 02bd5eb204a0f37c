import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { registerBusMetrics } from '../../server/src/admin/metrics.js';
import { BusDown } from '../../server/src/cluster/bus.js';
import { Names } from '../../server/src/cluster/names.js';
import { RedisBus, type RedisTarget } from '../../server/src/cluster/redisBus.js';
import { slotOf } from '../../server/src/cluster/redisSubscribers.js';
import { REDIS_URL, RedisServer, eventually, within } from '../helpers/cluster.js';
import { deleteClusterKeys, parseSeeds, RedisCluster } from '../../bench/redisCluster.js';
import { uniquePrefix } from '../../bench/clusterNodes.js';

/*
 * RedisBus against a real Redis: the shared one (project cluster), or the
 * run's Redis Cluster of 3 masters (project cluster-rc: sharded pub/sub,
 * one slot per entity). Each test uses a prefix of its own.
 */

const seeds = inject('redisCluster');
const target: RedisTarget = seeds ? { cluster: parseSeeds(seeds) } : { url: REDIS_URL };
const log = pino({ level: 'silent' });
const buses: RedisBus[] = [];
let prefix = uniquePrefix('foyertest');

async function bus(at: RedisTarget = target): Promise<RedisBus> {
  const b = new RedisBus(at, log);
  buses.push(b);
  await within(b.connect(), 10_000, 'the bus to come up');
  return b;
}

/** The master ("host:port") serving `name`'s slot on the run's Redis Cluster. */
async function masterOf(name: string): Promise<string> {
  const r = new Redis(parseSeeds(seeds!)[0]!);
  try {
    const slot = slotOf(name);
    const range = (await r.cluster('SLOTS')).find(([from, to]) => from <= slot && slot <= to)!;
    return `${range[2]![0]}:${range[2]![1]}`;
  } finally {
    r.disconnect();
  }
}

/** Messages a handler got, and a way to wait for one. */
function inbox() {
  const got: string[] = [];
  return {
    got,
    fn: (m: string) => void got.push(m),
    has: (m: string, what = `message ${m}`) => eventually(() => got.includes(m), 5000, what),
  };
}

afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  if (seeds) await deleteClusterKeys(seeds, prefix);
  else {
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
  prefix = uniquePrefix('foyertest');
});

describe(`RedisBus on ${seeds ? 'a Redis Cluster' : 'one Redis'}`, () => {
  it('hashes names by their tag, as Redis Cluster does', async () => {
    const names = new Names(prefix);
    // Known values (CLUSTER KEYSLOT): the tag alone decides.
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
    expect(slotOf('a{}b')).toBe(slotOf('a{}b'));
    expect(slotOf(names.session('u1'))).toBe(slotOf('user:u1'));
    if (seeds) {
      const [seed] = parseSeeds(seeds);
      const r = new Redis(seed!);
      try {
        for (const name of [names.broadcast, names.node('n1'), names.members, names.session('Ann'), names.lease('game:g1'), 'a{}b', 'x{y']) {
          expect(slotOf(name), name).toBe(await r.cluster('KEYSLOT', name));
        }
      } finally {
        r.disconnect();
      }
    }
  });

  it('delivers on channels of every shard, in order per channel, to every subscriber, and stops after unsubscribe', async () => {
    const names = new Names(prefix);
    const [a, b] = [await bus(), await bus()];
    // Enough node channels to land on every master of a 3-master cluster.
    const channels = [names.broadcast, ...Array.from({ length: 12 }, (_, i) => names.node(`n${i}`))];
    if (seeds) expect(new Set(await Promise.all(channels.map(masterOf))).size, 'masters serving the channels').toBe(3);
    const inboxes = new Map(channels.map((c) => [c, inbox()]));
    for (const c of channels) await b.subscribe(c, inboxes.get(c)!.fn);
    const second = inbox();
    await b.subscribe(names.broadcast, second.fn);
    for (const c of channels) for (let i = 0; i < 5; i++) a.publish(c, `${c}#${i}`);
    for (const c of channels) {
      await inboxes.get(c)!.has(`${c}#4`, `the last message on ${c}`);
      expect(inboxes.get(c)!.got).toEqual([0, 1, 2, 3, 4].map((i) => `${c}#${i}`));
    }
    await second.has(`${names.broadcast}#4`);

    // Unsubscribed: nothing more arrives on that channel, the others go on.
    const gone = names.node('n0');
    await b.unsubscribe(gone);
    a.publish(gone, 'after');
    a.publish(names.broadcast, 'marker');
    await inboxes.get(names.broadcast)!.has('marker');
    // A message published before the marker by the same publisher, had it been delivered, would be there by now
    // on one Redis; on a Redis Cluster its shard may differ, so give it the marker's round trip again.
    a.publish(names.node('n1'), 'marker-1');
    await inboxes.get(names.node('n1'))!.has('marker-1');
    expect(inboxes.get(gone)!.got).not.toContain('after');
    // And it can subscribe again.
    await b.subscribe(gone, inboxes.get(gone)!.fn);
    a.publish(gone, 'again');
    await inboxes.get(gone)!.has('again');
  });

  it('stores and publishes a stamped listing in one step only when it is newer, and pages through a stored hash', async () => {
    const names = new Names(prefix);
    const [a, b] = [await bus(), await bus()];
    // The list shards' names: spread over every master of a 3-master cluster, hash and channel in one slot.
    const shards = Array.from({ length: 16 }, (_, n) => n);
    for (const n of shards) expect(slotOf(names.listShard(n))).toBe(slotOf(names.listChannel(n)));
    if (seeds) expect(new Set(await Promise.all(shards.map((n) => masterOf(names.listChannel(n))))).size, 'masters serving the list channels').toBe(3);
    const key = names.listShard(3);
    const channel = names.listChannel(3);
    const heard = inbox();
    await b.subscribe(channel, heard.fn);
    const put = (message: string, removes = false) => a.putNewer(key, 'g1', message, removes, channel);
    expect(await put('1 5 + g1 five')).toBe(true);
    expect(await put('1 3 + g1 three')).toBe(false); // older version
    expect(await put('1 5 + g1 five again')).toBe(false); // same stamp: only a removal goes through
    expect(await put('2 2 + g1 new owner')).toBe(true); // a higher epoch wins with a lower version
    expect(await put('1 9 + g1 old owner')).toBe(false);
    await heard.has('2 2 + g1 new owner');
    expect(heard.got).toEqual(['1 5 + g1 five', '2 2 + g1 new owner']);
    expect(await put('2 2 - g1 gone', true)).toBe(true); // a removal at the same stamp
    await heard.has('2 2 - g1 gone');
    expect((await a.scanHash(key, '0', 10)).entries).toEqual([]);

    // Paging: every field over the pages, however many (past hash-max-listpack-entries, which HSCAN returns whole).
    await Promise.all(Array.from({ length: 1200 }, (_, i) => a.putNewer(key, `g${i}`, `1 1 + g${i} x`, false, channel)));
    const fields = new Map<string, string>();
    let cursor = '0';
    let pages = 0;
    do {
      const page = await b.scanHash(key, cursor, 100);
      for (const [f, v] of page.entries) fields.set(f, v);
      cursor = page.cursor;
      pages++;
    } while (cursor !== '0');
    expect(fields.size).toBe(1200);
    expect(fields.get('g42')).toBe('1 1 + g42 x');
    expect(pages).toBeGreaterThan(1);
  });

  it('compare-and-sets one key, with expiry', async () => {
    const names = new Names(prefix);
    const a = await bus();
    const key = names.lease('game:g1');
    expect(await a.cas(key, null, 'n1:1', 60_000)).toBe(true);
    expect(await a.cas(key, null, 'n2:1', 60_000)).toBe(false);
    expect(await a.cas(key, 'n2:1', 'n2:2', 60_000)).toBe(false);
    expect(await a.cas(key, 'n1:1', 'n2:2', 60_000)).toBe(true);
    expect(await a.get(key)).toBe('n2:2');
    expect(await a.cas(key, 'n2:2', null)).toBe(true);
    expect(await a.get(key)).toBeNull();
    await a.set(names.session('u1'), 'n1', 50);
    expect(await a.get(names.session('u1'))).toBe('n1');
    await eventually(async () => (await a.get(names.session('u1'))) === null, 2000, 'the session key to expire');
  });

  it('reads keys of many slots at once, in the order asked, null for an absent one (session lookups)', async () => {
    const names = new Names(prefix);
    const a = await bus();
    const users = Array.from({ length: 20 }, (_, i) => `reader-${i}`);
    for (const [i, u] of users.entries()) if (i % 3) await a.set(names.session(u), `rec-${i}`, 60_000);
    const before = a.traffic.reads;
    expect(await a.getMany(users.map((u) => names.session(u)))).toEqual(users.map((_, i) => (i % 3 ? `rec-${i}` : null)));
    // One MGET on one Redis; on a Redis Cluster (3 masters) one pipeline per master, not one read per key.
    expect(a.traffic.reads - before).toBeLessThanOrEqual(3);
    expect(await a.getMany([])).toEqual([]);
  });

  it("reads values and sets' members together, in one round trip for one user's records (one slot)", async () => {
    const names = new Names(prefix);
    const a = await bus();
    await a.set(names.where('rd', 'game'), 'g1', 60_000);
    await a.set(names.where('rd', 'queue'), 'duel', 60_000);
    await a.setAdd(names.invites('rd', 'party'), 'p1');
    await a.setAdd(names.invites('rd', 'party'), 'p2');
    const before = a.traffic.reads;
    const [game, party, invites, queue] = await a.readAll([
      { key: names.where('rd', 'game') },
      { key: names.where('rd', 'party') },
      { key: names.invites('rd', 'party'), members: true },
      { key: names.where('rd', 'queue') },
    ]);
    expect(a.traffic.reads - before).toBe(1);
    expect([game, party, queue]).toEqual(['g1', null, 'duel']);
    expect([...(invites as string[])].sort()).toEqual(['p1', 'p2']);
    expect(await a.readAll([{ key: names.invites('nobody', 'party'), members: true }])).toEqual([[]]);
  });

  it('keeps the live members of a set in one key: beats, expiry by Redis time, leave', async () => {
    const names = new Names(prefix);
    const [a, b] = [await bus(), await bus()];
    await a.beat(names.members, 'n1', '{"draining":false}', 60_000);
    await b.beat(names.members, 'n2', '{"draining":true}', 300);
    expect(Object.fromEntries(await a.members(names.members))).toEqual({ n1: '{"draining":false}', n2: '{"draining":true}' });
    // n2 stops beating: gone once its lifetime passed.
    await eventually(async () => !(await b.members(names.members)).has('n2'), 3000, 'n2 to expire');
    await a.leave(names.members, 'n1');
    expect((await b.members(names.members)).size).toBe(0);
  });

  it('a versioned member set: a poll answers only its version, which changes when a member joins, changes, expires or leaves', async () => {
    const names = new Names(prefix);
    const [a, b] = [await bus(), await bus()];
    const { members: set, membersVersion: version } = names;
    const first = await a.poll(set, version, 'n1', '{"draining":false}', 60_000);
    expect(first.added).toBe(true);
    // Nothing changed: the same version, n1 already there.
    expect(await a.poll(set, version, 'n1', '{"draining":false}', 60_000)).toEqual({ version: first.version, added: false });
    const joined = await b.poll(set, version, 'n2', '{"draining":false}', 300);
    expect(joined).toEqual({ version: first.version + 1, added: true });
    const drains = await a.poll(set, version, 'n1', '{"draining":true}', 60_000);
    expect(drains.version).toBe(joined.version + 1);
    expect(await b.roster(set, version)).toEqual({ version: drains.version, members: new Map([['n1', '{"draining":true}'], ['n2', '{"draining":false}']]) });
    // n2 stops polling: once its lifetime passed, the next poll prunes it and the version moves on.
    await eventually(async () => (await a.poll(set, version, 'n1', '{"draining":true}', 60_000)).version !== drains.version, 3000, 'n2 to expire');
    const after = await a.roster(set, version);
    expect([...after.members.keys()]).toEqual(['n1']);
    await a.leave(set, 'n1', version);
    expect(await b.roster(set, version)).toEqual({ version: after.version + 1, members: new Map() });
  });

  it('counts the messages and UTF-8 bytes it publishes and its subscriber receives, and shows them on /metrics', async () => {
    const names = new Names(prefix);
    const [a, b] = [await bus(), await bus()];
    const box = inbox();
    // Two channels, one handled twice:
    // a message counts once however many handlers it has.
    await b.subscribe(names.broadcast, box.fn);
    await b.subscribe(names.broadcast, () => {});
    await b.subscribe(names.node('n1'), box.fn);
    const before = { ...b.traffic };
    a.publish(names.broadcast, 'één'); // 3 characters, 5 bytes
    a.publish(names.node('n1'), 'xyz');
    await box.has('één');
    await box.has('xyz');
    expect(a.traffic).toMatchObject({ publishedMessages: 2, publishedBytes: 8 });
    expect(b.traffic.receivedMessages - before.receivedMessages).toBe(2);
    expect(b.traffic.receivedBytes - before.receivedBytes).toBe(8);
    expect(b.traffic.publishedMessages).toBe(0);

    const registry = new Registry();
    registerBusMetrics(registry, b.traffic);
    const text = await registry.metrics();
    expect(text).toContain(`foyer_bus_messages_total{direction="received"} ${b.traffic.receivedMessages}`);
    expect(text).toContain(`foyer_bus_bytes_total{direction="received"} ${b.traffic.receivedBytes}`);
    expect(text).toContain('foyer_bus_messages_total{direction="published"} 0');
    // Read again at the next scrape, not added up.
    expect(await registry.metrics()).toContain(`foyer_bus_bytes_total{direction="received"} ${b.traffic.receivedBytes}`);
  });
});

// A Redis of this file's own for the outage, so the shared one is never touched.
let own: { target: RedisTarget; stop(): Promise<unknown>; start(): Promise<void>; destroy(): Promise<unknown> } | undefined;
afterAll(async () => {
  await own?.destroy();
});

describe(`RedisBus through an outage of ${seeds ? 'a whole Redis Cluster' : 'its Redis'}`, () => {
  it('reports down, refuses at once while down, and comes back up subscribed', async () => {
    if (seeds) {
      const rc = await RedisCluster.start(3);
      own = { target: { cluster: parseSeeds(rc.seeds) }, stop: () => rc.stop(), start: () => rc.start(), destroy: () => rc.destroy() };
    } else {
      const r = await RedisServer.start();
      own = { target: { url: r.url }, stop: () => r.stop('SIGKILL'), start: () => r.start(), destroy: () => r.stop() };
    }
    const names = new Names(prefix);
    const [a, b] = [await bus(own.target), await bus(own.target)];
    const statuses: boolean[] = [];
    b.onStatus((up) => statuses.push(up));
    const channels = Array.from({ length: 6 }, (_, i) => names.node(`n${i}`));
    const inboxes = channels.map(() => inbox());
    for (const [i, c] of channels.entries()) await b.subscribe(c, inboxes[i]!.fn);

    await own.stop();
    await eventually(() => !a.up && !b.up, 10_000, 'both buses to see Redis gone');
    expect(statuses).toEqual([false]);
    expect(() => a.publish(channels[0]!, 'lost')).toThrow(BusDown);
    await expect(a.get(names.session('u1'))).rejects.toThrow();
    // A channel subscribed while down is subscribed when Redis is back.
    const late = inbox();
    await b.subscribe(names.broadcast, late.fn);

    await own.start();
    await eventually(() => a.up && b.up, 20_000, 'both buses up again');
    expect(statuses).toEqual([false, true]);
    for (const [i, c] of channels.entries()) a.publish(c, `back ${i}`);
    a.publish(names.broadcast, 'late');
    for (const [i, box] of inboxes.entries()) await box.has(`back ${i}`, `the message on ${channels[i]} after the outage`);
    await late.has('late');
    expect(await a.cas(names.lease('game:g1'), null, 'n1:1')).toBe(true);
  });
});
