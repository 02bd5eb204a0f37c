import { BusDown, LocalBus, type Bus, type LocalHub } from '../../server/src/cluster/bus.js';

/**
 * A LocalBus that a test can cut off (as if Redis became unreachable from
 * this node only: nothing in, nothing out, no key operations, no bye) or make
 * lose some incoming messages.
 */
export class TestBus implements Bus {
  dead = false;
  /** Incoming messages for which this returns true are lost. */
  drop: ((channel: string, message: string) => boolean) | undefined;
  private readonly inner: LocalBus;

  constructor(hub: LocalHub) {
    this.inner = new LocalBus(hub);
  }

  get up(): boolean {
    return !this.dead;
  }

  onStatus(): void {
    // the test kills the node for good; no status changes are reported
  }

  publish(channel: string, message: string): void {
    if (this.dead) throw new BusDown();
    this.inner.publish(channel, message);
  }

  subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    return this.inner.subscribe(channel, (m) => {
      if (this.dead || this.drop?.(channel, m)) return;
      fn(m);
    });
  }

  private alive(): void {
    if (this.dead) throw new BusDown();
  }

  async get(key: string): Promise<string | null> {
    this.alive();
    return this.inner.get(key);
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    this.alive();
    return this.inner.getMany(keys);
  }

  async readAll(reads: Parameters<Bus['readAll']>[0]): ReturnType<Bus['readAll']> {
    this.alive();
    return this.inner.readAll(reads);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.alive();
    return this.inner.set(key, value, ttlMs);
  }

  async cas(key: string, expect: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    this.alive();
    return this.inner.cas(key, expect, next, ttlMs);
  }

  async unsubscribe(channel: string): Promise<void> {
    return this.inner.unsubscribe(channel);
  }

  async store(...args: Parameters<Bus['store']>): Promise<boolean> {
    this.alive();
    return this.inner.store(...args);
  }

  async setAdd(set: string, member: string): Promise<void> {
    this.alive();
    return this.inner.setAdd(set, member);
  }

  async setRemove(set: string, member: string): Promise<void> {
    this.alive();
    return this.inner.setRemove(set, member);
  }

  async setMembers(set: string): Promise<string[]> {
    this.alive();
    return this.inner.setMembers(set);
  }

  async beat(set: string, member: string, value: string, ttlMs: number): Promise<void> {
    this.alive();
    return this.inner.beat(set, member, value, ttlMs);
  }

  async members(set: string): Promise<Map<string, string>> {
    this.alive();
    return this.inner.members(set);
  }

  async leave(set: string, member: string, version?: string): Promise<void> {
    this.alive();
    return this.inner.leave(set, member, version);
  }

  async poll(...args: Parameters<Bus['poll']>): ReturnType<Bus['poll']> {
    this.alive();
    return this.inner.poll(...args);
  }

  async roster(set: string, version: string): ReturnType<Bus['roster']> {
    this.alive();
    return this.inner.roster(set, version);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Polls `cond` until it holds (bounded: throws after `withinMs`). */
export async function until(cond: () => boolean, what: string, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
