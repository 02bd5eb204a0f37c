import { createHash } from 'node:crypto';
import type { ErrorCode } from '@foyer/shared';
import type { Logger } from 'pino';
import { LobbyError } from '../errors.js';
import { BusDown, readStored, type Bus } from './bus.js';
import { Membership, type MemberChanges, type Peer } from './membership.js';
import { Names } from './names.js';
import { SessionRecords } from './sessions.js';
import { TickReads } from './tickReads.js';
import { PlaceRecords } from './placeRecords.js';

export interface ClusterOptions {
  nodeId: string;
  /** Prefix of every key and channel. */
  prefix: string;
  /** How often the node polls the member set (membership.ts). */
  heartbeatMs: number;
  /** A node that has not polled for this long is dead. */
  timeoutMs: number;
  /** How long a routed call waits for its answer. */
  callTimeoutMs: number;
}

/**
 * What a part of the lobby contributes to a resync: everything it owns, as
 * plain JSON, and how to take in another node's.
 */
export interface Syncable {
  export(): unknown;
  import(from: string, data: unknown): void;
}

type Wire =
  // News of a node's entry in the member set, cast only when it changes: it (re)joined (hello: the others sync
  // from it) or drains. The member set tells it too, within a heartbeat; this is sooner.
  | { t: 'member'; from: string; draining?: true; hello?: true }
  | { t: 'bye'; from: string }
  | { t: 'cast'; from: string; kind: string; body: unknown }
  | { t: 'req'; from: string; rid: number; kind: string; body: unknown }
  | { t: 'res'; from: string; rid: number; body?: unknown; error?: { code: ErrorCode; message: string } };

type Handler = (body: never, from: string, rid: number) => unknown;

/** A call of this node's waiting for its answer. */
interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  node: string;
}

/**
 * A node's view of the cluster: which nodes are alive (membership.ts: the
 * member set in Redis, polled every heartbeat), routed calls to one node
 * with a deadline, casts to all, leases with a fencing epoch, the session
 * records (sessions.ts), and the resync that makes a node ready. Alone (no peers), every call is local and every cast goes nowhere:
 * the lobby runs the same code either way.
 */
export class Cluster {
  readonly nodeId: string;
  /** The cluster's key and channel names (the game list feed has channels of its own). */
  readonly names: Names;
  private readonly membership: Membership;
  private readonly handlers = new Map<string, Handler>();
  private readonly castHandlers = new Map<string, ((body: never, from: string) => void)[]>();
  private readonly pending = new Map<number, Pending>();
  private readonly syncables = new Map<string, Syncable>();
  private readonly downListeners: ((node: string) => void)[] = [];
  private readonly rejoinTasks: (() => Promise<void>)[] = [];
  /** The syncs from other nodes under way: a rejoin waits for those its own poll started instead of asking twice. */
  private readonly syncs = new Map<string, Promise<void>>();
  /** The per-user session records (one session per account; the directory). */
  readonly sessions: SessionRecords;
  /** Reads of users' records, a tick's in one round trip (a login's game, party, invites and queue; the directory's lookups). */
  private readonly reads: TickReads;
  /** The records of each user's game, party and invites. */
  readonly places: PlaceRecords;
  /** Casts and calls received from other nodes, by kind (foyer_cluster_messages_total): what a node is sent, and for what. */
  readonly received = new Map<string, number>();
  private rid = 0;
  private timer: NodeJS.Timeout | undefined;
  private synced = false;
  private syncing: Promise<void> | undefined;
  private draining = false;
  private stopped = false;

  constructor(
    /** Shared with what keeps its own channels and keys beside the cluster's (the game list feed). */
    readonly bus: Bus,
    private readonly opts: ClusterOptions,
    private readonly log: Logger,
  ) {
    this.nodeId = opts.nodeId;
    this.names = new Names(opts.prefix);
    this.reads = new TickReads(bus);
    this.sessions = new SessionRecords(bus, this.names, this.nodeId, (node) => this.isLive(node), log, this.reads);
    this.places = new PlaceRecords(bus, this.names, () => this.quiet, log, this.reads);
    this.membership = new Membership(bus, this.names, this.nodeId, opts.timeoutMs, log, (changes, source) => this.onMembers(changes, source));
    this.handle('cluster.sync', () => Object.fromEntries([...this.syncables].map(([name, s]) => [name, s.export()])));
  }

