import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The subscribing side of RedisBus: which channels it listens to is the
 * bus's (`wanted`); a subscriber keeps Redis subscribed to exactly those and
 * says when it is `ready`: connected, and every wanted channel subscribed
 * anew since the last connect. Redis forgets subscriptions with a lost
 * connection, so until then messages may be missed, and the bus reports
 * itself down.
 */
export interface Subscriber {
  readonly ready: boolean;
  connect(): Promise<void>;
  /** `channel` was added to or removed from `wanted`: subscribe or unsubscribe now, if connected. */
  sync(): Promise<void>;
  close(): void;
}

export interface SubscriberHooks {
  wanted: ReadonlySet<string>;
  onMessage(channel: string, message: string): void;
  /** `ready` may have changed. */
  onChange(): void;
  log: Logger;
}

/**
 * `fn`, never twice at once: a call while it runs has it run once more
 * afterwards (it may have missed that call's change) and waits for that.
 */
function serial(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const loop = async () => {
    do {
      again = false;
      await fn();
    } while (again);
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    return (running = loop().finally(() => (running = undefined)));
  };
}

/**
 * One connection that brings its subscriptions in line with `wanted`, again
 * after every connect: SUBSCRIBE, or SSUBSCRIBE for a shard of a Redis
 * Cluster (given the channels of the slots that shard serves).
 */
class Connection {
  ready = false;
  private readonly subscribed = new Set<string>();
  /** Subscribes what is wanted and not subscribed, unsubscribes the reverse; then ready. */
  readonly sync = serial(() => this.syncOnce());

  constructor(
    readonly redis: Redis,
    private readonly sharded: boolean,
    private wanted: () => ReadonlySet<string>,
    private readonly hooks: SubscriberHooks,
    /** A shard refused a channel (MOVED: its slot went elsewhere) or dropped one (slot migration). */
    private readonly onMoved: () => void = () => {},
  ) {
    redis.on('error', (err: Error) => hooks.log.debug({ err: err.message, conn: 'sub' }, 'redis error'));
    redis.on('close', () => {
      this.subscribed.clear();
      this.setReady(false);
    });
    redis.on('ready', () => void this.sync());
    redis.on(sharded ? 'smessage' : 'message', (channel: string, message: string) => hooks.onMessage(channel, message));
    // ioredis emits this for a SUNSUBSCRIBE the server sent on its own, when a slot moved away.
    redis.on('moved', () => onMoved());
  }

  private async syncOnce(): Promise<void> {
    try {
      if (this.redis.status !== 'ready') return;
      const want = this.wanted();
      const add = [...want].filter((c) => !this.subscribed.has(c));
      const drop = [...this.subscribed].filter((c) => !want.has(c));
      // One channel per command: on a Redis Cluster, channels of one SSUBSCRIBE must share a slot.
      await Promise.all([
        ...add.map(async (c) => {
          await (this.sharded ? this.redis.ssubscribe(c) : this.redis.subscribe(c));
          this.subscribed.add(c);
        }),
        ...drop.map(async (c) => {
          this.subscribed.delete(c);
          await (this.sharded ? this.redis.sunsubscribe(c) : this.redis.unsubscribe(c));
        }),
      ]);
      this.setReady(this.redis.status === 'ready');
    } catch (err) {
      const message = (err as Error).message;
      this.hooks.log.warn({ err: message }, 'redis subscribe failed; retrying');
      if (/MOVED/.test(message)) this.onMoved();
      else setTimeout(() => void this.sync(), 200).unref();
    }
  }

  /** A shard's channels changed (its slots did). */
  assign(wanted: () => ReadonlySet<string>): void {
    this.wanted = wanted;
    void this.sync();
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.hooks.onChange();
  }
}

/** Classic pub/sub on one Redis: one connection, SUBSCRIBE. */
export class ChannelSubscriber implements Subscriber {
  private readonly conn: Connection;

