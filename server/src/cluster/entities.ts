import type { Logger } from 'pino';
import { LobbyError } from '../errors.js';
import type { Cluster } from './cluster.js';
import type { Answer, Batch, BatchAnswer, EntitySpec, EntityWire, Owner, Posted } from './entitySpec.js';
import { Interest } from './interest.js';
import { type Caller, Owning } from './owning.js';

export type { Decided, EntitySpec } from './entitySpec.js';

/** How long a replica nobody here needs stays (a user leaving and coming straight back). */
const LINGER_MS = 3000;

/**
 * Single writer per entity, events to its replicas. The owner decides and
 * applies (owning.ts), stores the entity's snapshot, then publishes the events as a
 * versioned batch on the entity's own channel, which the nodes holding it by
 * interest apply with the same `apply` (games, parties); an entity held by
 * its owner alone (a queue) has no replicas and no batches. Commands for an
 * entity owned elsewhere are routed to its owner. A replica that sees a gap
 * fetches a snapshot. A dead owner's entities are taken over by a
 * deterministic successor under a lease with a fencing epoch; a draining
 * owner hands them over.
 */
export class Entities<S, C, E, R> extends Owning<S, C, E, R> {
  /** Dead nodes whose owner sets may still list entities nobody took over. */
  private readonly orphanSets = new Set<string>();
  /** By interest: which entities this node holds and listens to. */
  private readonly interest: Interest | undefined;

  constructor(spec: EntitySpec<S, C, E, R>, cluster: Cluster, log: Logger) {
    super(spec, cluster, log);
    // Every kind is stored (a takeover rebuilds it from Redis); the nodes besides its owner hold it by interest or not at all.
    if (!spec.interest === !spec.ownerOnly || (spec.ownerOnly && !spec.claimed)) throw new Error(`the ${spec.kind} kind must be held either by interest or by its owner alone (claimed)`);
    const k = spec.kind;
    cluster.handle<{ id: string; command: C; hops?: number }>(`${k}.exec`, (b, from, rid) =>
      spec.interest ? this.answer(b.id, b.command, (b.hops ?? 0) + 1, { node: from, rid }) : this.route(b.id, b.command, (b.hops ?? 0) + 1),
    );
    cluster.handle<{ id: string }>(`${k}.snapshot`, (b) => this.snapshotOf(b.id));
    cluster.onNodeDown((node) => void this.takeOver(node));
    cluster.onRejoin(() => this.restore());
    const interest = spec.interest;
    if (interest) {
      // The owner put a user of this node in (a match, a party brought into a game, an invite): hold it, up to that version.
      cluster.onCast<{ id: string; version: number; events?: Posted[] }>(`${k}.interest`, ({ id, version, events }) =>
        void this.hold(id, async () => {
          await this.reach(id, version);
          for (const p of events ?? []) interest.deliver(p.users, p.ev, p.data);
        }).catch((err: unknown) => log.warn({ kind: k, id, err: (err as Error).message }, 'taking interest failed')),
      );
      cluster.onCast<Owner & { id: string; version: number }>(`${k}.owner`, (b, from) => this.onOwner(b, from));
      this.interest = new Interest(
        {
          listen: (id) => cluster.listen(this.key(id), (m) => this.onEntityMessage(m)),
          unlisten: (id) => cluster.unlisten(this.key(id)),
          needed: (id) => {
            const s = this.states.get(id);
            return this.owners.get(id)?.owner === cluster.nodeId || (!!s && interest.users(s).some((u) => interest.here(u)));
          },
          held: () => this.states.keys(),
          drop: (id) => this.drop(id),
        },
        LINGER_MS,
      );
      cluster.onRejoin(() => this.resync());
      return;
    }
    // Held by its owner alone (a queue): the other nodes learn only who owns it, cast to all (rare: claims, takeovers, hand-overs).
    cluster.onCast<Owner & { id: string; version: number }>(`${k}.owner`, (b, from) => this.onOwner(b, from));
    cluster.syncable(k, {
      export: () => this.owned().map((id) => ({ id, ...this.owners.get(id)! })),
      import: (from, data) => this.ownersFrom(from, (data ?? []) as (Owner & { id: string })[]),
    });
  }

  /** A node's answer to a resync (held by the owner alone): what it owns; what it no longer owns has no known owner here. */
  private ownersFrom(node: string, owned: (Owner & { id: string })[]): void {
    const present = new Set(owned.map((o) => o.id));
    for (const [id, o] of [...this.owners]) if (o.owner === node && !present.has(id)) this.owners.delete(id);
    for (const o of owned) this.onOwner({ ...o, version: 0 }, node);
  }

