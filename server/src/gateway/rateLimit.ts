import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Token bucket: `capacity` requests at once, refilled at `perSec`. Time comes
 * in as an argument so the arithmetic is testable without a clock.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perSec: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(now: number): boolean {
    if (!this.available(now)) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether a take would succeed now, without taking. */
  available(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSec);
    this.last = now;
    return this.tokens >= 1;
  }

  /** Full again: nothing to remember. */
  full(now: number): boolean {
    this.available(now);
    return this.tokens >= this.capacity;
  }
}

/** Where failed logins are counted across the cluster: the bus's Redis client, when the nodes share one. */
export type ThrottleStore = Redis | Cluster;

/**
 * Failed logins, counted per name and per address for the whole cluster in
 * Redis (rate-limiter-flexible), so a guesser gains nothing by spreading
 * tries over the nodes; counted in memory when the node runs alone, and
 * while Redis is away (the limiter's insurance). Successes cost nothing.
 */
export class LoginThrottle {
  private readonly byName: RateLimiterAbstract;
  private readonly byAddress: RateLimiterAbstract;

  /** `name`/`address`: how many failures within `windowSec` before further tries wait for the window to end. */
  constructor(opts: { store?: ThrottleStore; prefix: string; name: number; address: number; windowSec: number }) {
    const make = (kind: string, points: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ points, duration: opts.windowSec, keyPrefix: kind });
      if (!opts.store) return memory;
      return new RateLimiterRedis({ storeClient: opts.store, points, duration: opts.windowSec, keyPrefix: `${opts.prefix}:login-failures:${kind}`, insuranceLimiter: memory });
    };
    this.byName = make('name', opts.name);
    this.byAddress = make('address', opts.address);
  }

  /** Whether another try is allowed now. */
  async allowed(address: string, name?: string): Promise<boolean> {
    const [a, n] = await Promise.all([this.byAddress.get(address), name === undefined ? null : this.byName.get(name)]);
    return (a?.remainingPoints ?? 1) > 0 && (n?.remainingPoints ?? 1) > 0;
  }

  async failed(address: string, name?: string): Promise<void> {
    await Promise.all([this.byAddress.penalty(address), name === undefined ? null : this.byName.penalty(name)]);
  }
}
