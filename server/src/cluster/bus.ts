/**
 * What the nodes of a cluster share: pub/sub channels, a few keys with
 * atomic compare-and-set (leases, logins), and the set of live nodes. Redis
 * in a cluster (redisBus.ts: one Redis, or a Redis Cluster); `LocalBus` when
 * a node runs alone, or for several nodes in one process. The cluster logic
 * above it is the same either way.
 *
 * Names (names.ts) carry a hash tag per entity, so that on a Redis Cluster
 * every key an operation touches, and every channel, has one slot.
 */
export interface Bus {
  /** Whether messages and key operations go through now. */
  readonly up: boolean;
  /** Called when the bus comes up (first connect and every reconnect, subscriptions restored) or goes down. */
  onStatus(fn: (up: boolean) => void): void;
  /**
   * Fire and forget; the messages of one publisher on one channel arrive in
   * the order published (on a Redis Cluster, channels of different shards
   * are not ordered against each other). Throws BusDown when down.
   */
  publish(channel: string, message: string): void;
  /** Adds `fn` for `channel`; resolves once subscribed (or, while down, once registered: the bus comes up subscribed). */
  subscribe(channel: string, fn: (message: string) => void): Promise<void>;
  /**
   * Whether only this bus's own handlers listen on `channel` now, so a
   * publish would reach nobody else. Only a bus that knows says so (the
   * in-process one); Redis's may have listeners it cannot see.
   */
  alone?(channel: string): boolean;
  /**
   * No other node can ever share this bus (an in-process bus with a hub of
   * its own: a node alone). What only other nodes would read need not be
   * written at all.
   */
  readonly solo?: boolean;
  /** Drops every handler this bus has for `channel`, and the subscription itself. */
  unsubscribe(channel: string): Promise<void>;
  /**
   * In one atomic step: stores `message` as `field` of the hash `key` (or,
   * when `removes`, deletes the field) and publishes it on `channel` —
   * unless the field holds a newer stamp. A stamp is a message's leading
   * `<epoch> <version> `, ordered epoch first; at equal stamps only a removal
   * goes through. `channel` has the same hash tag as `key`. True when it went
   * through.
   */
  putNewer(key: string, field: string, message: string, removes: boolean, channel: string): Promise<boolean>;
  /** A page of the hash `key` from `cursor` ('0' to begin; the next is '0' after the last page): about `count` fields. */
  scanHash(key: string, cursor: string, count: number): Promise<{ cursor: string; entries: [field: string, value: string][] }>;
  get(key: string): Promise<string | null>;
  /** Several keys in one go (a resync's snapshots): null for an absent one, in the order asked. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  /** Values and sets' members in one round trip (a tick's reads: TickReads), in the order asked: null for an absent value. */
  readAll(reads: readonly KeyRead[]): Promise<(string | string[] | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /**
   * Sets `key` to `next` (deletes it when null) only if it holds `expect`
   * now (is absent, when `expect` is null). True when it did.
   */
  cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean>;
  /**
   * Records `member` of the set `set` with `value`, live for `ttlMs` from now
   * (by the shared clock: Redis's time, not this machine's).
   */
  beat(set: string, member: string, value: string, ttlMs: number): Promise<void>;
  /** The live members of `set` and their values (expired ones are pruned). One key: no scan of the keyspace. */
  members(set: string): Promise<Map<string, string>>;
  /**
   * Removes `member` from `set` at once; with `version` (a versioned set:
   * `poll`), the version changes when it was there.
   */
  leave(set: string, member: string, version?: string): Promise<void>;
  /**
   * A versioned member set (the live nodes): in one step, records `member`
   * with `value` live for `ttlMs` (as `beat`), prunes the expired members,
   * and answers the set's version, kept at the key `version`: a number that
   * changes whenever a member is added, pruned, leaves or changes its value.
   * `added`: `member` was not in the set (new, expired, or the set was lost).
   * The reply is a small integer: what a node receives each heartbeat.
   */
  poll(set: string, version: string, member: string, value: string, ttlMs: number): Promise<{ version: number; added: boolean }>;
  /** The live members of a versioned set with its version, read in one step (expired ones pruned). */
  roster(set: string, version: string): Promise<{ version: number; members: Map<string, string> }>;
  /**
   * An entity's stored snapshot, fenced by its owner's epoch: written (or,
   * `value` null, turned into a short-lived tombstone) only when the stored
   * one's epoch is not higher, and `publish` sent in the same step (one
   * script: the channel must share the key's hash tag). False when fenced out.
   * `secret`, when given, is written (null: deleted) in the same step: what
   * only the entity's owner may read, kept apart from the snapshot that every
   * node with interest reads.
   */
  store(key: string, epoch: number, value: string | null, publish?: { channel: string; message: string }, secret?: { key: string; value: string | null }): Promise<boolean>;
  /** Adds to or removes from a plain set (which entities a node owns). */
  setAdd(set: string, member: string): Promise<void>;
  setRemove(set: string, member: string): Promise<void>;
  setMembers(set: string): Promise<string[]>;
  close(): Promise<void>;
}

/** One read of `Bus.readAll`: a key's value, or (`members`) a set's members. */
export interface KeyRead {
  key: string;
  members?: true;
}

/** A stored snapshot as `store` writes it: `<epoch>|<value>`; an empty value is a tombstone (the entity ended). */
export function readStored(raw: string | null): { epoch: number; value: string | null } | undefined {
  if (raw === null) return undefined;
  const sep = raw.indexOf('|');
  return { epoch: Number(raw.slice(0, sep)), value: raw.slice(sep + 1) || null };
}

/** How long a tombstone stays: long enough to fence a stale owner's late write, short enough not to pile up. */
export const TOMBSTONE_MS = 60_000;

export class BusDown extends Error {
  constructor() {
    super('the cluster bus is down');
  }
}

/** Channels, keys and member sets of one process, shared by every LocalBus made on the same hub. */
export class LocalHub {
  readonly channels = new Map<string, Set<(message: string) => void>>();
  readonly keys = new Map<string, { value: string; expires: number }>();
  readonly sets = new Map<string, Map<string, { value: string; expires: number }>>();
  /** The versions of versioned member sets, by version key. */
  readonly versions = new Map<string, number>();
  readonly plainSets = new Map<string, Set<string>>();