  /**
   * Runs a command on the entity's owner: here, at once, when this node owns
   * it (or it does not exist yet: a new entity belongs to its creator);
   * otherwise on the owner node, whose events reach this replica before its
   * answer does.
   */
  exec(id: string, command: C): R | Promise<R> {
    // By interest, an entity this node does not hold may exist elsewhere: hold it first (its owner is in its snapshot).
    if (this.interest && !this.states.has(id)) return this.hold(id, () => this.route(id, command, 0));
    return this.route(id, command, 0);
  }

  /** Holds the entity the user's record names (`interest.members` are recorded as they come and go), if any. */
  async loadRecorded(userId: string): Promise<void> {
    const id = await this.cluster.places.placeOf(userId, this.spec.kind);
    if (id !== undefined) await this.load(id);
  }

  /** The entity, held first when this node does not hold it (by interest): undefined when it exists nowhere. */
  async load(id: string): Promise<S | undefined> {
    if (!this.interest || this.states.has(id)) return this.states.get(id);
    return this.hold(id, () => this.states.get(id));
  }

  /** The entity as held here, else as stored (read, not held: an admin view, a fact about another node's user). */
  async peek(id: string): Promise<S | undefined> {
    return (await this.peekOwned(id))?.state;
  }

  /** As `peek`, with its owner node as this node knows it, else as the stored snapshot names it (admin views). */
  async peekOwned(id: string): Promise<{ state: S; owner: string | undefined } | undefined> {
    const held = this.states.get(id);
    if (held) return { state: held, owner: this.ownerOf(id) };
    const snap = await this.fromStore(id);
    if (!snap?.state) return undefined;
    return { state: this.spec.fromJSON ? this.spec.fromJSON(id, snap.state) : snap.state, owner: snap.owner };
  }

  /** Runs a command creating the entity here (a fresh id: there is nothing to look up first). */
  create(id: string, command: C): R | Promise<R> {
    return this.run(id, command);
  }

