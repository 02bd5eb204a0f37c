/**
 * Which entities of a kind this node holds by interest, and the channels it
 * listens on for them. A node holds an entity while it owns it, while a
 * session here needs it (`needed`: a player, spectator, member or invitee
 * with a session here), or while a command of a local user for it is under
 * way (`pending`). When none of that is left for `lingerMs`, the node stops
 * listening and drops its replica: the linger keeps a user who leaves and
 * comes straight back from costing a subscribe and a snapshot each time.
 */
export interface InterestHooks {
  /** Subscribes the entity's channel; resolves once Redis confirmed it. */
  listen(id: string): Promise<void>;
  unlisten(id: string): Promise<void>;
  /** Held here: owned, or a session here needs it now. */
  needed(id: string): boolean;
  /** Every entity held here (owned or replicated). */
  held(): Iterable<string>;
  /** Drops the replica (nobody here needs it any more). */
  drop(id: string): void;
}

export class Interest {
  private readonly listening = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, number>();
  private readonly idleSince = new Map<string, number>();
  /** The sweep's timer: set only while something is held or listened to (a node that holds nothing has nothing to sweep). */
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly hooks: InterestHooks,
    private readonly lingerMs: number,
  ) {}

  /** Something may be held now (an entity arrived, a subscribe, a command for one): sweeps run until nothing is. */
  watch(): void {
    if (this.sweeper || this.stopped) return;
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(50, this.lingerMs / 2));
    this.sweeper.unref();
  }

  /** Whether sweeps are running. */
  get sweeping(): boolean {
    return this.sweeper !== undefined;
  }

  /** Whether the entity's channel is (being) subscribed. */
  listens(id: string): boolean {
    return this.listening.has(id);
  }

  /** The entities whose channels are subscribed. */
  get channels(): Iterable<string> {
    return this.listening.keys();
  }

  /** Subscribes the entity's channel (once; concurrent callers wait for the same subscribe). */
  listen(id: string): Promise<void> {
    let p = this.listening.get(id);
    if (!p) {
      this.watch();
      p = this.hooks.listen(id).catch((err: unknown) => {
        this.listening.delete(id);
        throw err;
      });
      this.listening.set(id, p);
    }
    return p;
  }

  /** Runs `task` with the entity held for its duration (a local user's command for it under way). */
  async during<T>(id: string, task: () => Promise<T>): Promise<T> {
    this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
    this.watch();
    try {
      return await task();
    } finally {
      const n = (this.pending.get(id) ?? 1) - 1;
      if (n > 0) this.pending.set(id, n);
      else this.pending.delete(id);
    }
  }

  /** Drops, after the linger, what nobody here needs; stops listening for what is gone. */
  sweep(now: number): void {
    for (const id of new Set([...this.listening.keys(), ...this.hooks.held()])) {
      if (this.pending.has(id) || this.hooks.needed(id)) {
        this.idleSince.delete(id);
        continue;
      }
      const since = this.idleSince.get(id);
      if (since === undefined) {
        this.idleSince.set(id, now);
        continue;
      }
      if (now - since < this.lingerMs) continue;
      this.idleSince.delete(id);
      this.hooks.drop(id);
      if (this.listening.delete(id)) void this.hooks.unlisten(id).catch(() => {});
    }
    if (!this.listening.size && !this.pending.size && this.hooks.held()[Symbol.iterator]().next().done) this.rest();
  }

  stop(): void {
    this.stopped = true;
    this.rest();
  }

  private rest(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.idleSince.clear();
  }
}