  read(key: string, now = Date.now()): string | null {
    const e = this.keys.get(key);
    if (!e) return null;
    if (e.expires <= now) {
      this.keys.delete(key);
      return null;
    }
    return e.value;
  }

  readonly hashes = new Map<string, Map<string, string>>();
}

/** The in-process bus. Delivery is asynchronous, as through Redis, and in publish order. */
export class LocalBus implements Bus {
  readonly up = true;
  readonly solo: boolean;
  private readonly mine = new Map<string, ((message: string) => void)[]>();
  private readonly hub: LocalHub;

  /** Without a hub, one of its own that no other bus can join: solo. */
  constructor(hub?: LocalHub) {
    this.solo = hub === undefined;
    this.hub = hub ?? new LocalHub();
  }

  onStatus(): void {
    // always up
  }

  publish(channel: string, message: string): void {
    for (const fn of this.hub.channels.get(channel) ?? []) queueMicrotask(() => fn(message));
  }

  alone(channel: string): boolean {
    return (this.hub.channels.get(channel)?.size ?? 0) <= (this.mine.get(channel)?.length ?? 0);
  }

  async subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    let set = this.hub.channels.get(channel);
    if (!set) this.hub.channels.set(channel, (set = new Set()));
    set.add(fn);
    this.mine.set(channel, [...(this.mine.get(channel) ?? []), fn]);
  }

  async unsubscribe(channel: string): Promise<void> {
    const set = this.hub.channels.get(channel);
    for (const fn of this.mine.get(channel) ?? []) set?.delete(fn);
    if (set?.size === 0) this.hub.channels.delete(channel);
    this.mine.delete(channel);
  }

  async putNewer(key: string, field: string, message: string, removes: boolean, channel: string): Promise<boolean> {
    let hash = this.hub.hashes.get(key);
    if (!hash) this.hub.hashes.set(key, (hash = new Map()));
    const cur = hash.get(field);
    if (cur !== undefined && !stampedNewer(message, removes, cur)) return false;
    if (removes) hash.delete(field);
    else hash.set(field, message);
    // Nobody else in this process listens: the publisher has it already.
    if (!this.alone(channel)) this.publish(channel, message);
    return true;
  }

