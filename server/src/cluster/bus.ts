/**
 * What the nodes of a cluster share: pub/sub channels and a few keys with
 * atomic compare-and-set (node liveness, leases, logins). Redis in a cluster
 * (redisBus.ts); `LocalBus` when a node runs alone, or for several nodes in
 * one process. The cluster logic above it is the same either way.
 */
export interface Bus {
  /** Whether messages and key operations go through now. */
  readonly up: boolean;
  /** Called when the bus comes up (first connect and every reconnect, subscriptions restored) or goes down. */
  onStatus(fn: (up: boolean) => void): void;
  /** Fire and forget; messages of one publisher arrive in the order published. Throws BusDown when down. */
  publish(channel: string, message: string): void;
  subscribe(channel: string, fn: (message: string) => void): Promise<void>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /**
   * Sets `key` to `next` (deletes it when null) only if it holds `expect`
   * now (is absent, when `expect` is null). True when it did.
   */
  cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean>;
  /** Keys starting with `prefix`. */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

export class BusDown extends Error {
  constructor() {
    super('the cluster bus is down');
  }
}

/** Channels and keys of one process, shared by every LocalBus made on the same hub. */
export class LocalHub {
  readonly channels = new Map<string, Set<(message: string) => void>>();
  readonly keys = new Map<string, { value: string; expires: number }>();

  read(key: string, now = Date.now()): string | null {
    const e = this.keys.get(key);
    if (!e) return null;
    if (e.expires <= now) {
      this.keys.delete(key);
      return null;
    }
    return e.value;
  }
}

/** The in-process bus. Delivery is asynchronous, as through Redis, and in publish order. */
export class LocalBus implements Bus {
  readonly up = true;
  private readonly mine: [string, (message: string) => void][] = [];

  constructor(private readonly hub = new LocalHub()) {}

  onStatus(): void {
    // always up
  }

  publish(channel: string, message: string): void {
    for (const fn of this.hub.channels.get(channel) ?? []) queueMicrotask(() => fn(message));
  }

  async subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    let set = this.hub.channels.get(channel);
    if (!set) this.hub.channels.set(channel, (set = new Set()));
    set.add(fn);
    this.mine.push([channel, fn]);
  }

  async get(key: string): Promise<string | null> {
    return this.hub.read(key);
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

  async keys(prefix: string): Promise<string[]> {
    return [...this.hub.keys.keys()].filter((k) => k.startsWith(prefix) && this.hub.read(k) !== null);
  }

  async close(): Promise<void> {
    for (const [channel, fn] of this.mine) this.hub.channels.get(channel)?.delete(fn);
  }
}
