import { LobbyError } from '../errors.js';
import type { Batch, BatchAnswer, EntityWire, Moves, Posted } from './entitySpec.js';
import { movesOf, recordsOf } from './moves.js';
import { Replicas } from './replicas.js';

/** Another node's call that runs a command here; that node listens on the entity's channel for the whole call. */
export interface Caller {
  node: string;
  rid: number;
}

/**
 * The owner side of `Entities`: a command decided and applied here, the
 * entity stored (fenced by its epoch) before its batch goes out or anyone is
 * answered, the nodes of users it took in told, its timers kept, and the
 * owner's secrets read back as this node becomes the owner.
 */
export class Owning<S, C, E, R> extends Replicas<S, C, E, R> {
  /** Secrets being read for entities this node now owns (`unseal`). */
  private readonly unsealing = new Map<string, Promise<void>>();
  /** Personal events posted by the batch being committed, per entity (`post`). */
  private readonly outbox = new Map<string, Posted[]>();

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

  /** Decides and applies a command here, the owner; answered once the result is stored. */
  protected run(id: string, command: C, caller?: Caller): R | Promise<R> {
    // Held here as other nodes see it (this node just became the owner): the secrets first, from the store.
    if (this.spec.secret && this.states.has(id) && !this.whole.has(id)) {
      return this.unseal(id).then(
        () => this.run(id, command, caller),
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
    const posted = this.outbox.get(id);
    this.outbox.delete(id);
    const moves = movesOf(this.spec, before, after, d.events);
    const answer = caller && batch && this.spec.interest?.answers ? { node: caller.node, rid: caller.rid, ...(this.carries(command) && { result: d.result }) } : undefined;
    return this.persist(id, epoch, before === undefined, after === undefined, batch, moves, posted, answer).then(() => {
      this.spec.durable?.(id, d.events);
      return d.result;
    });
  }

  /** Whether a routed command's result goes to its caller (else the caller makes it from its replica: `interest.answers`). */
  protected carries(command: C): boolean {
    const answers = this.spec.interest?.answers;
    return !answers || !!answers.carried?.(command);
  }

  /**
   * Puts the stored secrets into the state held here, on a node that owns the
   * entity now (the only reader of them). One read at a time per entity: a
   * second command waits for the first read rather than reading an older one.
   */
  protected unseal(id: string): Promise<void> {
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
   * the caller is answered only once Redis holds it. A routed command's
   * `answer` goes in the batch, so the caller's node may hear it before the
   * users' records written beside the snapshot have landed (other keys,
   * maybe other shards): the snapshot is in Redis, the records follow.
   */
  protected async persist(id: string, epoch: number, born: boolean, ended: boolean, batch: Batch<E> | undefined, moves?: Moves, posted?: Posted[], answer?: BatchAnswer): Promise<void> {
    const key = this.key(id);
    const json = ended ? null : JSON.stringify(this.snapshotOf(id));
    const s = this.states.get(id);
    // Written only by a node that holds the secrets (undefined: the stored ones stay).
    const secret = !this.spec.secret ? undefined : ended || !s ? null : this.whole.has(id) ? JSON.stringify(this.spec.secret.of(s)) : undefined;
    const stored = this.cluster.store(key, epoch, json, batch && JSON.stringify({ t: 'batch', ...batch, ...(answer && { answer }) } satisfies EntityWire<E>), secret);
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
  protected async restore(): Promise<void> {
    await Promise.all(
      this.owned().map((id) => {
        // The members' records too, as if they had all just joined.
        const moves = recordsOf(this.spec, this.states.get(id)!);
        return this.persist(id, this.owners.get(id)!.epoch, true, false, undefined, moves).catch(() => {});
      }),
    );
  }

  protected schedule(id: string, afterMs: number, command: C): void {
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

  protected adoptIfMine(id: string): void {
    const s = this.states.get(id);
    if (!s || this.owners.get(id)?.owner !== this.cluster.nodeId) return;
    this.clearTimers(id);
    for (const t of this.spec.resume(s, Date.now())) this.schedule(id, t.afterMs, t.command);
  }
}
