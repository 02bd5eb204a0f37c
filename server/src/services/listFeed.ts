import type { GameSummary } from '@foyer/shared';
import type { Logger } from 'pino';
import { BusDown, type Bus } from '../cluster/bus.js';
import type { Names } from '../cluster/names.js';
import { summaryOf, type GameState } from '../domain/game/index.js';
import { LIST_SHARDS, ListBook, decodeListing, encodeListing, headOf, sameListing, shardOf, supersedes, type Listing } from '../domain/gameList/feed.js';
import type { GameList } from '../domain/gameList/index.js';

export interface ListFeedDeps {
  bus: Bus;
  names: Names;
  nodeId: string;
  log: Logger;
  list: GameList;
  /** A game as this node holds it (undefined: not held here, or gone). */
  state(id: string): GameState | undefined;
  /** Who owns a game, as this node knows it, with the owner's fencing epoch. */
  ownership(id: string): { owner: string; epoch: number } | undefined;
  /** The games this node owns. */
  owned(): string[];
  isLive(node: string): boolean;
  /** The node that takes a dead owner's game over (rendezvous hashing, the same on every node). */
  successor(key: string): string | undefined;
  /** A listing changed this node's list: the list and its streams' subscribers follow (`after` undefined: removed). */
  apply(before: GameSummary | undefined, after: GameSummary | undefined, id: string): void;
  /** How long after an owner died its successor waits for the takeover before it removes that owner's games still listed and held nowhere. */
  orphanGraceMs: number;
  /** Runs `fn` once this turn of the event loop is done (default: setImmediate). */
  defer?: (fn: () => void) => void;
  now?: () => number;
}

/** Stored listings read per page when a node catches up (HSCAN COUNT): bounded, whatever the number of games. */
const PAGE = 200;

/** What the owner knew when a game changed: a game that ended has no owner record left at flush time. */
interface Hint {
  epoch: number;
  version: number;
}

/**
 * The game list's feed between nodes. The owner of a game (only it) turns
 * the game's changes into one listing per turn of the event loop (many
 * batches of one game, one listing), skips those that change nothing the
 * list shows, applies the listing to its own list and stores and publishes
 * it on the game's list channel (LIST_SHARDS of them, hash-tagged apart so
 * they spread over a Redis Cluster's shards). Every node subscribes to every
 * list channel and applies what it hears by the rule of feed.ts; a node that
 * starts or whose bus came back reads the stored listings a page at a time.
 * Only listings travel here: no other game state.
 */
