import type { SessionRecord } from '../cluster/sessions.js';
import { msOf, tenths } from './tenths.js';

/** A session's record, and whether Redis has it (a login made while Redis was away is written at its return). One object: a session keeps it. */
export interface Claimed extends SessionRecord {
  recorded: boolean;
}

/**
 * Always made here, as one literal: built by spreading a record, each
 * would get a hidden class of its own (0.2 KiB a session in a heap snapshot).
 */
export const claimed = (r: SessionRecord, recorded: boolean): Claimed => ({ node: r.node, fence: r.fence, name: r.name, recorded });

/** What a session needs from its current connection. */
export interface SessionLink {
  /** The session now receives this stream: a live socket subscribes to its topic. */
  subscribed(stream: string): void;
  unsubscribed(stream: string): void;
  /** A frame of a stream sentDirect (streams.ts), which reaches the socket only through this. */
  deliver(frame: string): void;
}

/**
 * A logged-in user on this node. It outlives its connection for the
 * reconnect grace period, still receiving its streams: their histories keep
 * what the client misses meanwhile, for a resume to replay.
 */
export class Session {
  link: SessionLink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  /**
   * The streams this session receives (names: `user:<id>`, `game:<id>`, …),
   * each name the hub's own string. An array, not a Set: a session receives
   * a handful, and a Set with its table costs a node of 10,000 sessions
   * about 1 MiB more. Replaced, never changed in place (StreamHub), so it is
   * always of its exact length, and iterating it while streams come and go
   * is safe.
   */
  streams: readonly string[] = [];
  /**
   * Its own stream's numbering while the hub has put the Stream away (quiet,
   * StreamHub.putAway): the epoch's serial and the offset reached.
   */
  ownSerial = 0;
  ownOffset = 0;
  /** Taken over from a dead node: the client's positions are in another node's numbering, so a resume resyncs. */
  adopted = false;
  /** The player's stored level and rating (OpenSkill ordinal), kept current by services/standings.ts. */
  standing: { level: number; rating: number } | undefined;
  /**
   * Its record in Redis (this node, the fencing token of the login that
   * made or took it over): a request to let it go must name this fence, and
   * only this record is released at its end.
   */
  record: Claimed | undefined;
  /** When this session began on this node, in tenths (tenths.ts: no heap number per session). */
  private readonly began = tenths(Date.now());

  constructor(
    readonly userId: string,
    public name: string,
  ) {}

  /** When this session began on this node, Date.now() terms (admin views). */
  get since(): number {
    return msOf(this.began);
  }
}
