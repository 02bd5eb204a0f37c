import type { Logger } from 'pino';
import { LobbyError } from '../errors.js';
import type { Cluster } from './cluster.js';
import type { Answer, Batch, EntitySpec, EntityWire, Moves, Owner, Posted, Snapshot } from './entitySpec.js';
import { Interest } from './interest.js';
import { movesOf, recordsOf } from './moves.js';

export type { Decided, EntitySpec } from './entitySpec.js';

/** How long a replica nobody here needs stays (a user leaving and coming straight back). */
const LINGER_MS = 3000;

import { Replicas } from './replicas.js';

/**
 * Single writer per entity, events to its replicas. The owner decides and
 * applies, stores the entity's snapshot, then publishes the events as a
 * versioned batch on the entity's own channel, which the nodes holding it by
 * interest apply with the same `apply` (games, parties); an entity held by
 * its owner alone (a queue) has no replicas and no batches; a plain kind
 * (not stored: the unit tests') is cast to every node. Commands for an
 * entity owned elsewhere are routed to its owner. A replica that sees a gap
 * fetches a snapshot. A dead owner's entities are taken over by a
 * deterministic successor under a lease with a fencing epoch; a draining
 * owner hands them over.
 */
export class Entities<S, C, E, R> extends Replicas<S, C, E, R> {
  /** Dead nodes whose owner sets may still list entities nobody took over. */
  private readonly orphanSets = new Set<string>();
  /** By interest: which entities this node holds and listens to. */
  private readonly interest: Interest | undefined;
  /** Secrets being read for entities this node now owns (`unseal`). */
  private readonly unsealing = new Map<string, Promise<void>>();
  /** Personal events posted by the batch being committed, per entity (`post`). */
  private readonly outbox = new Map<string, Posted[]>();

