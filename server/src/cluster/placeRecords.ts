import type { Logger } from 'pino';
import { BusDown, type Bus } from './bus.js';
import type { Names } from './names.js';
import type { TickReads } from './tickReads.js';

/**
 * The records of where a user is (their game, their party) and of their
 * invites, each written by the entity's owner: a session that starts on
 * another node finds them there. Alone on an in-process bus (`quiet`) nobody
 * else could read them, and nothing is written.
 */
export class PlaceRecords {
  constructor(
    private readonly bus: Bus,
    private readonly names: Names,
    /** Nobody else could read a record now (alone on an in-process bus). */
    private readonly quiet: () => boolean,
    private readonly log: Logger,
    /** The node's reader of records: a tick's reads in one round trip (a login's game, party, invites and queue records). */
    private readonly reads: TickReads,
  ) {}

  /**
   * The record of where a user is (`kind`: game, party), written by the
   * entity's owner as they join (`in`) or leave it: a session that starts on
   * another node finds their game and party from it. Leaving clears it only
   * when it still names this entity (they may have joined another since).
   */
  async place(userId: string, kind: string, id: string, isIn: boolean): Promise<void> {
    if (this.quiet()) return;
    const key = this.names.where(userId, kind);
    try {
      if (isIn) await this.bus.set(key, id, 86_400_000); // a day, as a lease: a record nobody cleared does not stay
      else await this.bus.cas(key, id, null);
    } catch (err) {
      if (!(err instanceof BusDown)) this.log.warn({ err: (err as Error).message, userId, kind }, 'whereabouts record not written');
    }
  }

  /** The user's game or party as its record says (undefined: none, or Redis unreachable). */
  async placeOf(userId: string, kind: string): Promise<string | undefined> {
    if (this.quiet()) return undefined;
    try {
      return (await this.reads.get(this.names.where(userId, kind))) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** The set record of the user's invites to entities of `kind`, written by each entity's owner (see `place`). */
  async invite(userId: string, kind: string, id: string, isIn: boolean): Promise<void> {
    if (this.quiet()) return;
    const key = this.names.invites(userId, kind);
    try {
      await (isIn ? this.bus.setAdd(key, id) : this.bus.setRemove(key, id));
    } catch (err) {
      if (!(err instanceof BusDown)) this.log.warn({ err: (err as Error).message, userId, kind }, 'invite record not written');
    }
  }

  /** The entities of `kind` the user's record says they hold an invite to (none when Redis is unreachable). */
  async invitesOf(userId: string, kind: string): Promise<string[]> {
    if (this.quiet()) return [];
    try {
      return await this.reads.members(this.names.invites(userId, kind));
    } catch {
      return [];
    }
  }

  /** As placeOf, for many users: the node's reader makes them one round trip. */
  placesOf(userIds: readonly string[], kind: string): Promise<(string | undefined)[]> {
    return Promise.all(userIds.map((u) => this.placeOf(u, kind)));
  }

  /** Keeps in `into` those of these users whose record names an entity of `kind` (presence of users of other nodes). */
  async note(userIds: readonly string[], kind: string, into: Set<string>): Promise<void> {
    const places = await this.placesOf(userIds, kind);
    userIds.forEach((u, i) => (places[i] ? into.add(u) : into.delete(u)));
  }
}