export class ListFeed {
  private readonly book: ListBook;
  private dirty = new Map<string, Hint | undefined>();
  private scheduled = false;
  /** Raised by every catch-up: what was heard of since is not removed by it. */
  private gen = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly deps: ListFeedDeps) {
    this.book = new ListBook(deps.now ?? Date.now);
    this.defer = deps.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Subscribes to every list channel (before the cluster joins: a catch-up must not miss what is published meanwhile). */
  async start(): Promise<void> {
    const { bus, names } = this.deps;
    await Promise.all(Array.from({ length: LIST_SHARDS }, (_, n) => bus.subscribe(names.listChannel(n), (m) => this.receive(m))));
  }

  stop(): void {
    clearTimeout(this.sweepTimer);
  }

  /**
   * A game changed here (a batch applied, or its ownership came here); `version` is its version now (for one
   * that ended: one past the last). Its owner lists it anew once this turn is done; other nodes ignore it.
   */
  changed(id: string, version: number): void {
    const o = this.deps.ownership(id);
    if (o && o.owner !== this.deps.nodeId) return;
    // A new game has no owner record until its first batch is committed: decided at flush.
    this.dirty.set(id, o ? { epoch: o.epoch, version } : this.dirty.get(id));
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.flush());
  }

  /** Lists every game changed since the last flush (normally deferred; at once for a caller that must see the list now). */
  flush(): void {
    for (const put of this.flushSome()) put.catch((err: unknown) => this.putFailed(err));
  }

  private flushSome(force?: ReadonlySet<string>): Promise<unknown>[] {
    const dirty = this.dirty;
    this.dirty = new Map();
    this.scheduled = false;
    for (const id of force ?? []) if (!dirty.has(id)) dirty.set(id, undefined);
    const puts: Promise<unknown>[] = [];
    for (const [id, hint] of dirty) {
      const o = this.deps.ownership(id) ?? (hint && { owner: this.deps.nodeId, epoch: hint.epoch });
      if (o?.owner !== this.deps.nodeId) continue;
      const s = this.deps.state(id);
      const game = s && !s.hidden ? summaryOf(s) : null;
      const known = this.book.get(id);
      // Never listed (or removed already): nothing to remove. Listed the same: nothing to say (a rejoin says it again).
      if (!game && (!known || known.removed)) continue;
      if (game && !force?.has(id) && known?.epoch === o.epoch && !known.removed && sameListing(this.deps.list.get(id), game)) continue;
      const version = s?.version ?? hint?.version ?? (known ? known.version + 1 : 0);
      if (known && known.epoch < o.epoch && known.version > version) {
        // A takeover rebuilt the game from a state older than its dead owner listed: the later change is lost, loudly.
        this.deps.log.warn({ id, epoch: o.epoch, version, listed: known.version }, 'game list: the new owner lists an older version than the last owner did');
      }
      const put = this.publish({ id, owner: this.deps.nodeId, epoch: o.epoch, version, game }, force?.has(id));
      if (put) puts.push(put);
    }
    return puts;
  }

  /** Applies a listing here and stores and publishes it; undefined when it changes nothing (unless `again`: Redis may have lost it). */
  private publish(l: Listing, again = false): Promise<boolean> | undefined {
    const message = encodeListing(l);
    if (!this.take(l, this.gen) && !again) return undefined;
    const n = shardOf(l.id);
    try {
      return this.deps.bus.putNewer(this.deps.names.listShard(n), l.id, message, !l.game, this.deps.names.listChannel(n));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private putFailed(err: unknown): void {
    // While the bus is down nobody hears it: this node lists its games again when it is back (catchUp).
    if (!(err instanceof BusDown)) this.deps.log.warn({ err }, 'game list: storing a listing failed');
  }

  /** A listing from a list channel (this node's own come back too: the stamp alone says so, without parsing). */
  private receive(message: string): void {
    const head = headOf(message);
    const known = head && this.book.get(head.id);
    if (head && known && !supersedes(head, head.removes, known)) {
      known.gen = this.gen;
      return;
    }
    const l = decodeListing(message);
    if (!l) return this.deps.log.warn({ message: message.slice(0, 120) }, 'game list: unreadable listing');
    this.take(l, this.gen);
  }

  /** The book and the list follow a listing that supersedes what is known. */
  private take(l: Listing, gen: number): boolean {
    if (!this.book.accept({ ...l, removes: !l.game }, gen)) return false;
    this.deps.apply(this.deps.list.get(l.id), l.game ?? undefined, l.id);
    return true;
  }

  /**
   * The node (re)joined: Redis may have missed this node's listings while it
   * was away (or lost everything in a restart), and this node may have missed
   * anyone's. First this node stores every listing it owns again, then it
   * reads every list shard a page at a time: a listed game that no shard
   * holds and that nobody spoke of since the reading began is gone (after a
   * Redis restart, until its owner lists it again: every owner does at its
   * own rejoin, and that listing is taken whenever it comes). Last, what
   * is listed as this node's and it does not hold (it ended while Redis was
   * away; this node restarted under the same id) is removed.
   */
  async catchUp(): Promise<void> {
    await Promise.all(this.flushSome(new Set(this.deps.owned())));
    const since = ++this.gen;
    for (let n = 0; n < LIST_SHARDS; n++) {
      const seen = new Set<string>();
      let cursor = '0';
      do {
        const page = await this.deps.bus.scanHash(this.deps.names.listShard(n), cursor, PAGE);
        cursor = page.cursor;
        for (const [id, message] of page.entries) {
          seen.add(id);
          this.receive(message);
        }
      } while (cursor !== '0');
      for (const id of this.book.unseen(n, seen, since)) {
        this.book.forget(id);
        this.deps.apply(this.deps.list.get(id), undefined, id);
      }
    }
    for (const [id, k] of this.book.listed()) {
      if (k.owner === this.deps.nodeId && !this.deps.ownership(id) && !this.deps.state(id)) this.dirty.set(id, { epoch: k.epoch, version: k.version + 1 });
    }
    await Promise.all(this.flushSome());
    this.sweepSoon();
  }

  /** An owner died (or a catch-up found games listed by nodes not alive): their successors clean up after a grace. */
  sweepSoon(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
    }, this.deps.orphanGraceMs);
    this.sweepTimer.unref();
  }

  /**
   * Games still listed by a dead owner, of which this node is the successor:
   * taken over here, listed anew; held nowhere after the grace, removed (a
   * tombstone at the dead owner's stamp: it beats that owner's listings, and
   * a later takeover, with a higher epoch, beats it).
   */
  sweep(): void {
    const { nodeId: me, isLive, successor, ownership } = this.deps;
    const orphans: Listing[] = [];
    for (const [id, k] of this.book.listed()) {
      if (isLive(k.owner) || successor(`game:${id}`) !== me) continue;
      const o = ownership(id);
      if (o && isLive(o.owner)) {
        if (o.owner === me) this.changed(id, this.deps.state(id)?.version ?? k.version);
        continue;
      }
      if (this.deps.state(id)) continue; // held here: its takeover is the entities' business
      orphans.push({ id, owner: k.owner, epoch: k.epoch, version: k.version, game: null });
    }
    for (const l of orphans) {
      this.deps.log.info({ id: l.id, owner: l.owner }, 'game list: a dead owner\'s game is gone; removed');
      this.publish(l)?.catch((err: unknown) => this.putFailed(err));
    }
  }
}
