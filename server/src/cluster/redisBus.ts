import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { BusDown, TOMBSTONE_MS, type Bus, type KeyRead } from './bus.js';
import { ChannelSubscriber, ShardedSubscriber, slotOf, type Subscriber } from './redisSubscribers.js';

// Compare-and-set in one step: ARGV[1] expected ('' = absent), ARGV[2] next ('' = delete), ARGV[3] ttl ms (0 = none).
const CAS = `
local cur = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and cur ~= false) or (ARGV[1] ~= '' and cur ~= ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
elseif ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

// Stores a listing unless a newer one is there, and publishes it (bus.ts, putNewer). A stamp is a value's
// leading "<epoch> <version> ". KEYS[1] the hash; ARGV: field, message, '1' to remove, channel, publish command.
const PUT_NEWER = `
local function stamp(s) local e, v = string.match(s, '^(%d+) (%d+) ') return tonumber(e), tonumber(v) end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local e, v = stamp(ARGV[2])
  local ce, cv = stamp(cur)
  if ce and (ce > e or (ce == e and (cv > v or (cv == v and ARGV[3] ~= '1')))) then return 0 end
end
if ARGV[3] == '1' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call(ARGV[5], ARGV[4], ARGV[2])
return 1`;

// A member set is one hash: member -> "<expiry, Redis time in ms>|<value>". The hash itself expires
// when no member has beaten for a whole ttl. ARGV: member, value, ttl ms.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const BEAT = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. '|' .. ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;
// The live members, as [member, value, member, value, ...]; expired ones are deleted on the way.
const MEMBERS = `${NOW}
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local v = all[i + 1]
  local sep = string.find(v, '|', 1, true)
  if not sep or tonumber(string.sub(v, 1, sep - 1)) <= now then redis.call('HDEL', KEYS[1], all[i])
  else out[#out + 1] = all[i]; out[#out + 1] = string.sub(v, sep + 1) end
end
return out`;

// A versioned member set (the live nodes): the hash as above, and KEYS[2] its version, a counter raised whenever a
// member is pruned, added, leaves or changes its value. PRUNE deletes the expired members (ARGV[1]: a member whose
// value is returned, if live) and says whether it deleted any.
const PRUNE = `${NOW}
local function prune(me)
  local all = redis.call('HGETALL', KEYS[1])
  local pruned, mine = false, nil
  for i = 1, #all, 2 do
    local v = all[i + 1]
    local sep = string.find(v, '|', 1, true)
    if not sep or tonumber(string.sub(v, 1, sep - 1)) <= now then redis.call('HDEL', KEYS[1], all[i]); pruned = true
    elseif all[i] == me then mine = string.sub(v, sep + 1) end
  end
  return pruned, mine
end`;
// A node's poll, every heartbeat: refreshes its entry (ARGV: member, value, ttl ms), prunes, and answers only the
// version (negated when the member was not in the set): one small integer. Both keys expire when nobody polls for a ttl.
const POLL = `${PRUNE}
local ttl = tonumber(ARGV[3])
local pruned, mine = prune(ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. '|' .. ARGV[2])
local version
if pruned or mine ~= ARGV[2] then version = redis.call('INCR', KEYS[2]) else version = tonumber(redis.call('GET', KEYS[2]) or '0') end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
if mine == nil then return -version end
return version`;
// The live members with the version, in one step: [version, member, value, member, value, ...].
const ROSTER = `${PRUNE}
local version
if prune('') then version = redis.call('INCR', KEYS[2]) else version = tonumber(redis.call('GET', KEYS[2]) or '0') end
local all = redis.call('HGETALL', KEYS[1])
local out = { version }
for i = 1, #all, 2 do
  local v = all[i + 1]
  out[#out + 1] = all[i]; out[#out + 1] = string.sub(v, string.find(v, '|', 1, true) + 1)
end
return out`;
const LEAVE = `if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then redis.call('INCR', KEYS[2]) end
return 1`;

/**
 * Every script, sent by its SHA (EVALSHA: ioredis defineCommand) instead of its text: a store goes with each change
 * of a game or party, a beat with each login, a poll every heartbeat. `foyerStore` takes its number of keys first.
 */
interface Scripts {
  foyerPoll(set: string, version: string, member: string, value: string, ttlMs: string): Promise<number>;
  foyerRoster(set: string, version: string): Promise<[number, ...string[]]>;
  foyerLeave(set: string, version: string, member: string): Promise<number>;
  foyerPutNewer(key: string, field: string, message: string, removes: string, channel: string, verb: string): Promise<number>;
  foyerCas(key: string, expect: string, next: string, ttlMs: string): Promise<number>;
  foyerBeat(set: string, member: string, value: string, ttlMs: string): Promise<number>;
  foyerMembers(set: string): Promise<string[]>;
  foyerStore(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
}

// An entity's stored snapshot, fenced: KEYS[1] the snapshot; ARGV epoch, value ('' = tombstone), tombstone ttl ms,
// then channel and message to publish in the same step ('' = none) and the publish command (PUBLISH or SPUBLISH);
// KEYS[2], when given, the owner-only secret: ARGV[7] its value ('' = deleted).
const STORE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if sep and tonumber(string.sub(cur, 1, sep - 1)) > tonumber(ARGV[1]) then return 0 end
end
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1] .. '|', 'PX', ARGV[3])
else redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2]) end
if KEYS[2] then
  if ARGV[7] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[7]) end
end
if ARGV[4] ~= '' then redis.call(ARGV[6], ARGV[4], ARGV[5]) end
return 1`;

/** Where the bus's Redis is: one server (`redis://…`), or the seed nodes of a Redis Cluster. */
export type RedisTarget = { url: string } | { cluster: { host: string; port: number }[] };

/**
 * The cluster bus on Redis (ioredis): one connection (or, on a Redis
 * Cluster, one per master, managed by ioredis) for commands and publishing,
 * and subscriptions apart (redisSubscribers.ts): classic pub/sub on one
 * Redis, sharded pub/sub (SPUBLISH/SSUBSCRIBE) on a Redis Cluster. Commands
 * fail at once while Redis is away (no offline queue: a caller must learn
 * now, not when Redis is back); every connection retries forever, and the
 * bus reports itself up again only once every channel is subscribed anew.
 */
export class RedisBus implements Bus {
  private readonly cmd: Redis | Cluster;
  private readonly sub: Subscriber;
  private readonly sharded: boolean;
  private readonly handlers = new Map<string, ((message: string) => void)[]>();
  /** The channels Redis is to be subscribed to: those with handlers. */
  private readonly wanted = new Set<string>();
  private readonly listeners: ((up: boolean) => void)[] = [];
  /** Counted here, not in a handler: what a node carries is every message its subscribers get, handled or not. */
  readonly traffic: BusTraffic = { publishedMessages: 0, publishedBytes: 0, receivedMessages: 0, receivedBytes: 0, reads: 0 };
  private cmdReady = false;
  private reported = false;
  private closed = false;

  /** `name`: the subscriber connections' name in Redis (CLIENT LIST), `<name>:sub`, so an operator can tell whose they are. */
  constructor(target: RedisTarget, private readonly log: Logger, name?: string) {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
    };
    const hooks = {
      wanted: this.wanted,
      onMessage: (channel: string, message: string) => {
        this.traffic.receivedMessages++;
        this.traffic.receivedBytes += Buffer.byteLength(message);
        for (const fn of this.handlers.get(channel) ?? []) fn(message);
      },
      onChange: () => this.report(),
      log,
    };
    if ('url' in target) {
      this.sharded = false;
      this.cmd = new Redis(target.url, options);
      this.sub = new ChannelSubscriber(target.url, { ...options, ...(name && { connectionName: `${name}:sub` }) }, hooks);
    } else {
      this.sharded = true;
      const retry = (times: number) => Math.min(50 * times, 500);
      const cluster = new Cluster(target.cluster, {
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: retry,
        clusterNodeRetryStrategy: retry,
        redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 2000 },
      });
      // A connection to every master at once, not on first use: ioredis retries a command sent to a connection
      // still being made later, after the ones that follow it (one channel's order lost). Only once the cluster is
      // ready: its ready check refuses a connection that is being made.
      const eager = (node: Redis) => node.status === 'wait' && node.connect().catch(() => {});
      cluster.on('+node', (node: Redis) => {
        node.on('ready', () => this.report());
        node.on('close', () => this.report());
        if (cluster.status === 'ready') eager(node);
      });
      cluster.on('-node', () => this.report());
      cluster.on('ready', () => cluster.nodes('master').forEach(eager));
      this.cmd = cluster;
      this.sub = new ShardedSubscriber(cluster, { ...options, ...(name && { connectionName: `${name}:sub` }) }, hooks);
    }
    this.cmd.defineCommand('foyerPoll', { numberOfKeys: 2, lua: POLL });
    this.cmd.defineCommand('foyerRoster', { numberOfKeys: 2, lua: ROSTER });
    this.cmd.defineCommand('foyerLeave', { numberOfKeys: 2, lua: LEAVE });
    this.cmd.defineCommand('foyerPutNewer', { numberOfKeys: 1, lua: PUT_NEWER });
    this.cmd.defineCommand('foyerCas', { numberOfKeys: 1, lua: CAS });
    this.cmd.defineCommand('foyerBeat', { numberOfKeys: 1, lua: BEAT });
    this.cmd.defineCommand('foyerMembers', { numberOfKeys: 1, lua: MEMBERS });
    this.cmd.defineCommand('foyerStore', { lua: STORE });
    this.cmd.on('error', (err: Error) => this.log.debug({ err: err.message, conn: 'cmd' }, 'redis error'));
    this.cmd.on('close', () => this.setCmdReady(false));
    this.cmd.on('end', () => this.setCmdReady(false));
    this.cmd.on('ready', () => this.setCmdReady(true));
  }

  /** The command connection, for what keeps its own keys in the same Redis (the login throttle). */
  get client(): Redis | Cluster {
    return this.cmd;
  }

  /** Connects (retrying for as long as it takes); resolves once up. */
  async connect(): Promise<void> {
    const up = new Promise<void>((resolve) => this.listeners.push((isUp) => isUp && resolve()));
    // A failed first attempt is logged and retried like any later one (ioredis's connect() may
    // settle late, or not at all, when its first attempt fails and a retry succeeds).
    for (const conn of [this.cmd, this.sub]) {
      conn.connect().catch((err: Error) => this.log.warn({ err: err.message }, 'redis not reachable yet; retrying'));
    }
    await (this.up ? Promise.resolve() : up);
  }

  get up(): boolean {
    return this.cmdUp && this.sub.ready;
  }

  /** Commands go through: connected (on a Redis Cluster, to every master). */
  private get cmdUp(): boolean {
    if (!this.cmdReady) return false;
    if (!this.sharded) return true;
    const masters = (this.cmd as Cluster).nodes('master');
    return masters.length > 0 && masters.every((m) => m.status === 'ready');
  }

  onStatus(fn: (up: boolean) => void): void {
    this.listeners.push(fn);
  }

  private setCmdReady(ready: boolean): void {
    this.cmdReady = ready;
    this.report();
  }

  private report(): void {
    if (this.closed || this.up === this.reported) return;
    this.reported = this.up;
    for (const fn of [...this.listeners]) fn(this.up);
  }

  publish(channel: string, message: string): void {
    if (!this.up) throw new BusDown();
    this.traffic.publishedMessages++;
    this.traffic.publishedBytes += Buffer.byteLength(message);
    (this.sharded ? this.cmd.spublish(channel, message) : this.cmd.publish(channel, message)).catch((err: Error) => this.log.warn({ err: err.message, channel }, 'redis publish failed'));
  }

  async subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) return void list.push(fn);
    this.handlers.set(channel, [fn]);
    this.wanted.add(channel);
    await this.sub.sync();
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.handlers.delete(channel)) return;
    this.wanted.delete(channel);
    await this.sub.sync();
  }

  async putNewer(key: string, field: string, message: string, removes: boolean, channel: string): Promise<boolean> {
    this.check();
    // SPUBLISH from a script is allowed on a Redis Cluster when the channel is in the script's slot (same hash tag).
    return (await this.scripts.foyerPutNewer(key, field, message, removes ? '1' : '0', channel, this.sharded ? 'SPUBLISH' : 'PUBLISH')) === 1;
  }

  async scanHash(key: string, cursor: string, count: number): Promise<{ cursor: string; entries: [string, string][] }> {
    this.check();
    const [next, flat] = await this.cmd.hscan(key, cursor, 'COUNT', count);
    const entries: [string, string][] = [];
    for (let i = 0; i < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
    return { cursor: next, entries };
  }

  async get(key: string): Promise<string | null> {
    this.check();
    this.traffic.reads++;
    return this.cmd.get(key);
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return (await this.readAll(keys.map((key) => ({ key })))) as (string | null)[];
  }

  /** On one Redis, one MGET, or one pipeline when sets are read too; on a Redis Cluster, per master (`readAcrossSlots`). */
  async readAll(reads: readonly KeyRead[]): Promise<(string | string[] | null)[]> {
    this.check();
    if (!reads.length) return [];
    if (this.sharded) return this.readAcrossSlots(this.cmd as Cluster, reads);
    this.traffic.reads++;
    const values = reads.filter((r) => !r.members).map((r) => r.key);
    if (values.length === reads.length) return this.cmd.mget(...values);
    // The values in one MGET, each set's SMEMBERS after it, all written at once.
    const p = this.cmd.pipeline();
    if (values.length) p.mget(...values);
    for (const r of reads) if (r.members) p.smembers(r.key);
    const res = ((await p.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const [got, sets] = values.length ? [res[0] as (string | null)[], res.slice(1)] : [[], res];
    let [v, m] = [0, 0];
    return reads.map((r) => (r.members ? (sets[m++] as string[]) : (got[v++] ?? null)));
  }

  /**
   * On a Redis Cluster the keys are in different slots, so no MGET: each master gets its keys' reads in one pipeline
   * (bench:cluster part 7: 100 GETs written one by one cost Redis 1.5-2.2 ms of CPU, written together 0.25 ms).
   * Keys whose master is not known yet (slots not read), or a pipeline refused (a slot moving), go one read each.
   */
  private async readAcrossSlots(c: Cluster, reads: readonly KeyRead[]): Promise<(string | string[] | null)[]> {
    const out: (string | string[] | null)[] = new Array<string | string[] | null>(reads.length).fill(null);
    const byMaster = new Map<string, number[]>();
    const alone: number[] = [];
    reads.forEach((r, i) => {
      const master = c.slots[slotOf(r.key)]?.[0];
      if (master === undefined) return void alone.push(i);
      const list = byMaster.get(master);
      if (list) list.push(i);
      else byMaster.set(master, [i]);
    });
    const one = async (i: number) => {
      this.traffic.reads++;
      const r = reads[i]!;
      out[i] = r.members ? await c.smembers(r.key) : await c.get(r.key);
    };
    await Promise.all([
      ...alone.map(one),
      ...[...byMaster.values()].map(async (idx) => {
        this.traffic.reads++;
        const p = c.pipeline();
        for (const i of idx) void (reads[i]!.members ? p.smembers(reads[i]!.key) : p.get(reads[i]!.key));
        const res = await p.exec().catch(() => null);
        if (!res || res.some(([err]) => err)) return void (await Promise.all(idx.map(one)));
        res.forEach(([, v], j) => void (out[idx[j]!] = v as string | string[] | null));
      }),
    ]);
    return out;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.check();
    if (ttlMs) await this.cmd.set(key, value, 'PX', ttlMs);
    else await this.cmd.set(key, value);
  }

  async cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    this.check();
    return (await this.scripts.foyerCas(key, expect ?? '', next ?? '', String(ttlMs ?? 0))) === 1;
  }

  async beat(set: string, member: string, value: string, ttlMs: number): Promise<void> {
    this.check();
    await this.scripts.foyerBeat(set, member, value, String(ttlMs));
  }

  async members(set: string): Promise<Map<string, string>> {
    this.check();
    const flat = await this.scripts.foyerMembers(set);
    const out = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    return out;
  }

  async leave(set: string, member: string, version?: string): Promise<void> {
    this.check();
    await (version ? this.scripts.foyerLeave(set, version, member) : this.cmd.hdel(set, member));
  }

  async poll(set: string, version: string, member: string, value: string, ttlMs: number): Promise<{ version: number; added: boolean }> {
    this.check();
    const v = await this.scripts.foyerPoll(set, version, member, value, String(ttlMs));
    return { version: Math.abs(v), added: v < 0 };
  }

  async roster(set: string, version: string): Promise<{ version: number; members: Map<string, string> }> {
    this.check();
    const [v, ...flat] = await this.scripts.foyerRoster(set, version);
    const members = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) members.set(flat[i]!, flat[i + 1]!);
    return { version: v, members };
  }

  private get scripts(): Scripts {
    return this.cmd as unknown as Scripts;
  }

  async store(key: string, epoch: number, value: string | null, publish?: { channel: string; message: string }, secret?: { key: string; value: string | null }): Promise<boolean> {
    this.check();
    const verb = this.sharded ? 'SPUBLISH' : 'PUBLISH';
    const keys = secret ? [key, secret.key] : [key];
    const args = [String(epoch), value ?? '', String(TOMBSTONE_MS), publish?.channel ?? '', publish?.message ?? '', verb, ...(secret ? [secret.value ?? ''] : [])];
    return (await this.scripts.foyerStore(keys.length, ...keys, ...args)) === 1;
  }

  async setAdd(set: string, member: string): Promise<void> {
    this.check();
    await this.cmd.sadd(set, member);
  }

  async setRemove(set: string, member: string): Promise<void> {
    this.check();
    await this.cmd.srem(set, member);
  }

  async setMembers(set: string): Promise<string[]> {
    this.check();
    this.traffic.reads++;
    return this.cmd.smembers(set);
  }

  private check(): void {
    if (!this.cmdUp) throw new BusDown();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cmd.disconnect();
    this.sub.close();
  }
}

/**
 * What went through a bus since it started: pub/sub messages and their
 * payload bytes (UTF-8), published by this node and received by its
 * subscriber(s); round trips that read keys. Plain numbers on the hot path;
 * /metrics reads them.
 */
export interface BusTraffic {
  publishedMessages: number;
  publishedBytes: number;
  receivedMessages: number;
  receivedBytes: number;
  /** GET, SMEMBERS, and batches of them (one MGET or pipeline; on a Redis Cluster one per master): what a node waits on Redis for. */
  reads: number;
}