  async scanHash(key: string): Promise<{ cursor: string; entries: [string, string][] }> {
    // One page: nothing is awaited between reading and applying it here.
    return { cursor: '0', entries: [...(this.hub.hashes.get(key) ?? [])] };
  }

  async get(key: string): Promise<string | null> {
    return this.hub.read(key);
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return keys.map((k) => this.hub.read(k));
  }

  async readAll(reads: readonly KeyRead[]): Promise<(string | string[] | null)[]> {
    return reads.map((r) => (r.members ? [...(this.hub.plainSets.get(r.key) ?? [])] : this.hub.read(r.key)));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.hub.keys.set(key, { value, expires: ttlMs ? Date.now() + ttlMs : Infinity });
  }

  async cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    if (this.hub.read(key) !== expect) return false;
    if (next === null) this.hub.keys.delete(key);
    else await this.set(key, next, ttlMs);
    return true;
  }

  async beat(set: string, member: string, value: string, ttlMs: number): Promise<void> {
    let s = this.hub.sets.get(set);
    if (!s) this.hub.sets.set(set, (s = new Map()));
    s.set(member, { value, expires: Date.now() + ttlMs });
  }

  async members(set: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const s = this.hub.sets.get(set);
    const now = Date.now();
    for (const [member, e] of s ?? []) {
      if (e.expires <= now) s!.delete(member);
      else out.set(member, e.value);
    }
    return out;
  }

  async leave(set: string, member: string, version?: string): Promise<void> {
    if (this.hub.sets.get(set)?.delete(member) && version) this.bump(version);
  }

  async poll(set: string, version: string, member: string, value: string, ttlMs: number): Promise<{ version: number; added: boolean }> {
    const pruned = this.prune(set);
    const mine = this.hub.sets.get(set)?.get(member);
    await this.beat(set, member, value, ttlMs);
    if (pruned || mine?.value !== value) this.bump(version);
    return { version: this.hub.versions.get(version) ?? 0, added: !mine };
  }

  async roster(set: string, version: string): Promise<{ version: number; members: Map<string, string> }> {
    if (this.prune(set)) this.bump(version);
    return { version: this.hub.versions.get(version) ?? 0, members: await this.members(set) };
  }

  /** Deletes the expired members of `set`; whether there were any. */
  private prune(set: string): boolean {
    const s = this.hub.sets.get(set);
    const now = Date.now();
    let any = false;
    for (const [member, e] of s ?? []) if (e.expires <= now) (s!.delete(member), (any = true));
    return any;
  }

  private bump(version: string): void {
    this.hub.versions.set(version, (this.hub.versions.get(version) ?? 0) + 1);
  }

  async store(key: string, epoch: number, value: string | null, publish?: { channel: string; message: string }, secret?: { key: string; value: string | null }): Promise<boolean> {
    const cur = readStored(this.hub.read(key));
    if (cur && cur.epoch > epoch) return false;
    await this.set(key, `${epoch}|${value ?? ''}`, value === null ? TOMBSTONE_MS : undefined);
    if (secret?.value === null) this.hub.keys.delete(secret.key);
    else if (secret) await this.set(secret.key, secret.value);
    if (publish) this.publish(publish.channel, publish.message);
    return true;
  }

  async setAdd(set: string, member: string): Promise<void> {
    let s = this.hub.plainSets.get(set);
    if (!s) this.hub.plainSets.set(set, (s = new Set()));
    s.add(member);
  }

  async setRemove(set: string, member: string): Promise<void> {
    this.hub.plainSets.get(set)?.delete(member);
  }

  async setMembers(set: string): Promise<string[]> {
    return [...(this.hub.plainSets.get(set) ?? [])];
  }

  async close(): Promise<void> {
    for (const channel of [...this.mine.keys()]) await this.unsubscribe(channel);
  }
}

/** Whether `message` goes over `stored` by their leading `<epoch> <version> ` (as RedisBus's script decides). */
function stampedNewer(message: string, removes: boolean, stored: string): boolean {
  const stamp = (m: string) => m.split(' ', 2).map(Number) as [number, number];
  const [e, v] = stamp(message);
  const [se, sv] = stamp(stored);
  return e !== se ? e > se : v !== sv ? v > sv : removes;
}
