import type { Logger } from 'pino';
import type { Cluster } from './cluster.js';
import type { Batch, EntitySpec, Owner, Snapshot } from './entitySpec.js';

/** Stored snapshots read in one round trip at a resync. */
const RESYNC_BATCH = 100;

/**
 * The replica side of `Entities`: the entities held here, their owners, and
 * how a replica follows its owner — batches applied in order, a gap or a
 * missed stretch repaired from the stored snapshot (or the owner's), a
 * snapshot installed with the batches that came while it was fetched.
 */
export class Replicas<S, C, E, R> {
  protected readonly states = new Map<string, S>();
  protected readonly owners = new Map<string, Owner>();
  protected readonly timers = new Map<string, NodeJS.Timeout[]>();
  /** Waiting for a change of an entity: each check says whether its waiter is done. */
  protected readonly waiting = new Map<string, (() => boolean)[]>();
  /** Entities whose state here carries the owner's secrets (`spec.secret`): decided on here; the others only shown. */
  protected readonly whole = new Set<string>();
  /** Snapshot fetches under way, and the batches that arrived meanwhile (applied after, those newer than it). */
  protected readonly fetches = new Map<string, { done: Promise<void>; buffered: Batch<E>[] }>();

  constructor(
    protected readonly spec: EntitySpec<S, C, E, R>,
    protected readonly cluster: Cluster,
    protected readonly log: Logger,
  ) {}

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
    await this.until(id, () => this.states.has(id), ms);
    return this.states.get(id);
  }

  /** The entity changed here: the waiters whose condition now holds are done. */
  protected arrived(id: string): void {
    const list = this.waiting.get(id);
    if (!list) return;
    const left = list.filter((check) => !check());
    if (left.length) this.waiting.set(id, left);
    else this.waiting.delete(id);
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

  /** Resolves when `cond` holds after a change of the entity here, or after `ms`. */
  protected until(id: string, cond: () => boolean, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = this.waiting.get(id) ?? [];
      const check = () => {
        if (!cond()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        const l = this.waiting.get(id);
        if (l) l.splice(l.indexOf(check), 1);
        resolve();
      }, ms);
      list.push(check);
      this.waiting.set(id, list);
    });
  }

  /** The entity's name in the cluster's keys and leases. */
  protected key(id: string): string {
    return `${this.spec.kind}:${id}`;
  }

  protected commit(id: string, before: S | undefined, events: E[], owner: Owner): S | undefined {
    // Known before the effects run: they ask who owns it (the owner alone delivers to other nodes' users).
    if (!this.owners.has(id)) this.owners.set(id, owner);
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

  protected forget(id: string): void {
    this.whole.delete(id);
    this.states.delete(id);
    this.owners.delete(id);
    this.clearTimers(id);
    this.arrived(id);
  }

  /** Nobody here needs the replica any more: it goes without a word to anyone. */
  protected drop(id: string): void {
    const before = this.states.get(id);
    if (!before || this.owners.get(id)?.owner === this.cluster.nodeId) return;
    if (this.spec.interest?.dropped) this.spec.interest.dropped(id, before);
    else this.spec.replace(id, before, undefined);
    this.whole.delete(id);
    this.states.delete(id);
    this.owners.delete(id);
    this.clearTimers(id);
  }

  /** Held by its owner alone, and owned elsewhere now: the state goes without a word (the new owner reads it from the store). */
  protected release(id: string): void {
    this.states.delete(id);
    this.whole.delete(id);
    this.clearTimers(id);
  }

  protected clearTimers(id: string): void {
    for (const t of this.timers.get(id) ?? []) clearTimeout(t);
    this.timers.delete(id);
  }

  protected snapshotOf(id: string): Snapshot<S> {
    const o = this.owners.get(id);
    const s = this.states.get(id);
    // What other nodes read: the state without the owner's secrets.
    const open = s && this.spec.secret ? this.spec.secret.open(s) : s;
    return { id, owner: o?.owner ?? this.cluster.nodeId, epoch: o?.epoch ?? 0, state: open === undefined ? null : ((this.spec.toJSON?.(open) ?? open) as S) };
  }

  protected onBatch(b: Batch<E>): void {
    const fetch = this.fetches.get(b.id);
    if (fetch) return void fetch.buffered.push(b);
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
    this.whole.delete(b.id); // another node's events: without secrets
    this.commit(b.id, before, b.events, { owner: b.owner, epoch: b.epoch });
  }

  /** A gap: the replica missed events; the owner's snapshot replaces it. */
  protected refresh(id: string, node?: string): Promise<void> {
    const under = this.fetches.get(id);
    if (under) return under.done;
    const fetch = { buffered: [] as Batch<E>[], done: Promise.resolve() };
    this.fetches.set(id, fetch);
    fetch.done = (async () => {
      try {
        const snap = (await this.fromStore(id)) ?? (node === undefined ? undefined : await this.cluster.call<Snapshot<S>>(node, `${this.spec.kind}.snapshot`, { id }));
        if (snap) this.install(snap, true);
      } catch (err) {
        this.log.warn({ kind: this.spec.kind, id, node, err: (err as Error).message }, 'snapshot fetch failed; the next resync repairs it');
      } finally {
        this.fetches.delete(id);
        // What came meanwhile: the batches older than the snapshot are seen already, the next ones apply.
        for (const b of fetch.buffered.sort((x, y) => x.from - y.from)) this.onBatch(b);
      }
    })();
    return fetch.done;
  }

  /** The stored snapshot (undefined when nothing is stored: never written). */
  protected async fromStore(id: string): Promise<Snapshot<S> | undefined> {
    const [stored] = await this.cluster.stored([this.key(id)]);
    if (!stored) return undefined;
    if (stored.value === null) return { id, owner: this.owners.get(id)?.owner ?? '', epoch: stored.epoch, state: null };
    return JSON.parse(stored.value) as Snapshot<S>;
  }

  protected install(snap: Snapshot<S>, resync = false): void {
    const known = this.owners.get(snap.id);
    // The owner no longer has it (it ended while this replica missed events): gone, whatever epoch the answer carries.
    const goneAtOwner = snap.state === null && known?.owner === snap.owner;
    if (known && snap.epoch < known.epoch && !goneAtOwner) return;
    // A claimed entity (a queue) is never gone; a snapshot without a state only says nobody has it.
    if (snap.state === null && this.spec.claimed) return void (known?.owner === snap.owner && this.owners.delete(snap.id));
    const before = this.states.get(snap.id);
    const after = snap.state === null ? undefined : this.spec.fromJSON ? this.spec.fromJSON(snap.id, snap.state) : snap.state;
    this.spec.replace(snap.id, before, after);
    this.whole.delete(snap.id); // a snapshot is stored without secrets
    if (after) (this.states.set(snap.id, after), this.owners.set(snap.id, { owner: snap.owner, epoch: snap.epoch }), this.arrived(snap.id));
    else this.forget(snap.id);
    // Sessions here saw the state before: the snapshot stands for what they missed.
    if (resync && before && (!after || this.spec.version(before) !== this.spec.version(after))) this.spec.interest?.resynced(snap.id, after);
  }

  /**
   * The subscriber connection came back (or Redis did): batches may have
   * been missed. Every entity held here is read again from its stored
   * snapshot, in bounded batches, and what changed goes to the sessions.
   */
  protected async resync(): Promise<void> {
    const ids = [...this.states.keys()].filter((id) => this.owners.get(id)?.owner !== this.cluster.nodeId);
    for (let i = 0; i < ids.length; i += RESYNC_BATCH) {
      const chunk = ids.slice(i, i + RESYNC_BATCH);
      const stored = await this.cluster.stored(chunk.map((id) => this.key(id)));
      chunk.forEach((id, j) => {
        const st = stored[j];
        if (!st) return;
        const known = this.owners.get(id);
        const snap: Snapshot<S> = st.value === null ? { id, owner: known?.owner ?? '', epoch: st.epoch, state: null } : (JSON.parse(st.value) as Snapshot<S>);
        const s = this.states.get(id);
        if (s && snap.state && known?.epoch === snap.epoch && this.spec.version(s) === (snap.state as { version?: number }).version) return;
        this.install(snap, true);
      });
    }
  }
}
