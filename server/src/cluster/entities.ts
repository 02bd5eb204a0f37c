import type { Logger } from 'pino';
import { LobbyError } from '../errors.js';
import type { Cluster } from './cluster.js';

/** A decision of the owner: the caller's answer, the events to apply in order, the timers to schedule. */
export interface Decided<E, C, R> {
  result: R;
  events: E[];
  timers: { afterMs: number; command: C }[];
}

/** How a kind of entity (games, parties) plugs into the cluster. */
export interface EntitySpec<S, C, E, R> {
  /** `game`, `party`: names the cluster messages. */
  kind: string;
  version(s: S): number;
  /** Against the current state; throws LobbyError on a refusal. */
  decide(id: string, before: S | undefined, command: C): Decided<E, C, R>;
  /**
   * The entity's pure apply: the state after one event (undefined once it is
   * gone), the owner's own or a replica's alike. It changes state and nothing
   * else; what follows on this node is `effects`.
   */
  apply(id: string, before: S | undefined, e: E): S | undefined;
  /**
   * What follows on this node from one event just applied (on the owner and
   * on every replica alike): delivery to its sessions, indexes, whereabouts.
   * Runs right after `apply` of that event, with the state before and after
   * it (a queue changes its state in place: there both are the same object).
   */
  effects?(id: string, e: E, before: S | undefined, after: S | undefined): void;
  /** What follows from a whole batch once every event of it is applied (the game list takes a batch as one change). */
  applied?(id: string, before: S | undefined, after: S | undefined, events: E[]): void;
  /** A snapshot replaces the replica (undefined: the entity is gone): fix indexes, deliver nothing. */
  replace(id: string, before: S | undefined, after: S | undefined): void;
  /** The timers to run when this node takes the entity over (deadlines kept in the state). */
  resume(s: S, now: number): { afterMs: number; command: C }[];
  /**
   * Games and parties are born on the node that creates them. A queue exists
   * on every node from the start and has no owner until one claims it: a
   * command for it waits for that (NODE_UNAVAILABLE meanwhile).
   */
  claimed?: boolean;
  /** State as plain JSON for a snapshot, and back (default: the state is plain JSON already). */
  toJSON?(s: S): unknown;
  fromJSON?(id: string, json: unknown): S;
}

interface Batch<E> {
  id: string;
  owner: string;
  epoch: number;
  /** Version before and after; `to` null when the entity ended. */
  from: number;
  to: number | null;
  events: E[];
}

interface Owner {
  owner: string;
  /** Fencing: raised by every takeover and handover; an owner's batches with a lower one are ignored. */
  epoch: number;
}

interface Snapshot<S> {
  id: string;
  owner: string;
  epoch: number;
  state: S | null;
}

/**
 * Single writer per entity, events to every replica. Every node holds every
 * entity of the kind; the owner decides and applies, then publishes the
 * events as a versioned batch that every other node applies with the same
 * `apply`. Commands for an entity owned elsewhere are routed to its owner. A
 * replica that sees a gap fetches a snapshot. A dead owner's entities are
 * taken over by a deterministic successor under a lease with a fencing
 * epoch; a draining owner hands them over.
 */
export class Entities<S, C, E, R> {
  private readonly states = new Map<string, S>();
  private readonly owners = new Map<string, Owner>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    private readonly spec: EntitySpec<S, C, E, R>,
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {
    const k = spec.kind;
    cluster.handle<{ id: string; command: C; hops?: number }>(`${k}.exec`, (b) => this.exec(b.id, b.command, (b.hops ?? 0) + 1));
    cluster.handle<{ id: string }>(`${k}.snapshot`, (b) => this.snapshotOf(b.id));
    cluster.onCast<Batch<E>>(`${k}.batch`, (b) => this.onBatch(b));
    cluster.onCast<Owner & { id: string; version: number }>(`${k}.owner`, (b, from) => this.onOwner(b, from));
    cluster.onNodeDown(() => void this.takeOver());
    cluster.syncable(k, {
      export: () => [...this.owners].filter(([, o]) => o.owner === cluster.nodeId).map(([id]) => this.snapshotOf(id)),
      import: (from, data) => this.importFrom(from, (data ?? []) as Snapshot<S>[]),
    });
  }