  /** Subscribes, learns the other nodes, resyncs from them, and keeps polling the member set. */
  async start(): Promise<void> {
    await this.bus.subscribe(this.names.broadcast, (m) => this.onMessage(m));
    await this.bus.subscribe(this.names.node(this.nodeId), (m) => this.onMessage(m));
    this.bus.onStatus((up) => (up ? void this.rejoin() : this.onBusDown()));
    this.timer = setInterval(() => void this.membership.poll(), this.opts.heartbeatMs);
    this.timer.unref();
    if (this.bus.up) await this.rejoin();
  }

  /** Ready to serve as part of the cluster: bus up, state synced, not draining. */
  get ready(): boolean {
    return this.bus.up && this.synced && !this.draining;
  }

  get busUp(): boolean {
    return this.bus.up;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** No other live node (a check on hot paths: `nodes()` makes an array). */
  get alone(): boolean {
    return this.peers.size === 0;
  }

  /** Nobody else could read a record or hear a message now: no other live node, and none on this bus's channels. */
  private get quiet(): boolean {
    return this.alone && !!this.bus.alone?.(this.names.broadcast);
  }

  private get peers(): ReadonlyMap<string, Peer> {
    return this.membership.peers;
  }

  /** Live nodes, this one included. */
  nodes(): string[] {
    return [this.nodeId, ...this.peers.keys()];
  }

  /** The other live nodes as membership sees them: draining, and when they were last known alive (admin views). */
  peerInfo(): { id: string; draining: boolean; lastSeen: number }[] {
    return [...this.peers].map(([id, p]) => ({ id, draining: p.draining, lastSeen: p.lastSeen }));
  }

  isLive(node: string): boolean {
    return node === this.nodeId || this.peers.has(node);
  }

  /** Where `key` goes among the live nodes that take work (rendezvous hashing: every node computes the same). */
  successor(key: string): string | undefined {
    const eligible = [...(this.draining ? [] : [this.nodeId]), ...[...this.peers].filter(([, p]) => !p.draining).map(([id]) => id)];
    let best: string | undefined;
    let bestScore = '';
    for (const node of eligible) {
      const score = createHash('sha1').update(`${key}\n${node}`).digest('hex');
      if (score > bestScore) (best = node), (bestScore = score);
    }
    return best;
  }

  syncable(name: string, s: Syncable): void {
    this.syncables.set(name, s);
  }

  /** Runs at every (re)join, after the others' state is in and before the node reports ready (Redis may have lost what it held). */
  onRejoin(fn: () => Promise<void>): void {
    this.rejoinTasks.push(fn);
  }

  onNodeDown(fn: (node: string) => void): void {
    this.downListeners.push(fn);
  }

  /** Answers calls of `kind` from other nodes (and from this one, through `call`). */
  handle<B>(kind: string, fn: (body: B, from: string, rid: number) => unknown): void {
    this.handlers.set(kind, fn as Handler);
  }

  onCast<B>(kind: string, fn: (body: B, from: string) => void): void {
    const list = this.castHandlers.get(kind) ?? [];
    list.push(fn as (body: never, from: string) => void);
    this.castHandlers.set(kind, list);
  }

  /**
   * Runs `kind` on `node` and returns its answer; a LobbyError there is a
   * LobbyError here. An unknown or dead node, a bus that is down, or no
   * answer in time is NODE_UNAVAILABLE.
   */
  async call<T>(node: string, kind: string, body: unknown): Promise<T> {
    if (node === this.nodeId) {
      const fn = this.handlers.get(kind);
      if (!fn) throw new Error(`no cluster handler for ${kind}`);
      return (await fn(body as never, this.nodeId, 0)) as T;
    }
    if (!this.peers.has(node)) throw unavailable(`node ${node} is not in the cluster`);
    const rid = ++this.rid;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(unavailable(`node ${node} did not answer in time`));
      }, this.opts.callTimeoutMs);
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer, node });
      try {
        this.send(this.names.node(node), { t: 'req', from: this.nodeId, rid, kind, body });
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(rid);
        reject(err);
      }
    });
  }

  /**
   * Settles this node's call `rid` to `node` with `body`, as its reply would:
   * the answer came another way (an entity's batch on a channel this node
   * listens to carried it, a hop sooner than the reply). No-op when the call
   * is settled already or was not to `node`: the later of the two is dropped.
   */
  settle(rid: number, node: string, body: unknown): void {
    if (this.pending.get(rid)?.node === node) this.take(rid)!.resolve(body);
  }

  /** To every other node; dropped while the bus is down (a resync follows its return). */
  cast(kind: string, body: unknown): void {
    // Alone on an in-process bus: nobody to hear it, so it is not even encoded (the node itself would only drop it).
    if (this.alone && (!this.bus.up || this.bus.alone?.(this.names.broadcast))) return;
    try {
      this.send(this.names.broadcast, { t: 'cast', from: this.nodeId, kind, body });
    } catch (err) {
      if (!(err instanceof LobbyError)) throw err;
    }
  }

  /** To one node, unanswered. */
  tell(node: string, kind: string, body: unknown): void {
    if (node === this.nodeId) return void this.castHandlers.get(kind)?.forEach((fn) => fn(body as never, node));
    try {
      this.send(this.names.node(node), { t: 'cast', from: this.nodeId, kind, body });
    } catch (err) {
      if (!(err instanceof LobbyError)) throw err;
    }
  }

  /**
   * Moves the lease of `key` from `from` to `to` (owner and fencing epoch).
   * A lease never written (the creator owns by birth) or lost with a Redis
   * restart counts as held by whoever the caller believes holds it.
   */
  async lease(key: string, from: { owner: string; epoch: number }, to: { owner: string; epoch: number }): Promise<boolean> {
    const k = this.names.lease(key);
    const next = `${to.owner}:${to.epoch}`;
    try {
      // A day: an entity lives no longer without being taken over or renewed, and stale keys expire.
      return (await this.bus.cas(k, `${from.owner}:${from.epoch}`, next, 86_400_000)) || (await this.bus.cas(k, null, next, 86_400_000));
    } catch (err) {
      if (err instanceof BusDown) return this.alone; // nobody can disagree
      throw err;
    }
  }

  /**
   * Stores an entity's snapshot (`game:<id>`) under its owner's fencing
   * epoch (null: it ended), and sends `message` on the entity's own
   * channel in the same step, and its owner-only `secret` (null: deleted)
   * in a key of its own beside it. False
   * when an owner with a higher epoch fenced this one out. Alone on an
   * in-process bus there is nobody to take over: nothing is written. While
   * Redis is down nothing can be written either; the node serves what it
   * owns and stores it all again at its rejoin.
   */
  async store(entity: string, epoch: number, json: string | null, message?: string, secret?: string | null): Promise<boolean> {
    if (this.quiet) return true;
    try {
      const publish = message === undefined ? undefined : { channel: this.names.entity(entity), message };
      return await this.bus.store(this.names.snapshot(entity), epoch, json, publish, secret === undefined ? undefined : { key: this.names.secret(entity), value: secret });
    } catch (err) {
      if (err instanceof BusDown || (err instanceof Error && /Connection|connect|ECONN|closed|writeable/i.test(err.message))) return true;
      throw err;
    }
  }

  /** Listens on an entity's own channel (a node with interest in it); resolves once subscribed. */
  listen(entity: string, fn: (message: string) => void): Promise<void> {
    return this.bus.subscribe(this.names.entity(entity), fn);
  }

  unlisten(entity: string): Promise<void> {
    return this.bus.unsubscribe(this.names.entity(entity));
  }

  /** On an entity's own channel, outside a store (an ownership change); dropped while the bus is down. */
  tellEntity(entity: string, message: string): void {
    if (this.quiet) return;
    try {
      this.bus.publish(this.names.entity(entity), message);
    } catch (err) {
      if (!(err instanceof BusDown)) throw err;
    }
  }

  /** How long a routed call may take: what a caller waits for the events its answer promises. */
  get callTimeoutMs(): number {
    return this.opts.callTimeoutMs;
  }

  /** The stored snapshots of `entities` (undefined: none stored; value null: it ended), in one round trip. */
  async stored(entities: readonly string[]): Promise<({ epoch: number; value: string | null } | undefined)[]> {
    const raws = await this.bus.getMany(entities.map((e) => this.names.snapshot(e)));
    return raws.map(readStored);
  }

  /** An entity's owner-only secret (`store`), for a node that becomes its owner: null when none is stored. */
  async secretOf(entity: string): Promise<string | null> {
    return this.bus.get(this.names.secret(entity));
  }

  /** Records that `node` owns (`owns` true) or no longer owns `entity`: a dead node's successors learn its entities from this set. */
  async owning(node: string, entity: string, owns: boolean): Promise<void> {
    if (this.quiet) return;
    try {
      await (owns ? this.bus.setAdd(this.names.owns(node), entity) : this.bus.setRemove(this.names.owns(node), entity));
    } catch (err) {
      if (!(err instanceof BusDown)) this.log.warn({ err: (err as Error).message, node, entity }, 'owner set not updated');
    }
  }

  /** The entities `node` owned, as recorded (a dead node's, to take over). */
  ownedBy(node: string): Promise<string[]> {
    return this.bus.setMembers(this.names.owns(node));
  }

  /** Draining: the node takes no new work; others stop choosing it as a successor. */
  startDraining(): void {
    this.draining = true;
    void this.membership.drain();
    this.news();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    try {
      // Membership goes first: a node starting now must not wait for this one.
      if (this.bus.up) await this.membership.leave();
    } catch {
      // it expires
    }
    try {
      if (this.bus.up) this.send(this.names.broadcast, { t: 'bye', from: this.nodeId });
    } catch {
      // leaving anyway; the others see the entry expire
    }
    for (const p of this.pending.values()) (clearTimeout(p.timer), p.reject(unavailable('this node is stopping')));
    this.pending.clear();
    await this.bus.close();
  }

  // ------------------------------------------------------------------ internals

  /** A call of this node's that is waiting, taken out of the waiting ones (its answer came). */
  private take(rid: number): Pending | undefined {
    const p = this.pending.get(rid);
    if (!p) return undefined;
    this.pending.delete(rid);
    clearTimeout(p.timer);
    return p;
  }

  private send(channel: string, w: Wire): void {
    try {
      this.bus.publish(channel, JSON.stringify(w));
    } catch (err) {
      if (err instanceof BusDown) throw unavailable('the cluster bus (Redis) is down');
      throw err;
    }
  }

  /** News of this node's entry, on the broadcast channel (rare: a (re)join or a drain). */
  private news(hello = false): void {
    try {
      this.send(this.names.broadcast, { t: 'member', from: this.nodeId, ...(this.draining && { draining: true as const }), ...(hello && { hello: true as const }) });
    } catch {
      // down again; the next connect says hello
    }
  }

  private onMembers({ joined, gone }: MemberChanges, source: 'member set' | 'news'): void {
    for (const node of joined) {
      this.log.info({ node, source }, 'node joined the cluster');
      // A node new in the set may hold state this one lacks (it may be one that came back): as after a hello.
      if (source === 'member set') void this.syncFrom(node);
    }
    for (const node of gone) this.nodeDown(node, 'gone from the member set');
  }

  /** `node` is out of the membership: calls to it fail, and the listeners take over what it had. */
  private nodeDown(node: string, why: string): void {
    this.log.warn({ node, why }, 'node left the cluster');
    for (const [rid, p] of this.pending) if (p.node === node) (clearTimeout(p.timer), this.pending.delete(rid), p.reject(unavailable(`node ${node} left the cluster`)));
    for (const fn of this.downListeners) {
      try {
        fn(node);
      } catch (err) {
        this.log.error({ err, node }, 'node-down handler failed');
      }
    }
  }

  private onBusDown(): void {
    this.synced = false;
    this.membership.failed();
    this.log.warn('cluster bus down: serving what this node owns, refusing what needs others');
    for (const [rid, p] of this.pending) (clearTimeout(p.timer), this.pending.delete(rid), p.reject(unavailable('the cluster bus (Redis) is down')));
  }

  /** (Re)joined: learn who is there, say hello, take in everyone's state, then report ready. */
  private rejoin(): Promise<void> {
    return (this.syncing ??= (async () => {
      try {
        if (!(await this.membership.poll())) throw new Error('the member set could not be polled');
        this.news(true);
        await Promise.all([...this.peers.keys()].map((node) => this.syncs.get(node) ?? this.syncFrom(node)));
        for (const task of this.rejoinTasks) await task();
        this.synced = this.bus.up;
        if (this.synced) this.log.info({ nodes: this.nodes() }, 'cluster joined and synced');
      } catch (err) {
        this.log.warn({ err }, 'cluster resync failed; retrying');
        setTimeout(() => this.bus.up && void this.rejoin(), 200).unref();
      } finally {
        this.syncing = undefined;
      }
    })());
  }

  /** Takes in `node`'s state (the syncs under way are kept: a rejoin waits for those its own poll started). */
  private syncFrom(node: string): Promise<void> {
    const sync = this.syncOnce(node).finally(() => this.syncs.get(node) === sync && this.syncs.delete(node));
    this.syncs.set(node, sync);
    return sync;
  }

  private async syncOnce(node: string): Promise<void> {
    let data: Record<string, unknown>;
    try {
      data = await this.call<Record<string, unknown>>(node, 'cluster.sync', null);
    } catch (err) {
      this.log.warn({ node, err: (err as Error).message }, 'no state from node; it may be gone');
      return;
    }
    for (const [name, s] of this.syncables) {
      try {
        s.import(node, data[name]);
      } catch (err) {
        this.log.error({ err, node, name }, 'importing a node\'s state failed');
      }
    }
  }

  private onMessage(raw: string): void {
    let w: Wire;
    try {
      w = JSON.parse(raw) as Wire;
    } catch {
      return this.log.warn('unreadable cluster message');
    }
    if (w.from === this.nodeId) return;
    if (w.t === 'bye') return void (this.membership.left(w.from) && this.nodeDown(w.from, 'left'));
    const known = this.peers.has(w.from);
    this.membership.heard(w.from, w.t === 'member' ? !!w.draining : undefined);
    if (w.t === 'cast' || w.t === 'req') this.received.set(w.kind, (this.received.get(w.kind) ?? 0) + 1);
    switch (w.t) {
      case 'member':
        // A node that rejoined may have changed while we could not hear it.
        if (w.hello && known) void this.syncFrom(w.from);
        return;
      case 'cast':
        for (const fn of this.castHandlers.get(w.kind) ?? []) {
          try {
            fn(w.body as never, w.from);
          } catch (err) {
            this.log.error({ err, kind: w.kind }, 'cluster cast handler failed');
          }
        }
        return;
      case 'req':
        return void this.answer(w);
      case 'res': {
        const p = this.take(w.rid);
        if (!p) return;
        if (w.error) p.reject(new LobbyError(w.error.code, w.error.message));
        else p.resolve(w.body);
      }
    }
  }

  private async answer(w: Extract<Wire, { t: 'req' }>): Promise<void> {
    let res: Extract<Wire, { t: 'res' }>;
    try {
      const fn = this.handlers.get(w.kind);
      if (!fn) throw new Error(`no cluster handler for ${w.kind}`);
      res = { t: 'res', from: this.nodeId, rid: w.rid, body: await fn(w.body as never, w.from, w.rid) };
    } catch (err) {
      if (!(err instanceof LobbyError)) this.log.error({ err, kind: w.kind }, 'cluster call failed');
      const error = err instanceof LobbyError ? { code: err.code, message: err.message } : { code: 'INTERNAL' as const, message: 'internal error on another node; it was logged there' };
      res = { t: 'res', from: this.nodeId, rid: w.rid, error };
    }
    try {
      this.send(this.names.node(w.from), res);
    } catch {
      // the caller times out
    }
  }
}

export function unavailable(message: string): LobbyError {
  return new LobbyError('NODE_UNAVAILABLE', message);
}
