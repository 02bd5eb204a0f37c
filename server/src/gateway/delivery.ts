import type { EventData, EventName } from '@foyer/shared';
import type { Metrics } from '../admin/metrics.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Directory } from './directory.js';
import type { Session } from './session.js';
import { StreamHub, userStream } from './streams.js';

/** What a live connection does after frames reached it: cut a slow reader off. */
interface Checked {
  checkSlow(): void;
}

const checkSlow = (s: Session) => (s.link as Checked | undefined)?.checkSlow();

/**
 * Events to streams. Games and parties are held by the nodes that need them, so each
 * node publishes their events itself, from its own effects (`publish`).
 * Personal events go to the node holding the user's session, which publishes
 * them on `user:<id>`; chat lines are published here and on the nodes holding
 * the other members' sessions.
 */
export class Delivery {
  readonly hub: StreamHub;
  /** Per personal event, who on this node follows it as it reaches a user here (`watch`). */
  private readonly watchers = new Map<EventName, (userId: string, data: unknown) => void>();

  constructor(
    private readonly sessions: ReadonlyMap<string, Session>,
    private readonly directory: Directory,
    private readonly cluster: Cluster,
    metrics: Metrics,
    history: { events: number; bytes: number },
  ) {
    this.hub = new StreamHub(history, (stream) => stream.forEachSession(checkSlow), sessions);
    // Counted per frame in a plain number, added to the metric when it is read.
    const events = metrics.events as typeof metrics.events & { collect?: () => void };
    events.collect = () => {
      const n = this.hub.takeDelivered();
      if (n) events.inc(n);
    };
    cluster.onCast<{ users?: string[]; ev: EventName; data: unknown; passed?: true }>('user.event', ({ users, ev, data, passed }) => {
      const encoded = JSON.stringify(data);
      if (!users) return this.everyoneHere(ev, encoded);
      const gone = this.here(users, ev, data, () => encoded);
      // Sent here from a cached lookup, but the session went on elsewhere meanwhile: passed on once.
      if (gone && !passed) this.toOthers(gone, ev, data, true);
    });
    cluster.onCast<{ stream: string; ev: EventName; encoded: string }>('stream.publish', ({ stream, ev, encoded }) => this.hub.publishEncoded(stream, ev, encoded));
  }

  /** One event on a stream this node carries (its data encoded once, for every subscriber here). */
  publish<E extends EventName>(stream: string, ev: E, data: EventData<E>): void {
    this.hub.publishEncoded(stream, ev, JSON.stringify(data));
  }

  /** A personal event on each user's own stream, wherever their session is: here, and through the cluster (one message per node). */
  toUsers<E extends EventName>(users: readonly string[], ev: E, data: EventData<E>): void {
    const away = this.here(users, ev, data, () => JSON.stringify(data));
    if (away) this.toOthers(away, ev, data);
  }

  /**
   * Follows a personal event as it reaches a user whose session is here,
   * whichever node sent it (a ticket's status, which the user's node keeps for
   * its own users): called before it is published; must not throw.
   */
  watch<E extends EventName>(ev: E, fn: (userId: string, data: EventData<E>) => void): void {
    this.watchers.set(ev, fn as (userId: string, data: unknown) => void);
  }

  /**
   * Publishes on the user streams of those users whose session is here, the
   * data encoded once (by `encode`, only if one is); returns the others.
   */
  private here(users: readonly string[], ev: EventName, data: unknown, encode: () => string): string[] | undefined {
    let encoded: string | undefined;
    let away: string[] | undefined;
    const watcher = this.watchers.get(ev);
    for (const userId of users) {
      if (!this.sessions.has(userId)) {
        (away ??= []).push(userId);
        continue;
      }
      watcher?.(userId, data);
      this.hub.publishEncoded(userStream(userId), ev, (encoded ??= encode()));
    }
    return away;
  }

  private everyoneHere(ev: EventName, encoded: string): void {
    for (const s of this.sessions.values()) this.hub.publishEncoded(userStream(s.userId), ev, encoded);
  }

  /** To the nodes holding these users' sessions, as the directory finds them. */
  private toOthers(users: string[], ev: EventName, data: unknown, passed?: true): void {
    this.directory.where(users, (remote) => {
      const byNode = new Map<string, string[]>();
      for (const [userId, r] of remote) {
        const list = byNode.get(r.node);
        if (list) list.push(userId);
        else byNode.set(r.node, [userId]);
      }
      for (const [node, list] of byNode) this.cluster.tell(node, 'user.event', { users: list, ev, data, ...(passed && { passed }) });
    });
  }

  /** A personal event to users whose session is on this node only (the others' nodes publish it from their own replica). */
  toUsersHere<E extends EventName>(users: readonly string[], ev: E, data: EventData<E>): void {
    this.here(users, ev, data, () => JSON.stringify(data));
  }

  /** To every session of the cluster, each on its own user stream. */
  toEveryone<E extends EventName>(ev: E, data: EventData<E>): void {
    this.everyoneHere(ev, JSON.stringify(data));
    this.cluster.cast('user.event', { ev, data });
  }

  /**
   * A stream whose events are not replicated (chat lines): published here,
   * and told to each other node holding a member's session, which publishes
   * it on its own instance of the stream. `encoded`: the JSON of the event's
   * data; `members`: called only when sessions are on other nodes.
   */
  publishToMembers(stream: string, members: () => readonly string[], ev: EventName, encoded: string): void {
    this.hub.publishEncoded(stream, ev, encoded);
    // Alone: nobody to tell, and the members are not even listed.
    if (this.cluster.alone) return;
    const away = members().filter((u) => !this.sessions.has(u));
    if (!away.length) return;
    this.directory.where(away, (remote) => {
      for (const node of new Set([...remote.values()].map((r) => r.node))) this.cluster.tell(node, 'stream.publish', { stream, ev, encoded });
    });
  }
}