  get(id: string): S | undefined {
    return this.states.get(id);
  }

  get all(): ReadonlyMap<string, S> {
    return this.states;
  }

  /**
   * The entity, waiting up to `ms` for it when this replica does not know it
   * yet: an id handed out on another node an instant ago (a game just
   * created there) may be a few milliseconds ahead of its first batch.
   */
  async arrival(id: string, ms: number): Promise<S | undefined> {
    const s = this.states.get(id);
    if (s || this.cluster.alone) return s;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const list = this.waiting.get(id) ?? [];
      list.push(done);
      this.waiting.set(id, list);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.waiting.delete(id);
    return this.states.get(id);
  }

  private arrived(id: string): void {
    const list = this.waiting.get(id);
    if (!list) return;
    this.waiting.delete(id);
    for (const fn of list) fn();
  }

  ownerOf(id: string): string | undefined {
    return this.owners.get(id)?.owner;
  }

  /** The owner and its fencing epoch, as this node knows them. */
  ownership(id: string): { readonly owner: string; readonly epoch: number } | undefined {
    return this.owners.get(id);
  }

  /** Entities this node owns. */
  owned(): string[] {
    return [...this.owners].filter(([, o]) => o.owner === this.cluster.nodeId).map(([id]) => id);
  }

  /**
   * Runs a command on the entity's owner: here, at once, when this node owns
   * it (or it does not exist yet: a new entity belongs to its creator);
   * otherwise on the owner node, whose events reach this replica before its
   * answer does.
   */
  exec(id: string, command: C, hops = 0): R | Promise<R> {
    const owner = this.owners.get(id)?.owner;
    if (owner === undefined && this.spec.claimed) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} ${id} has no owner node yet; try again shortly`);
    if (owner === undefined || owner === this.cluster.nodeId) return this.run(id, command);
    if (hops > 1) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} is moving between nodes; try again`);
    return this.cluster.call<R>(owner, `${this.spec.kind}.exec`, { id, command, hops });
  }

  private run(id: string, command: C): R {
    const before = this.states.get(id);
    const d = this.spec.decide(id, before, command);
    const known = this.owners.get(id);
    const epoch = known?.epoch ?? 1;
    // Read before applying: a queue's state changes in place.
    const from = before ? this.spec.version(before) : 0;
    const after = this.commit(id, before, d.events, { owner: this.cluster.nodeId, epoch });
    if (d.events.length) this.cluster.cast(`${this.spec.kind}.batch`, {
      id,
      owner: this.cluster.nodeId,
      epoch,
      from,
      to: after ? this.spec.version(after) : null,
      events: d.events,
    } satisfies Batch<E>);
    if (after) for (const t of d.timers) this.schedule(id, t.afterMs, t.command);
    return d.result;
  }

  private commit(id: string, before: S | undefined, events: E[], owner: Owner): S | undefined {
    let after = before;
    for (const e of events) {
      const prior = after;
      after = this.spec.apply(id, prior, e);
      this.spec.effects?.(id, e, prior, after);
    }
    if (events.length) this.spec.applied?.(id, before, after, events);
    if (after) (this.states.set(id, after), this.owners.set(id, owner), this.arrived(id));
    else this.forget(id);
    return after;
  }

  private forget(id: string): void {
    this.states.delete(id);
    this.owners.delete(id);
    this.clearTimers(id);
  }

  private schedule(id: string, afterMs: number, command: C): void {
    const timer = setTimeout(() => {
      if (this.owners.get(id)?.owner !== this.cluster.nodeId) return;
      try {
        this.run(id, command);
      } catch (err) {
        if (!(err instanceof LobbyError)) this.log.error({ err, kind: this.spec.kind, id }, 'timer command failed');
      }
    }, Math.max(0, afterMs));
    timer.unref();
    const list = this.timers.get(id);
    if (list) list.push(timer);
    else this.timers.set(id, [timer]);
  }

  private clearTimers(id: string): void {
    for (const t of this.timers.get(id) ?? []) clearTimeout(t);
    this.timers.delete(id);
  }

  private snapshotOf(id: string): Snapshot<S> {
    const o = this.owners.get(id);
    const s = this.states.get(id);
    return { id, owner: o?.owner ?? this.cluster.nodeId, epoch: o?.epoch ?? 0, state: s === undefined ? null : ((this.spec.toJSON?.(s) ?? s) as S) };
  }

  /** An entity that exists before anyone owns it (a queue). */
  seed(id: string, s: S): void {
    this.states.set(id, s);
  }

  /** Claims an entity nobody owns, when this node is its successor; true when it did. */
  async claim(id: string): Promise<boolean> {
    const s = this.states.get(id);
    if (!s || this.owners.has(id) || this.cluster.successor(`${this.spec.kind}:${id}`) !== this.cluster.nodeId) return false;
    if (!(await this.cluster.lease(`${this.spec.kind}:${id}`, { owner: '', epoch: 0 }, { owner: this.cluster.nodeId, epoch: 1 }))) return false;
    if (this.owners.has(id)) return false;
    this.owners.set(id, { owner: this.cluster.nodeId, epoch: 1 });
    this.cluster.cast(`${this.spec.kind}.owner`, { id, owner: this.cluster.nodeId, epoch: 1, version: this.spec.version(s) });
    this.adoptIfMine(id);
    return true;
  }

  /** No more timers (the node stops). */
  stop(): void {
    for (const id of [...this.timers.keys()]) this.clearTimers(id);
  }

  private onBatch(b: Batch<E>): void {
    const known = this.owners.get(b.id);
    if (known && b.epoch < known.epoch) return; // from an owner that was replaced: fenced out
    if (known?.owner === this.cluster.nodeId) this.clearTimers(b.id); // another writer at an epoch as new: this node no longer owns it
    const before = this.states.get(b.id);
    const version = before ? this.spec.version(before) : 0;
    if (b.to !== null && before && b.to <= version && known?.epoch === b.epoch) return; // seen already
    if (version !== b.from) {
      this.log.debug({ kind: this.spec.kind, id: b.id, version, from: b.from, to: b.to, owner: b.owner }, 'replica gap: fetching a snapshot');
      return void this.refresh(b.id, b.owner);
    }
    this.commit(b.id, before, b.events, { owner: b.owner, epoch: b.epoch });
  }

  /** A gap: the replica missed events; the owner's snapshot replaces it. */
  private async refresh(id: string, node: string): Promise<void> {
    try {
      this.install(await this.cluster.call<Snapshot<S>>(node, `${this.spec.kind}.snapshot`, { id }));
    } catch (err) {
      this.log.warn({ kind: this.spec.kind, id, node, err: (err as Error).message }, 'snapshot fetch failed; the next resync repairs it');
    }
  }

  private install(snap: Snapshot<S>): void {
    const known = this.owners.get(snap.id);
    // The owner no longer has it (it ended while this replica missed events): gone, whatever epoch the answer carries.
    const goneAtOwner = snap.state === null && known?.owner === snap.owner;
    if (known && snap.epoch < known.epoch && !goneAtOwner) return;
    // A claimed entity (a queue) is never gone; a snapshot without a state only says nobody has it.
    if (snap.state === null && this.spec.claimed) return void (known?.owner === snap.owner && this.owners.delete(snap.id));
    const before = this.states.get(snap.id);
    const after = snap.state === null ? undefined : this.spec.fromJSON ? this.spec.fromJSON(snap.id, snap.state) : snap.state;
    this.spec.replace(snap.id, before, after);
    if (after) (this.states.set(snap.id, after), this.owners.set(snap.id, { owner: snap.owner, epoch: snap.epoch }), this.arrived(snap.id));
    else this.forget(snap.id);
  }

  /** Another node's full state (resync): what it owns replaces the replica; what it no longer has is gone. */
  private importFrom(node: string, snaps: Snapshot<S>[]): void {
    const present = new Set(snaps.map((s) => s.id));
    for (const [id, o] of [...this.owners]) if (o.owner === node && !present.has(id)) this.install({ id, owner: node, epoch: o.epoch, state: null });
    for (const s of snaps) {
      const before = this.states.get(s.id);
      const known = this.owners.get(s.id);
      if (known && known.epoch === s.epoch && known.owner === s.owner && before && s.state && this.spec.version(before) === (s.state as { version?: number }).version) continue;
      this.install(s);
    }
  }

  /** The owner changed (takeover or handover): follow it; a replica behind it fetches a snapshot from the sender. */
  private onOwner(b: Owner & { id: string; version: number }, from: string): void {
    const known = this.owners.get(b.id);
    if (known && b.epoch <= known.epoch) return;
    const state = this.states.get(b.id);
    if (known?.owner === this.cluster.nodeId) this.clearTimers(b.id);
    if (!state || this.spec.version(state) !== b.version) {
      this.owners.set(b.id, { owner: b.owner, epoch: b.epoch });
      return void this.refresh(b.id, from).then(() => this.adoptIfMine(b.id));
    }
    this.owners.set(b.id, { owner: b.owner, epoch: b.epoch });
    this.adoptIfMine(b.id);
  }

  private adoptIfMine(id: string): void {
    const s = this.states.get(id);
    if (!s || this.owners.get(id)?.owner !== this.cluster.nodeId) return;
    this.clearTimers(id);
    for (const t of this.spec.resume(s, Date.now())) this.schedule(id, t.afterMs, t.command);
  }

  /**
   * A node died: what no live node owns goes to each entity's successor; this
   * node takes its share. Every orphan, not only the dead node's: a successor
   * chosen earlier may have died before it took over.
   */
  private async takeOver(): Promise<void> {
    for (const [id, o] of [...this.owners]) {
      if (this.cluster.isLive(o.owner) || this.cluster.successor(`${this.spec.kind}:${id}`) !== this.cluster.nodeId) continue;
      await this.move(id, o, this.cluster.nodeId);
    }
  }

  /** Moves ownership under the lease; true when it moved. */
  private async move(id: string, from: Owner, to: string): Promise<boolean> {
    const next = { owner: to, epoch: from.epoch + 1 };
    try {
      if (!(await this.cluster.lease(`${this.spec.kind}:${id}`, from, next))) return false;
    } catch (err) {
      this.log.warn({ kind: this.spec.kind, id, err: (err as Error).message }, 'lease not moved');
      return false;
    }
    const s = this.states.get(id);
    if (!s || this.owners.get(id)?.epoch !== from.epoch) return false;
    this.owners.set(id, next);
    this.clearTimers(id);
    this.cluster.cast(`${this.spec.kind}.owner`, { id, ...next, version: this.spec.version(s) });
    this.adoptIfMine(id);
    this.log.info({ kind: this.spec.kind, id, from: from.owner, to }, 'ownership moved');
    return true;
  }

  /** Draining: hands what this node owns (and `keep` does not hold back) to the successors. */
  async handOver(keep: (s: S) => boolean = () => false): Promise<number> {
    let moved = 0;
    for (const id of this.owned()) {
      const s = this.states.get(id);
      const to = this.cluster.successor(`${this.spec.kind}:${id}`);
      if (!s || keep(s) || !to || to === this.cluster.nodeId) continue;
      if (await this.move(id, this.owners.get(id)!, to)) moved++;
    }
    return moved;
  }
}
