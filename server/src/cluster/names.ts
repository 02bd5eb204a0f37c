/**
 * Every Redis key and channel of a cluster, under its prefix. The part in
 * braces is a Redis Cluster hash tag: it alone decides the slot, so each
 * entity's keys (and each channel) live in one slot, scripts touch one slot,
 * and entities spread over the shards. The prefix allows no braces (config),
 * so the first `{` is always ours.
 */
export class Names {
  constructor(readonly prefix: string) {}

  /** Casts to every node, and news of a node's membership (hello, draining, bye). */
  get broadcast(): string {
    return `${this.prefix}:{all}`;
  }

  /** Calls and answers to one node. */
  node(nodeId: string): string {
    return `${this.prefix}:{node:${nodeId}}`;
  }

  /** The live nodes (a member set: one key, no scan). */
  get members(): string {
    return `${this.prefix}:{nodes}`;
  }

  /** The member set's version (a counter beside it, in its slot): it changes whenever a node joins, goes or changes its entry. */
  get membersVersion(): string {
    return `${this.prefix}:{nodes}:version`;
  }

  /** The user's session record: which node holds the session, its fencing token, the display name. */
  session(userId: string): string {
    return `${this.prefix}:{user:${userId}}:session`;
  }

  /** The user's game or party (`kind`), by id: written by its owner as they join and leave. */
  where(userId: string, kind: string): string {
    return `${this.prefix}:{user:${userId}}:${kind}`;
  }

  /** The entities of `kind` the user holds an invite to (a set): written by each one's owner as invites come and go. */
  invites(userId: string, kind: string): string {
    return `${this.prefix}:{user:${userId}}:${kind}Invites`;
  }

  /** The users whose sessions a node holds (a member set), for its successors to adopt them when it dies. */
  sessionsOn(nodeId: string): string {
    return `${this.prefix}:{node:${nodeId}}:sessions`;
  }

  /** The entities (`game:<id>`, …) a node owns, for its successors to take them over when it dies. */
  owns(nodeId: string): string {
    return `${this.prefix}:{node:${nodeId}}:owns`;
  }

  /** An entity's stored snapshot (`<epoch>|<json>`), written by its owner before it answers: what a takeover rebuilds from. */
  snapshot(entity: string): string {
    return `${this.prefix}:{${entity}}:snap`;
  }

  /** What only an entity's owner reads (a game's password hash, its session keys), beside its snapshot, in its slot. */
  secret(entity: string): string {
    return `${this.prefix}:{${entity}}:secret`;
  }

  /** An entity's own channel: its owner's batches, heard by the nodes with interest in it. */
  entity(entity: string): string {
    return `${this.prefix}:{${entity}}`;
  }

  /** The owner and fencing epoch of an entity (`game:<id>`, `party:<id>`, …). */
  lease(entity: string): string {
    return `${this.prefix}:{${entity}}:lease`;
  }

  /** A game list channel: every game's listing goes on the one of its shard (domain/gameList/feed.ts). */
  listChannel(shard: number): string {
    return `${this.prefix}:{games:${shard}}`;
  }

  /** The listings of a list shard, stored (a hash: game id → its last listing) for nodes that catch up. */
  listShard(shard: number): string {
    return `${this.prefix}:{games:${shard}}:listings`;
  }
}
