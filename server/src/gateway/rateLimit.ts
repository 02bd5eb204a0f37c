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

/**
 * Failed logins, throttled per key (a name, an address): `burst` failures at
 * once, then one more every `everyMs`. Successes cost nothing.
 */
export class FailureThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly burst: number,
    private readonly everyMs: number,
  ) {}

  allowed(keys: string[], now: number): boolean {
    return keys.every((k) => this.buckets.get(k)?.available(now) ?? true);
  }

  failed(keys: string[], now: number): void {
    for (const k of keys) {
      let b = this.buckets.get(k);
      if (!b) this.buckets.set(k, (b = new TokenBucket(this.burst, 1000 / this.everyMs, now)));
      b.take(now);
    }
    // Forget keys that have recovered, so memory follows the attack, not history.
    if (this.buckets.size > 10_000) for (const [k, b] of this.buckets) if (b.full(now)) this.buckets.delete(k);
  }
}
