import type { EventData, EventName } from '@foyer/shared';
import type { Metrics } from '../admin/metrics.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Directory } from './directory.js';
import type { Session } from './session.js';

/** Who receives an event: some users, or every session on the node. */
export type Audience = { users: readonly string[] } | { everyone: true };

/**
 * Events to sessions: here, encoded once per event, and through the cluster
 * to the nodes holding the other recipients (one message per node).
 */
export class Delivery {
  constructor(
    private readonly sessions: ReadonlyMap<string, Session>,
    private readonly directory: Directory,
    private readonly cluster: Cluster,
    private readonly metrics: Metrics,
  ) {
    cluster.onCast<{ users?: string[]; ev: EventName; data: never }>('deliver', ({ users, ev, data }) => this.deliverHere(users ? { users } : { everyone: true }, ev, data));
  }

  /** Sends one event to its audience wherever their sessions are: here, and through the cluster to the nodes holding the others. */
  deliver<E extends EventName>(audience: Audience, ev: E, data: EventData<E>): void {
    this.deliverHere(audience, ev, data);
    const { cluster } = this;
    if ('everyone' in audience) return cluster.cast('deliver', { ev, data });
    if (!this.directory.size) return;
    const byNode = new Map<string, string[]>();
    for (const userId of audience.users) {
      const e = this.directory.get(userId);
      if (!e || this.sessions.has(userId)) continue;
      const list = byNode.get(e.node);
      if (list) list.push(userId);
      else byNode.set(e.node, [userId]);
    }
    for (const [node, users] of byNode) cluster.tell(node, 'deliver', { users, ev, data });
  }

  /** Sends one event to its audience's sessions on this node, encoding the data once. */
  deliverHere<E extends EventName>(audience: Audience, ev: E, data: EventData<E>): void {
    this.deliverEncoded(audience, ev, JSON.stringify(data));
  }

  /**
   * As deliverHere, with the data already encoded (JSON of EventData<E>): a
   * fan-out whose recipients differ only in one field encodes the rest once.
   */
  deliverEncoded(audience: Audience, ev: EventName, encoded: string): void {
    let n = 0;
    if ('everyone' in audience) {
      for (const s of this.sessions.values()) (s.push(ev, encoded), n++);
    } else {
      for (const userId of audience.users) {
        const s = this.sessions.get(userId);
        if (s) (s.push(ev, encoded), n++);
      }
    }
    this.metrics.events.inc(n);
  }

}