  constructor(spec: EntitySpec<S, C, E, R>, cluster: Cluster, log: Logger) {
    super(spec, cluster, log);
    const k = spec.kind;
    cluster.handle<{ id: string; command: C; hops?: number }>(`${k}.exec`, (b) => (spec.interest ? this.answer(b.id, b.command, (b.hops ?? 0) + 1) : this.route(b.id, b.command, (b.hops ?? 0) + 1)));
    cluster.handle<{ id: string }>(`${k}.snapshot`, (b) => this.snapshotOf(b.id));
    cluster.onNodeDown((node) => void this.takeOver(node));
    if (spec.stored) cluster.onRejoin(() => this.restore());
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
    cluster.onCast<Owner & { id: string; version: number }>(`${k}.owner`, (b, from) => this.onOwner(b, from));
    if (spec.ownerOnly) {
      // Held by its owner alone (a queue): the other nodes learn only who owns it, cast to all (rare: claims, takeovers, hand-overs).
      cluster.syncable(k, {
        export: () => this.owned().map((id) => ({ id, ...this.owners.get(id)! })),
        import: (from, data) => this.ownersFrom(from, (data ?? []) as (Owner & { id: string })[]),
      });
      return;
    }
    // Replicated on every node (the unit tests' plain kind): batches cast to all, whole states at a resync.
    cluster.onCast<Batch<E>>(`${k}.batch`, (b) => this.onBatch(b));
    cluster.syncable(k, {
      export: () => [...this.owners].filter(([, o]) => o.owner === cluster.nodeId).map(([id]) => this.snapshotOf(id)),
      import: (from, data) => this.importFrom(from, (data ?? []) as Snapshot<S>[]),
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
    if (held || !this.spec.stored) return held && { state: held, owner: this.ownerOf(id) };
    const snap = await this.fromStore(id);
    if (!snap?.state) return undefined;
    return { state: this.spec.fromJSON ? this.spec.fromJSON(id, snap.state) : snap.state, owner: snap.owner };
  }

  /**
   * On the owner, from `effects`: a personal event for users of other nodes
   * that the batch being committed takes in (an invite). It goes with the
   * word to their nodes to take interest, and is delivered there once they
   * hold the entity: what the user does next (accept) finds it there.
   */
  post(id: string, users: readonly string[], ev: string, data: unknown): void {
    const list = this.outbox.get(id) ?? [];
    list.push({ users, ev, data });
    this.outbox.set(id, list);
  }

  /** Runs a command creating the entity here (a fresh id: there is nothing to look up first). */
  create(id: string, command: C): R | Promise<R> {
    return this.run(id, command);
  }

  private route(id: string, command: C, hops: number): R | Promise<R> {
    const owner = this.owners.get(id)?.owner;
    if (owner === undefined && this.spec.claimed) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} ${id} has no owner node yet; try again shortly`);
    if (owner === undefined || owner === this.cluster.nodeId) {
      // Held by its owner alone and just handed to this node: its state is being read from the store.
      if (this.spec.ownerOnly && !this.states.has(id)) {
        const fetch = this.fetches.get(id);
        if (!fetch) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} ${id} is being taken over; try again`);
        return fetch.done.then(() => this.route(id, command, hops));
      }
      return this.run(id, command);
    }
    if (hops > 1) throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} is moving between nodes; try again`);
    if (!this.interest) return this.cluster.call<R>(owner, `${this.spec.kind}.exec`, { id, command, hops });
    // The answer may come before the batch (another channel, maybe another shard): the replica catches up first.
    // When the command ended the entity, the replica here must have applied the end too (its stream delivered it):
    // what the caller does next, such as joining another game, goes out on another channel and must not overtake it.
    return this.cluster.call<Answer<R>>(owner, `${this.spec.kind}.exec`, { id, command, hops }).then(async (a) => {
      await this.reach(id, a.version ?? Number.POSITIVE_INFINITY);
      return a.result;
    });
  }

  /** On the owner, a routed command: its result and the version after it. */
  private async answer(id: string, command: C, hops: number): Promise<Answer<R>> {
    const result = await this.route(id, command, hops);
    const s = this.states.get(id);
    return { result, version: s ? this.spec.version(s) : null };
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

  private run(id: string, command: C): R | Promise<R> {
    // Held here as other nodes see it (this node just became the owner): the secrets first, from the store.
    if (this.spec.secret && this.states.has(id) && !this.whole.has(id)) {
      return this.unseal(id).then(
        () => this.run(id, command),
        () => {
          throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} is being taken over; try again`);
        },
      );
    }
    const before = this.states.get(id);
    const d = this.spec.decide(id, before, command);
    const known = this.owners.get(id);
    const epoch = known?.epoch ?? 1;
    // Read before applying: a queue's state changes in place.
    const from = before ? this.spec.version(before) : 0;
    const after = this.commit(id, before, d.events, { owner: this.cluster.nodeId, epoch });
    if (after) this.whole.add(id);
    if (after) for (const t of d.timers) this.schedule(id, t.afterMs, t.command);
    if (!d.events.length) return d.result;
    // Other nodes get the events without the owner's secrets (held by the owner alone: nobody gets them).
    const events = this.spec.secret ? d.events.map((e) => this.spec.secret!.redact(e)) : d.events;
    const batch: Batch<E> | undefined = this.spec.ownerOnly ? undefined : { id, owner: this.cluster.nodeId, epoch, from, to: after ? this.spec.version(after) : null, events };
    if (!this.spec.stored) return (this.cluster.cast(`${this.spec.kind}.batch`, batch), d.result);
    const posted = this.outbox.get(id);
    this.outbox.delete(id);
    const moves = movesOf(this.spec, before, after, d.events);
    return this.persist(id, epoch, before === undefined, after === undefined, batch, moves, posted).then(() => {
      this.spec.durable?.(id, d.events);
      return d.result;
    });
  }

  /**
   * Puts the stored secrets into the state held here, on a node that owns the
   * entity now (the only reader of them). One read at a time per entity: a
   * second command waits for the first read rather than reading an older one.
   */
  private unseal(id: string): Promise<void> {
    const under = this.unsealing.get(id);
    if (under) return under;
    const done = (async () => {
      try {
        const raw = await this.cluster.secretOf(this.key(id));
        const s = this.states.get(id);
        if (!s || this.whole.has(id)) return;
        if (raw !== null) this.states.set(id, this.spec.secret!.with(s, JSON.parse(raw)));
        this.whole.add(id);
      } finally {
        this.unsealing.delete(id);
      }
    })();
    this.unsealing.set(id, done);
    return done;
  }

  /**
   * Stores the entity as it is now (the batch just committed), then sends
   * the batch: replicas never see a state a takeover could not rebuild, and
   * the caller is answered only once Redis holds it.
   */
  private async persist(id: string, epoch: number, born: boolean, ended: boolean, batch: Batch<E> | undefined, moves?: Moves, posted?: Posted[]): Promise<void> {
    const key = this.key(id);
    const json = ended ? null : JSON.stringify(this.snapshotOf(id));
    const s = this.states.get(id);
    // Written only by a node that holds the secrets (undefined: the stored ones stay).
    const secret = !this.spec.secret ? undefined : ended || !s ? null : this.whole.has(id) ? JSON.stringify(this.spec.secret.of(s)) : undefined;
    const stored = this.interest
      ? this.cluster.store(key, epoch, json, batch && JSON.stringify({ t: 'batch', ...batch } satisfies EntityWire<E>), secret)
      : this.cluster.store(key, epoch, json, undefined, secret).then((ok) => {
          if (ok && batch) this.cluster.cast(`${this.spec.kind}.batch`, batch);
          return ok;
        });
    const { kind } = this.spec;
    const places = moves
      ? [
          ...moves.joined.map((u) => this.cluster.places.place(u, kind, id, true)),
          ...moves.left.map((u) => this.cluster.places.place(u, kind, id, false)),
          ...moves.invited.map((u) => this.cluster.places.invite(u, kind, id, true)),
          ...moves.uninvited.map((u) => this.cluster.places.invite(u, kind, id, false)),
        ]
      : [];
    const [ok] = await Promise.all([stored, born || ended ? this.cluster.owning(this.cluster.nodeId, key, born) : undefined, ...places]);
    if (!ok) {
      this.log.warn({ kind: this.spec.kind, id, epoch }, 'fenced out: another node owns this entity now');
      this.clearTimers(id);
      void this.refresh(id);
      throw new LobbyError('NODE_UNAVAILABLE', `the ${this.spec.kind} moved to another node; try again`);
    }
    if ((moves?.came.length || posted) && batch?.to != null) void this.tellNodes(id, batch.to, moves?.came ?? [], posted ?? []);
  }

  /**
   * Users of other nodes that a batch put in, whose nodes may not hold the
   * entity: each such node is told to take interest, up to that version (the
   * node a user's own command came from already has: it hears it twice).
   */
  private async tellNodes(id: string, version: number, came: string[], posted: Posted[]): Promise<void> {
    const interest = this.spec.interest!;
    try {
      const where = await interest.locate([...new Set([...came, ...posted.flatMap((p) => p.users)])]);
      for (const node of new Set(where.values())) {
        const here = (u: string) => where.get(u) === node;
        const events = posted.map((p) => ({ ...p, users: p.users.filter(here) })).filter((p) => p.users.length);
        this.cluster.tell(node, `${this.spec.kind}.interest`, { id, version, events });
      }
    } catch (err) {
      this.log.warn({ kind: this.spec.kind, id, err: (err as Error).message }, 'nodes of new users not told');
    }
  }

  /** At every (re)join: Redis may have lost what this node stored (a restart), so it stores again all it owns, and where its members and invitees are. */
  private async restore(): Promise<void> {
    await Promise.all(
      this.owned().map((id) => {
        // The members' records too, as if they had all just joined.
        const moves = recordsOf(this.spec, this.states.get(id)!);
        return this.persist(id, this.owners.get(id)!.epoch, true, false, undefined, moves).catch(() => {});
      }),
    );
  }

  private schedule(id: string, afterMs: number, command: C): void {
    const timer = setTimeout(() => {
      if (this.owners.get(id)?.owner !== this.cluster.nodeId) return;
      const failed = (err: unknown) => {
        if (!(err instanceof LobbyError)) this.log.error({ err, kind: this.spec.kind, id }, 'timer command failed');
      };
      try {
        void Promise.resolve(this.run(id, command)).catch(failed);
      } catch (err) {
        failed(err);
      }
    }, Math.max(0, afterMs));
    timer.unref();
    const list = this.timers.get(id);
    if (list) list.push(timer);
    else this.timers.set(id, [timer]);
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
    if (this.spec.stored) await this.persist(id, 1, true, false, undefined);
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
    if (!this.states.has(w.id) && !this.interest?.listens(w.id)) return;
    if (w.t === 'batch') this.onBatch(w);
    else this.onOwner(w, w.owner);
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
  private async takeOver(dead: string): Promise<void> {
    if (this.spec.stored) {
      this.orphanSets.add(dead);
      for (const node of [...this.orphanSets]) await this.takeOverStored(node);
    }
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
    if (this.spec.stored) {
      // Stored under the new epoch first: the old owner's late writes are fenced out from now on.
      await this.persist(id, next.epoch, false, false, undefined).catch(() => {});
      await Promise.all([this.cluster.owning(to, this.key(id), true), from.owner === this.cluster.nodeId ? this.cluster.owning(from.owner, this.key(id), false) : undefined]);
    }
    const change = { id, ...next, version: this.spec.version(s) };
    if (this.interest) {
      this.cluster.tellEntity(this.key(id), JSON.stringify({ t: 'owner', ...change } satisfies EntityWire<E>));
      // The new owner may hold no replica: told directly, it reads the stored snapshot.
      if (to !== this.cluster.nodeId) this.cluster.tell(to, `${this.spec.kind}.owner`, change);
    } else {
      this.cluster.cast(`${this.spec.kind}.owner`, change);
      if (this.spec.ownerOnly && to !== this.cluster.nodeId) this.release(id);
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
