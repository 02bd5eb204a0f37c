import type { TicketUpdate } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import type { Gateway } from '../gateway/gateway.js';

export interface TicketsDeps {
  log: Logger;
  gateway: Gateway;
  cluster: Cluster;
  /** The ticket of a user in a queue, as the queue's owner has it now (null: none). */
  ask(queue: string, userId: string): Promise<TicketUpdate | null>;
  /** A user here got a ticket, or lost it (presence follows; must not throw). */
  changed(userId: string): void;
}

/** How often, and how many times, a session's ticket is looked up again when its queue's owner did not answer (a takeover under way). */
const RETRY_MS = 1000;
const RETRIES = 10;

/** Statuses of a ticket still in its queue; the others end it. */
const live = (u: TicketUpdate | undefined): TicketUpdate | null => (u && (u.status === 'queued' || u.status === 'found') ? u : null);

/**
 * What a node knows of its own users' matchmaking tickets, holding no queue:
 * the last status each user here was sent. `mm.status` reaches the user's
 * node whichever node owns the queue (and passes through here: `watch`), so
 * mm.current, presence and the cancel at logout need nothing else. A session
 * that opens here while its ticket waits in a queue learns it from the
 * user's record (`{user:<id>}:queue`, written by the queue's owner as the
 * ticket comes and goes) and the owner's answer. Users of other nodes are
 * known by their records only.
 */
export class Tickets {
  /** User here → the last status of their ticket (ended ones too: a ready one names the match's game). */
  private readonly last = new Map<string, TicketUpdate>();
  /** Users here whose ticket this node knows (none counts): a status came, or their record and the queue's owner answered. */
  private readonly known = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();
  /** Users here whose last look-up failed: what a later one finds is sent to them. */
  private readonly failed = new Set<string>();
  /** Users of other nodes whose record named a queue at the last `lookUp` (presence in a friend list). */
  private readonly elsewhere = new Set<string>();

  constructor(private readonly deps: TicketsDeps) {
    deps.gateway.watch('mm.status', (userId, update) => this.noted(userId, update));
  }

  /** A status reached a user here. */
  private noted(userId: string, update: TicketUpdate): void {
    const was = live(this.last.get(userId));
    this.last.set(userId, update);
    this.known.add(userId);
    if (!was !== !live(update)) this.deps.changed(userId);
  }

  /**
   * The answer to a user's own command (enqueue, cancel, accept, decline):
   * the answer and the same status as `mm.status` travel apart, so either
   * may come first. Kept when it names a newer ticket, or ends the ticket
   * known here; never over an ended one (a ready status names the game) nor
   * over a live one (the pushed statuses keep that in order).
   */
  answered(userIds: readonly string[], update: TicketUpdate): void {
    for (const u of userIds) {
      if (!this.deps.gateway.sessions.has(u)) continue;
      const known = this.last.get(u);
      if (!known || known.ticketId !== update.ticketId || (live(known) && !live(update))) this.noted(u, update);
    }
  }

  /** A session opened here: where its ticket is, if it has one; looked up again a few times while the queue's owner does not answer. */
  opened(userId: string, retries = RETRIES): void {
    this.load(userId).catch((err: unknown) => {
      this.deps.log.warn({ userId, err: (err as Error).message, retries }, 'the ticket of a new session was not found yet');
      if (retries > 0) setTimeout(() => this.deps.gateway.sessions.has(userId) && !this.known.has(userId) && this.opened(userId, retries - 1), RETRY_MS).unref();
    });
  }

  /**
   * The user's record, then the queue's owner: their ticket now. Rejects
   * (NODE_UNAVAILABLE) when the owner does not answer; a ticket found after a
   * failed look-up goes to the session as its `mm.status` (the snapshot it
   * was shown lacked it).
   */
  private load(userId: string): Promise<void> {
    const under = this.loading.get(userId);
    if (under || this.known.has(userId)) return under ?? Promise.resolve();
    const done = (async () => {
      try {
        const queue = await this.deps.cluster.places.placeOf(userId, 'queue');
        const update = queue === undefined ? null : await this.deps.ask(queue, userId);
        if (this.known.has(userId) || !this.deps.gateway.sessions.has(userId)) return;
        this.known.add(userId);
        const retried = this.failed.delete(userId);
        if (update && retried) this.deps.gateway.toUsersHere([userId], 'mm.status', update);
        else if (update) this.noted(userId, update);
      } catch (err) {
        this.failed.add(userId);
        throw err;
      } finally {
        this.loading.delete(userId);
      }
    })();
    this.loading.set(userId, done);
    return done;
  }

  /** The user's session went elsewhere or ended: its statuses go there. */
  forget(userId: string): void {
    this.last.delete(userId);
    this.known.delete(userId);
    this.failed.delete(userId);
  }

  /** The ticket of a user here (null when none), looked up first when this node does not know it yet: NODE_UNAVAILABLE when that fails. */
  async current(userId: string): Promise<TicketUpdate | null> {
    if (!this.known.has(userId) && this.deps.gateway.sessions.has(userId)) await this.load(userId);
    return live(this.last.get(userId));
  }

  /** As `current`, null when the look-up fails (a snapshot: the ticket follows as mm.status once found). */
  currentOrNull(userId: string): Promise<TicketUpdate | null> {
    return this.current(userId).catch(() => null);
  }

  /** The queue of a user here (undefined: no ticket, as far as this node knows now). */
  queueOf(userId: string): string | undefined {
    return live(this.last.get(userId))?.queue;
  }

  /** The game the user's last ticket was matched into, if it was. */
  matchGameOf(userId: string): string | undefined {
    const u = this.last.get(userId);
    return u?.status === 'ready' ? u.gameId : undefined;
  }

  /** A user here by the statuses seen; a user of another node by the last `lookUp` (presence). */
  inQueue(userId: string): boolean {
    return this.deps.gateway.sessions.has(userId) ? this.queueOf(userId) !== undefined : this.elsewhere.has(userId);
  }

  /** Reads the queue records of users of other nodes (one round trip), for `inQueue`. */
  async lookUp(users: readonly string[]): Promise<void> {
    await this.deps.cluster.places.note(users, 'queue', this.elsewhere);
  }

  /** The first of these users who has a ticket: those here by their statuses, the others by their records. */
  async firstQueued(userIds: readonly string[]): Promise<string | undefined> {
    const here = userIds.filter((u) => this.deps.gateway.sessions.has(u));
    const away = userIds.filter((u) => !this.deps.gateway.sessions.has(u));
    // Looked up together: a ticket this node does not know yet and the records of the others, one round trip.
    const [tickets, places] = await Promise.all([Promise.all(here.map((u) => this.current(u))), this.deps.cluster.places.placesOf(away, 'queue')]);
    return here.find((_, i) => tickets[i] !== null) ?? away.find((_, i) => places[i] !== undefined);
  }

  /** The queues named by these users' records (a game's team changed: its ticket may be in one of them). */
  async queuesOf(userIds: readonly string[]): Promise<Set<string>> {
    const places = await this.deps.cluster.places.placesOf(userIds, 'queue');
    return new Set(places.filter((q): q is string => q !== undefined));
  }
}
