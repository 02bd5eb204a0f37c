/** The parts of an entity kind (`EntitySpec`) and what the cluster's nodes say of entities to each other. */

/** A decision of the owner: the caller's answer, the events to apply in order, the timers to schedule. */
export interface Decided<E, C, R> {
  result: R;
  events: E[];
  timers: { afterMs: number; command: C }[];
}

/**
 * How a kind of entity (games, parties, queues) plugs into the cluster. Every
 * kind is durable before acknowledged: the owner stores the entity's snapshot
 * in Redis, fenced by its epoch, before it sends a batch or answers, and a
 * dead owner's successor rebuilds the entity from it. The other nodes hold it
 * by `interest` or, `ownerOnly`, not at all: one of the two.
 */
export interface EntitySpec<S, C, E, R> {
  /** `game`, `party`: names the cluster messages. */
  kind: string;
  version(s: S): number;
  /** Against the current state; throws LobbyError on a refusal. */
  decide(id: string, before: S | undefined, command: C): Decided<E, C, R>;
  /**
   * The entity's pure apply: the state after one event (undefined once it is
   * gone), the owner's own or a replica's alike. It changes state and nothing
   * else; what follows on this node is `effects`.
   */
  apply(id: string, before: S | undefined, e: E): S | undefined;
  /**
   * What follows on this node from one event just applied (on the owner and
   * on every replica alike): delivery to its sessions, indexes, whereabouts.
   * Runs right after `apply` of that event, with the state before and after
   * it (a queue changes its state in place: there both are the same object).
   */
  effects?(id: string, e: E, before: S | undefined, after: S | undefined): void;
  /** What follows from a whole batch once every event of it is applied (the game list takes a batch as one change). */
  applied?(id: string, before: S | undefined, after: S | undefined, events: E[]): void;
  /** A snapshot replaces the replica (undefined: the entity is gone): fix indexes, deliver nothing. */
  replace(id: string, before: S | undefined, after: S | undefined): void;
  /** The timers to run when this node takes the entity over (deadlines kept in the state). */
  resume(s: S, now: number): { afterMs: number; command: C }[];
  /**
   * Games and parties are born on the node that creates them. A queue is
   * known by name to every node from the start (the config) and has no owner
   * until its successor claims it, starting it as `fresh` makes it: a
   * command for it waits for that (NODE_UNAVAILABLE meanwhile).
   */
  claimed?: { fresh(id: string): S };
  /**
   * Held by its owner alone (a queue; needs `claimed`): no
   * replicas and no batches. Other nodes know only who owns it (`<kind>.owner`
   * casts, the resync) and route their commands there; what their users need
   * of it the owner sends them as personal events (`durable`).
   */
  ownerOnly?: boolean;
  /**
   * On the owner, once the batch of `events` is stored: what may be told outside only once a takeover could not lose
   * it (a queue's ticket statuses, a match turned into a game).
   */
  durable?(id: string, events: E[]): void;
  /**
   * The per-user records (`{user:<id>}:<kind>`) naming the entity, for an
   * entity too big to diff its members per batch (a queue): who `events` put
   * in and took out, and everyone in it (written again at a rejoin).
   */
  records?: {
    moves(events: E[]): { joined: string[]; left: string[] };
    members(s: S): readonly string[];
  };
  /**
   * By interest: a node holds the entity, and listens on its
   * own channel, only while it owns it or a session here needs it; the owner
   * sends batches on that channel alone (no full-state resync with peers).
   * `users`: who needs it (players, spectators, members, invitees); `here`:
   * whether a user's session is on this node; `nodesOf`: the other nodes
   * holding sessions of these users (the directory), told when the owner puts
   * them in (a match, a party brought into a game, an invite).
   */
  interest?: {
    users(s: S): readonly string[];
    here(userId: string): boolean;
    /** The nodes holding these users' sessions elsewhere (the directory). */
    locate(users: readonly string[]): Promise<Map<string, string>>;
    /** Personal events posted for users of another node (`post`), there, once that node holds the entity. */
    deliver(users: readonly string[], ev: string, data: unknown): void;
    /** Who is in it (players and spectators, members): each one's record says where they are, for a session that starts on another node. */
    members(s: S): readonly string[];
    /**
     * Who holds an invite to it (not in it yet): each one's set record lists such entities (a user may hold
     * several), so that a session that starts on another node finds its pending invites.
     */
    invitees?(s: S): readonly string[];
    /** A snapshot changed what this node's sessions had seen: deliver it on the stream (their resync). */
    resynced(id: string, after: S | undefined): void;
    /** The replica goes, nobody here needing it (default: `replace` with nothing). */
    dropped?(id: string, before: S): void;
    /**
     * A routed command's result, made on the caller's node: `view`, the
     * entity's view as the command left it (null: ended), is the result of
     * every command but those `carried` (whose results go along: nothing in
     * them a node holding the entity may not see). The owner answers in the
     * batch it publishes anyway, naming the caller's node and call, and the
     * caller makes the view from its replica once there: no copy of the
     * view travels, to the caller or to the other nodes holding the entity.
     */
    answers?: {
      view(s: S | undefined): R;
      carried?(command: C): boolean;
    };
  };
  /**
   * What only the owner may know (a game's password hash, its session keys):
   * never in other nodes' traffic. Other nodes receive `redact`ed events and
   * hold an `open` state (never deciding on it: only the owner decides); the
   * owner stores the stored snapshot open and `of` apart, which a node reads
   * back (`with`) only as it becomes the owner.
   */
  secret?: {
    redact(e: E): E;
    open(s: S): S;
    of(s: S): unknown;
    with(s: S, secret: unknown): S;
  };
  /** State as plain JSON for a snapshot, and back (default: the state is plain JSON already). */
  toJSON?(s: S): unknown;
  fromJSON?(id: string, json: unknown): S;
}

export interface Batch<E> {
  id: string;
  owner: string;
  epoch: number;
  /** Version before and after; `to` null when the entity ended. */
  from: number;
  to: number | null;
  events: E[];
}

/** A routed command answered in its batch (`interest.answers`): the caller's node, its call, and a carried result. */
export interface BatchAnswer {
  node: string;
  rid: number;
  result?: unknown;
}

/** A message on an entity's own channel. */
export type EntityWire<E> = ({ t: 'batch'; answer?: BatchAnswer } & Batch<E>) | ({ t: 'owner'; id: string; version: number } & Owner);

/**
 * A routed command's answer by interest: the caller's replica waits for
 * `version` (null: the entity ended). Without `result`, the result is the
 * entity's view there (`interest.answers`).
 */
export interface Answer<R> {
  result?: R;
  version: number | null;
}

/** What a batch changed of who is in an entity (by interest). */
export interface Moves {
  /** Users of other nodes it put in (a match, a party brought in, an invite). */
  came: string[];
  joined: string[];
  left: string[];
  /** Invites given and ended (`interest.invitees`). */
  invited: string[];
  uninvited: string[];
}

export interface Posted {
  users: readonly string[];
  ev: string;
  data: unknown;
}

export interface Owner {
  owner: string;
  /** Fencing: raised by every takeover and handover; an owner's batches with a lower one are ignored. */
  epoch: number;
}

export interface Snapshot<S> {
  id: string;
  owner: string;
  epoch: number;
  state: S | null;
}