  constructor(url: string, options: RedisOptions, hooks: SubscriberHooks) {
    this.conn = new Connection(new Redis(url, options), false, () => hooks.wanted, hooks);
  }

  get ready(): boolean {
    return this.conn.ready;
  }

  async connect(): Promise<void> {
    await this.conn.redis.connect();
  }

  sync(): Promise<void> {
    return this.conn.sync();
  }

  close(): void {
    this.conn.redis.disconnect();
  }
}

/** The Redis Cluster hash slot of a key or channel (of its hash tag, if any), as ioredis computes it. */
export function slotOf(name: string): number {
  return calculateSlot(name);
}

/**
 * Sharded pub/sub on a Redis Cluster: a connection to every master, each
 * SSUBSCRIBEd to the wanted channels whose slot it serves. The slot map
 * comes from CLUSTER SLOTS through the command connection, read again on its
 * every (re)connect and whenever a shard says a slot moved. Ready when the
 * map is known and every master's connection is.
 */
export class ShardedSubscriber implements Subscriber {
  private readonly shards = new Map<string, Connection>();
  /** Slot → "host:port" of its master; undefined until read. */
  private owners: string[] | undefined;
  private closed = false;
  /** Reads the slot map and moves connections and channels to match it. */
  readonly remap = serial(() => this.remapOnce());

  constructor(
    private readonly cmd: Cluster,
    private readonly options: RedisOptions,
    private readonly hooks: SubscriberHooks,
  ) {
    cmd.on('ready', () => void this.remap());
    // ioredis read the slot map again (a MOVED answer, a failover): follow it.
    cmd.on('refresh', () => void this.remap());
    // While a shard is unreachable, its slots may have gone to a replica that took over: ask again now and then.
    this.watch = setInterval(() => {
      if (!this.ready && cmd.status === 'ready') cmd.refreshSlotsCache();
    }, 1000);
    this.watch.unref();
  }

  private readonly watch: NodeJS.Timeout;

  get ready(): boolean {
    return this.owners !== undefined && this.shards.size > 0 && [...this.shards.values()].every((s) => s.ready);
  }

  async connect(): Promise<void> {
    // The command connection's first ready reads the slot map and connects the shards.
  }

  async sync(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.sync()));
  }

  private async remapOnce(): Promise<void> {
    if (this.closed) return;
    try {
      // Each range: [first slot, last slot, master [host, port, id], ...replicas].
      const ranges = (await this.cmd.cluster('SLOTS')).map(([from, to, master]) => ({ from, to, master: `${master![0]}:${master![1]}` }));
      const owners: string[] = new Array(16384);
      for (const r of ranges) owners.fill(r.master, r.from, r.to + 1);
      this.owners = owners;
      const masters = new Set(ranges.map((r) => r.master));
      for (const [key, shard] of this.shards) {
        if (masters.has(key)) continue;
        this.shards.delete(key);
        shard.redis.disconnect();
      }
      for (const key of masters) {
        const mine = () => new Set([...this.hooks.wanted].filter((c) => this.owners?.[slotOf(c)] === key));
        const shard = this.shards.get(key);
        if (shard) shard.assign(mine);
        else this.addShard(key, mine);
      }
      this.hooks.onChange();
    } catch (err) {
      this.hooks.log.warn({ err: (err as Error).message }, 'reading the Redis Cluster slot map failed; retrying');
      setTimeout(() => void this.remap(), 500).unref();
    }
  }

  private addShard(key: string, wanted: () => ReadonlySet<string>): void {
    const i = key.lastIndexOf(':');
    const redis = new Redis({ ...this.options, host: key.slice(0, i), port: Number(key.slice(i + 1)) });
    const shard = new Connection(redis, true, wanted, this.hooks, () => void this.remap());
    this.shards.set(key, shard);
    redis.connect().catch(() => {
      // it retries; 'ready' subscribes
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watch);
    for (const s of this.shards.values()) s.redis.disconnect();
  }
}