  private route(id: string, command: C, hops: number, caller?: Caller): R | Promise<R> {
    const owner = this.owners.get(id)?.owner;
    if (owner === undefined && this.spec.claimed) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} ${id} has no owner node yet; try again shortly`);
    if (owner === undefined || owner === this.cluster.nodeId) {
      // Held by its owner alone and just handed to this node: its state is being read from the store.
      if (this.spec.ownerOnly && !this.states.has(id)) {
        const fetch = this.fetches.get(id);
        if (!fetch) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} ${id} is being taken over; try again`);
        return fetch.done.then(() => this.route(id, command, hops));
      }
      return this.run(id, command, caller);
    }
    if (hops > 1) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} is moving between nodes; try again`);
    const { kind } = this.spec;
    if (!this.interest) return this.cluster.call<R>(owner, `${kind}.exec`, { id, command, hops });
    const interest = this.interest;
    // Held and heard for the whole call (no sweep drops it meanwhile): the owner answers in the batch itself.
    return interest.during(id, async () => {
      await interest.listen(id);
      const a = await this.cluster.call<Answer<R>>(owner, `${kind}.exec`, { id, command, hops });
      // The reply (for a command that changed nothing, or a batch this node missed) may come before the batch
      // (another channel, maybe another shard): the replica catches up first. When the command ended the entity,
      // the replica here must have applied the end too (its stream delivered it): what the caller does next, such
      // as joining another game, goes out on another channel and must not overtake it.
      await this.reach(id, a.version ?? Number.POSITIVE_INFINITY);
      return 'result' in a ? a.result! : this.spec.interest!.answers!.view(this.states.get(id));
    });
  }

  /**
   * On the owner, a routed command: the version after it, and its result
   * unless the caller makes it (`interest.answers`). The batch has answered
   * already; this reply is for a command that changed nothing (no batch) and
   * for a caller that missed the batch.
   */
  private async answer(id: string, command: C, hops: number, caller: Caller): Promise<Answer<R>> {
    const result = await this.route(id, command, hops, caller);
    const s = this.states.get(id);
    return { version: s ? this.spec.version(s) : null, ...(this.carries(command) && { result }) };
  }

  /**
   * A command of this node's, answered in its batch (applied just before):
   * its carried result, else the view of the replica at the batch's version;
   * when a gap kept the replica from it, the caller makes the view once there.
   */
  private settle(b: Batch<E>, answer: BatchAnswer): void {
    const s = this.states.get(b.id);
    const there = b.to === null ? s === undefined : s !== undefined && this.spec.version(s) === b.to;
    const result = 'result' in answer ? { result: answer.result } : there ? { result: this.spec.interest!.answers!.view(s) } : {};
    this.cluster.settle(answer.rid, b.owner, { version: b.to, ...result } satisfies Answer<unknown>);
  }

  /**
   * Holds the entity for the duration of `task` (and after it, as long as a
   * session here needs it): listens on its channel, then, when no replica is
   * here, installs the stored snapshot; batches arriving meanwhile wait for it.
   */
  private hold<T>(id: string, task: () => T | Promise<T>): Promise<T> {
    const interest = this.interest!;
    return interest.during(id, async () => {
      // Nothing to read it from, and no way to hear it: what needs another node is refused while Redis is away.
      if (!this.states.has(id) && !this.cluster.busUp) throw new LobbyError('NODE_UNAVAILABLE', 'the cluster bus (Redis) is down');
      await interest.listen(id);
      if (!this.states.has(id)) await this.refresh(id);
      return task();
    });
  }

  /** Waits until the replica has reached `version` (or is gone: Infinity waits for that); a batch that does not come in time is fetched as a snapshot. */
  private async reach(id: string, version: number): Promise<void> {
    const reached = () => {
      const s = this.states.get(id);
      return !s || this.spec.version(s) >= version;
    };
    if (reached()) return;
    await this.until(id, reached, this.cluster.callTimeoutMs);
    if (!reached()) await this.refresh(id);
  }

  /** Claims an entity nobody owns, when this node is its successor; true when it did. */
  async claim(id: string): Promise<boolean> {
    if (!this.spec.claimed || this.owners.has(id) || this.cluster.successor(`${this.spec.kind}:${id}`) !== this.cluster.nodeId) return false;
    if (!(await this.cluster.lease(`${this.spec.kind}:${id}`, { owner: '', epoch: 0 }, { owner: this.cluster.nodeId, epoch: 1 }))) return false;
    if (this.owners.has(id)) return false;
    const s = this.spec.claimed.fresh(id);
    this.owners.set(id, { owner: this.cluster.nodeId, epoch: 1 });
    this.states.set(id, s);
    this.whole.add(id);
    // Stored, and in this node's owner set, before anyone hears of it: a successor can take it over from then on.
    await this.persist(id, 1, true, false, undefined);
    this.cluster.cast(`${this.spec.kind}.owner`, { id, owner: this.cluster.nodeId, epoch: 1, version: this.spec.version(s) });
    this.adoptIfMine(id);
    return true;
  }

  /** An entity changed or arrived here: the interest's sweeps run while anything is held. */
  protected override arrived(id: string): void {
    super.arrived(id);
    this.interest?.watch();
  }

  /** No more timers (the node stops). */
  stop(): void {
    for (const id of [...this.timers.keys()]) this.clearTimers(id);
    this.interest?.stop();
  }

  /** A message on an entity's own channel. */
  private onEntityMessage(raw: string): void {
    let w: EntityWire<E>;
    try {
      w = JSON.parse(raw) as EntityWire<E>;
    } catch {
      return this.log.warn({ kind: this.spec.kind }, 'unreadable entity message');
    }
    if (w.owner === this.cluster.nodeId && w.t === 'batch') return; // its own
    // Still in flight when the replica was dropped: not fetched back for nobody.
    if (this.states.has(w.id) || this.interest?.listens(w.id)) {
      if (w.t === 'batch') this.onBatch(w);
      else this.onOwner(w, w.owner);
    }
    // Applied first: the caller then finds the replica at the version it answers to.
    if (w.t === 'batch' && w.answer?.node === this.cluster.nodeId) this.settle(w, w.answer);
  }

  /** The owner changed (takeover or handover): follow it; a replica behind it fetches a snapshot from the sender. */
  private onOwner(b: Owner & { id: string; version: number }, from: string): void {
    const known = this.owners.get(b.id);
    if (known && b.epoch <= known.epoch) return;
    const state = this.states.get(b.id);
    if (known?.owner === this.cluster.nodeId) this.clearTimers(b.id);
    if (this.spec.ownerOnly) {
      this.owners.set(b.id, { owner: b.owner, epoch: b.epoch });
      if (b.owner !== this.cluster.nodeId) return this.release(b.id);
      // Handed to this node: read from the store (the old owner stored it under the new epoch first).
      return void this.refresh(b.id).then(() => this.adoptIfMine(b.id));
    }
    if (!state || this.spec.version(state) !== b.version) {
      this.owners.set(b.id, { owner: b.owner, epoch: b.epoch });
      return void this.refresh(b.id, from === this.cluster.nodeId ? undefined : from).then(() => this.adoptIfMine(b.id));
    }
    this.owners.set(b.id, { owner: b.owner, epoch: b.epoch });
    this.adoptIfMine(b.id);
  }

  /**
   * A node died: what no live node owns goes to each entity's successor; this
   * node takes its share. Every orphan, not only the dead node's: a successor
   * chosen earlier may have died before it took over.
   */
  private async takeOver(dead: string): Promise<void> {
    this.orphanSets.add(dead);
    for (const node of [...this.orphanSets]) await this.takeOverStored(node);
    for (const [id, o] of [...this.owners]) {
      // Nothing here to take over from (not held here): the stored snapshot was the way, above.
      if (!this.states.has(id) || this.cluster.isLive(o.owner) || this.cluster.successor(this.key(id)) !== this.cluster.nodeId) continue;
      await this.move(id, o, this.cluster.nodeId);
    }
  }

  /**
   * What a dead node owned, as its owner set records it: this node takes its
   * share, each rebuilt from the stored snapshot (durable before it was
   * acknowledged), whether or not a replica is here. The set is kept until
   * emptied: a successor that dies before it took over leaves the rest to
   * the next one.
   */
  private async takeOverStored(dead: string): Promise<void> {
    let entities: string[];
    try {
      entities = (await this.cluster.ownedBy(dead)).filter((e) => e.startsWith(`${this.spec.kind}:`));
    } catch (err) {
      return void this.log.warn({ kind: this.spec.kind, dead, err: (err as Error).message }, 'owner set of a dead node not read; the next node-down retries');
    }
    if (!entities.length) return void this.orphanSets.delete(dead);
    for (const key of entities) {
      if (this.cluster.successor(key) !== this.cluster.nodeId) continue;
      const id = key.slice(this.spec.kind.length + 1);
      try {
        const snap = await this.fromStore(id);
        const known = this.owners.get(id);
        if (snap?.state == null) {
          // Ended (or never stored): nothing to take over, unless a replica here says otherwise.
          if (!known || known.owner !== dead) await this.cluster.owning(dead, key, false);
          continue;
        }
        if (snap.owner !== dead && this.cluster.isLive(snap.owner)) {
          await this.cluster.owning(dead, key, false); // taken over already
          continue;
        }
        // The stored snapshot is at least as new as any replica (batches are sent after it is stored).
        if (!known || known.epoch <= snap.epoch) this.install(snap);
        if (await this.move(id, this.owners.get(id)!, this.cluster.nodeId)) await this.cluster.owning(dead, key, false);
      } catch (err) {
        this.log.warn({ kind: this.spec.kind, id, err: (err as Error).message }, 'takeover from the stored snapshot failed');
      }
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
    // Taking it over: the stored secrets, before it is stored again under the new epoch.
    if (to === this.cluster.nodeId && this.spec.secret && this.states.has(id) && !this.whole.has(id)) await this.unseal(id).catch(() => {});
    const s = this.states.get(id);
    if (!s || this.owners.get(id)?.epoch !== from.epoch) return false;
    this.owners.set(id, next);
    this.clearTimers(id);
    // Stored under the new epoch first: the old owner's late writes are fenced out from now on.
    await this.persist(id, next.epoch, false, false, undefined).catch(() => {});
    await Promise.all([this.cluster.owning(to, this.key(id), true), from.owner === this.cluster.nodeId ? this.cluster.owning(from.owner, this.key(id), false) : undefined]);
    const change = { id, ...next, version: this.spec.version(s) };
    if (this.interest) {
      this.cluster.tellEntity(this.key(id), JSON.stringify({ t: 'owner', ...change } satisfies EntityWire<E>));
      // The new owner may hold no replica: told directly, it reads the stored snapshot.
      if (to !== this.cluster.nodeId) this.cluster.tell(to, `${this.spec.kind}.owner`, change);
    } else {
      this.cluster.cast(`${this.spec.kind}.owner`, change);
      if (to !== this.cluster.nodeId) this.release(id);
    }
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
