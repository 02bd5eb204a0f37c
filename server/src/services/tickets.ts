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
  private readonly loading = new Map<string, Promise<void>>();
  /** Users of other nodes whose record named a queue at the last `lookUp` (presence in a friend list). */
  private readonly elsewhere = new Set<string>();

  constructor(private readonly deps: TicketsDeps) {
    deps.gateway.watch('mm.status', (userId, update) => this.noted(userId, update));
  }

  /** A status reached a user here. */
  private noted(userId: string, update: TicketUpdate): void {
    const was = live(this.last.get(userId));
    this.last.set(userId, update);
    if (!was !== !live(update)) this.deps.changed(userId);
  }

  /**
   * The answer to the user's own enqueue: kept unless a status of that
   * ticket came first (the answer and the status travel apart: either may
   * be first, and the status is never older).
   */
  answered(userIds: readonly string[], update: TicketUpdate): void {
    for (const u of userIds) if (this.deps.gateway.sessions.has(u) && this.last.get(u)?.ticketId !== update.ticketId) this.noted(u, update);
  }

  /** A session opened here: where its ticket is, if it has one (the user's record, then the queue's owner). */
  load(userId: string): Promise<void> {
    const under = this.loading.get(userId);
    if (under || this.last.has(userId)) return under ?? Promise.resolve();
    const done = (async () => {
      try {
        const queue = await this.deps.cluster.placeOf(userId, 'queue');
        const update = queue === undefined ? null : await this.deps.ask(queue, userId);
        if (update && !this.last.has(userId) && this.deps.gateway.sessions.has(userId)) this.noted(userId, update);
      } catch (err) {
        this.deps.log.warn({ userId, err: (err as Error).message }, 'the ticket of a new session was not found');
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
  }

  /** The ticket of a user here, once its load (if any) is done; null when none. */
  async current(userId: string): Promise<TicketUpdate | null> {
    await this.loading.get(userId);
    return live(this.last.get(userId));
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
    const places = await this.deps.cluster.placesOf(users, 'queue');
    users.forEach((u, i) => (places[i] ? this.elsewhere.add(u) : this.elsewhere.delete(u)));
  }

  /** The first of these users who has a ticket: those here by their statuses, the others by their records. */
  async firstQueued(userIds: readonly string[]): Promise<string | undefined> {
    const away: string[] = [];
    for (const u of userIds) {
      if (!this.deps.gateway.sessions.has(u)) away.push(u);
      else if ((await this.current(u)) !== null) return u;
    }
    const places = await this.deps.cluster.placesOf(away, 'queue');
    return away.find((_, i) => places[i] !== undefined);
  }

  /** The queues named by these users' records (a game's team changed: its ticket may be in one of them). */
  async queuesOf(userIds: readonly string[]): Promise<Set<string>> {
    const places = await this.deps.cluster.placesOf(userIds, 'queue');
    return new Set(places.filter((q): q is string => q !== undefined));
  }
}
