import type { Cluster } from '../cluster/cluster.js';
import type { Session } from './session.js';

/** A session on another node of the cluster. */
export interface Remote {
  node: string;
  name: string;
}

/**
 * The session directory: which user has a session on which other node, from
 * the `session.up/down` casts and each node's sessions at resync. Every node
 * keeps it for its own lookups (presence, delivery, admin forwarding).
 */
export class Directory {
  private readonly elsewhere = new Map<string, Remote>();

  constructor(
    private readonly sessions: ReadonlyMap<string, Session>,
    cluster: Cluster,
  ) {
    cluster.onCast<{ userId: string }>('session.down', ({ userId }, from) => {
      if (this.elsewhere.get(userId)?.node === from) this.elsewhere.delete(userId);
    });
    cluster.syncable('sessions', {
      export: () => [...sessions.values()].map((s) => ({ userId: s.userId, name: s.name })),
      import: (from, data) => {
        for (const [userId, e] of [...this.elsewhere]) if (e.node === from) this.elsewhere.delete(userId);
        for (const { userId, name } of (data ?? []) as { userId: string; name: string }[]) if (!sessions.has(userId)) this.elsewhere.set(userId, { node: from, name });
      },
    });
  }

  get size(): number {
    return this.elsewhere.size;
  }

  get(userId: string): Remote | undefined {
    return this.elsewhere.get(userId);
  }

  has(userId: string): boolean {
    return this.elsewhere.has(userId);
  }

  set(userId: string, remote: Remote): void {
    this.elsewhere.set(userId, remote);
  }

  forget(userId: string): void {
    this.elsewhere.delete(userId);
  }

  /** The users whose sessions were on `node`, forgotten here. */
  takeFrom(node: string): [string, Remote][] {
    const out: [string, Remote][] = [];
    for (const [userId, e] of [...this.elsewhere]) {
      if (e.node !== node) continue;
      this.elsewhere.delete(userId);
      out.push([userId, e]);
    }
    return out;
  }

  /** The other node holding the user's session, if one does. */
  nodeOf(userId: string): string | undefined {
    return this.sessions.has(userId) ? undefined : this.elsewhere.get(userId)?.node;
  }

  /** Whether the user has a session on this node or another; its display name. */
  online(userId: string): { name: string } | undefined {
    return this.sessions.get(userId) ?? this.elsewhere.get(userId);
  }
}
