import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import type { Session } from './session.js';

/** A session on another node of the cluster. */
export interface Remote {
  node: string;
  name: string;
}

/**
 * How long a found session stays cached. Short: a session that moves on
 * is learnt at once by the node it left (session.move), and the others
 * find it again after this; an event sent to the old node meanwhile is
 * passed on from there (Delivery).
 */
const CACHE_MS = 1000;

/**
 * The session directory: on which other node a user's session is, read from
 * the user's session record in Redis (cluster/sessions.ts), never from a
 * broadcast. Each node holds only its own sessions. Lookups of one tick go
 * to Redis in one read (the cluster's TickReads) and found sessions are cached briefly, so
 * the hot paths (personal events, chat to members) do not ask Redis per
 * event; a node that goes down takes its entries with it. Users without a
 * session are not cached: a login is seen at the next lookup.
 */
export class Directory {
  private readonly cache = new Map<string, Remote & { until: number }>();
  /** Users being looked up: what a later call for them waits for (its answer never overtakes an earlier one). */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly sessions: ReadonlyMap<string, Session>,
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {
    cluster.onNodeDown((node) => {
      for (const [userId, e] of this.cache) if (e.node === node) this.cache.delete(userId);
    });
  }

  /** What a lookup knows now without asking Redis: a live other node, `null` (here, or no session), or undefined (unknown). */
  known(userId: string, now = Date.now()): Remote | null | undefined {
    if (this.sessions.has(userId)) return null;
    const e = this.cache.get(userId);
    if (e && e.until > now && this.cluster.isLive(e.node)) return e;
    return undefined;
  }

  /** A user's session went to `node` (it asked this node to let it go): cached without asking. */
  learn(userId: string, node: string, name: string): void {
    if (node !== this.cluster.nodeId) this.cache.set(userId, { node, name, until: Date.now() + CACHE_MS });
  }

  /** The user's session is here now, or ended: what was cached is wrong. */
  forget(userId: string): void {
    this.cache.delete(userId);
  }

  /**
   * Calls `fn` with the sessions of `users` on other nodes: at once when
   * every one is known, else once this tick's batch is answered. Calls for
   * one user are answered in the order made (events to them keep their order).
   */
  where(users: readonly string[], fn: (remote: Map<string, Remote>) => void): void {
    const now = Date.now();
    const unknown: string[] = [];
    for (const u of users) if (this.known(u, now) === undefined) unknown.push(u);
    const answer = () => {
      const out = new Map<string, Remote>();
      const at = Date.now();
      for (const u of users) {
        const r = this.known(u, at);
        if (r) out.set(u, r);
      }
      fn(out);
    };
    // Waits behind earlier lookups of the same users, so a later event never overtakes an earlier one.
    const waits = new Set<Promise<void>>();
    for (const u of users) {
      const w = this.inFlight.get(u);
      if (w) waits.add(w);
    }
    const fresh = unknown.filter((u) => !this.inFlight.has(u));
    // Alone, or without Redis: nobody to find (what is cached still counts).
    if (fresh.length && this.cluster.sessions.up && !this.cluster.alone) waits.add(this.lookUp(fresh));
    if (!waits.size) return answer();
    void Promise.all(waits).then(answer);
  }

  /** The sessions of `users` on other nodes. */
  locate(users: readonly string[]): Promise<Map<string, Remote>> {
    return new Promise((resolve) => this.where(users, resolve));
  }

  /** The other node holding the user's session, if one does. */
  async nodeOf(userId: string): Promise<string | undefined> {
    return (await this.locate([userId])).get(userId)?.node;
  }

  /** Whether the user has a session on this node or another (as cached: `locate` first); its display name. */
  online(userId: string): { name: string } | undefined {
    return this.sessions.get(userId) ?? this.known(userId) ?? undefined;
  }

  /** Reads the users' session records (with the rest of the tick's reads) and caches what they say. */
  private lookUp(users: string[]): Promise<void> {
    const done: Promise<void> = this.cluster.sessions
      .lookup(users)
      .then(
        (records) => {
          const until = Date.now() + CACHE_MS;
          records.forEach((r, i) => {
            const u = users[i]!;
            if (r && r.node !== this.cluster.nodeId && this.cluster.isLive(r.node)) this.cache.set(u, { node: r.node, name: r.name, until });
            else this.cache.delete(u);
          });
        },
        (err: unknown) => this.log.debug({ err: (err as Error).message, users: users.length }, 'session lookup failed; going on with what is cached'),
      )
      .finally(() => {
        for (const u of users) if (this.inFlight.get(u) === done) this.inFlight.delete(u);
      });
    for (const u of users) this.inFlight.set(u, done);
    return done;
  }
}
