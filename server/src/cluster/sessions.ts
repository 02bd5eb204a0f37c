import type { Logger } from 'pino';
import { LobbyError } from '../errors.js';
import { BusDown, type Bus } from './bus.js';
import type { Names } from './names.js';
import type { TickReads } from './tickReads.js';

/**
 * Where a user's session is: the node holding it, the fencing token of the
 * login that made it, and the user's display name (for lookups that need it).
 */
export interface SessionRecord {
  node: string;
  fence: number;
  name: string;
}

export type LoginPolicy = 'replace' | 'refuse';

/** What the holder of a record answered when asked to let the session go. */
export type LetGo = 'moved' | 'none' | 'stale';

export function encodeRecord(r: SessionRecord): string {
  return JSON.stringify({ node: r.node, fence: r.fence, name: r.name });
}

export function decodeRecord(raw: string | null): SessionRecord | undefined {
  if (raw === null) return undefined;
  try {
    const r = JSON.parse(raw) as Partial<SessionRecord>;
    if (typeof r.node === 'string' && typeof r.fence === 'number' && typeof r.name === 'string') return { node: r.node, fence: r.fence, name: r.name };
  } catch {
    // an unreadable record counts as none: the next claim overwrites it
  }
  return undefined;
}

/**
 * Which of two sessions of one account stays when both exist (made while
 * Redis was down or had lost its records): under `replace` the newer login
 * (the higher fence), under `refuse` the older. Ties go by node id, so that
 * both nodes reach the same verdict without talking.
 */
export function prevails(a: SessionRecord, b: SessionRecord, policy: LoginPolicy): boolean {
  const newer = a.fence !== b.fence ? a.fence > b.fence : a.node > b.node;
  return policy === 'replace' ? newer : !newer;
}

/** A day: records and node session sets of a cluster that vanished entirely do not stay forever. Re-asserted at every Redis return. */
const RECORD_TTL_MS = 86_400_000;

/**
 * The per-user session records in Redis: one session per account in the
 * whole cluster, claimed atomically (compare-and-set) with a fencing token
 * before the session is usable; the directory's lookups; each node's set of
 * the users it holds, for adoption when it dies.
 *
 * A fence is `max(now, previous + 1)`: it grows with every login of the
 * account and, made from the clock, orders logins made on different nodes
 * while Redis was down.
 *
 * A node alone on a bus of its own (`Bus.solo`) writes no records: only
 * other nodes read them (the directory, a login elsewhere, adoption), and
 * there can be none. Its fences still grow with every login, across all
 * its users (a count: there is no other node's clock to order against). That spares each session a record, its key and an entry in
 * the node's set (about 0.4 KiB in a heap snapshot).
 */
export class SessionRecords {
  /** Solo: the last fence handed out. */
  private lastFence = 0;

  constructor(
    private readonly bus: Bus,
    private readonly names: Names,
    private readonly nodeId: string,
    private readonly isLive: (node: string) => boolean,
    private readonly log: Logger,
    /** The node's reader of records (`lookup`: the directory's, a tick's in one round trip). */
    private readonly reads: TickReads,
  ) {}

  get up(): boolean {
    return this.bus.up;
  }

  /** A fence for a login made here without Redis (it orders against the others at Redis's return). */
  localFence(previous = 0): number {
    return Math.max(Date.now(), previous + 1);
  }

  /**
   * Makes this node the holder of the user's session. A live other node
   * holding it is asked first (`letGo`, which may throw, e.g.
   * ALREADY_LOGGED_IN); 'stale' means that node holds a newer session than
   * the record read (the record is read again). `writing` hears each fence
   * just before it is written: once written, another node may read it and
   * ask this one for the session before this node has the answer of its own
   * write (the answer and the request come on different connections).
   * Returns the new record and the one it replaced. Throws BusDown when
   * Redis is away.
   */
  async claim(userId: string, name: string, letGo: (holder: SessionRecord) => Promise<LetGo>, writing: (fence: number) => void = () => {}): Promise<{ record: SessionRecord; previous: SessionRecord | undefined; moved: boolean }> {
    // Solo: a count will do (a small integer, where a clock's fence is a heap number per session): no other node orders against it.
    if (this.bus.solo) return { record: { node: this.nodeId, fence: ++this.lastFence, name }, previous: undefined, moved: false };
    const key = this.names.session(userId);
    for (let attempt = 0; attempt < 8; attempt++) {
      const raw = await this.bus.get(key);
      const cur = decodeRecord(raw);
      let moved = false;
      if (cur && cur.node !== this.nodeId && this.isLive(cur.node)) {
        const answer = await letGo(cur);
        if (answer === 'stale') continue;
        moved = answer === 'moved';
      }
      const record = { node: this.nodeId, fence: this.localFence(cur?.fence), name };
      writing(record.fence);
      if (await this.bus.cas(key, raw, encodeRecord(record), RECORD_TTL_MS)) {
        this.listHere(userId, name);
        return { record, previous: cur, moved };
      }
    }
    throw new LobbyError('NODE_UNAVAILABLE', 'the login could not be recorded (too many logins of this account at once); try again');
  }

  /** The session ended here: its record goes, unless a later login replaced it meanwhile. */
  release(userId: string, record: SessionRecord): void {
    if (!this.bus.up || this.bus.solo) return;
    this.bus.cas(this.names.session(userId), encodeRecord(record), null).catch(() => {});
    this.unlist(userId);
  }

  /** The session went on on another node (which wrote its own record): no longer in this node's set. */
  unlist(userId: string): void {
    if (this.bus.up && !this.bus.solo) this.bus.leave(this.names.sessionsOn(this.nodeId), userId).catch(() => {});
  }

  private listHere(userId: string, name: string): void {
    if (this.bus.solo) return;
    this.bus.beat(this.names.sessionsOn(this.nodeId), userId, name, RECORD_TTL_MS).catch((err: Error) => this.log.debug({ userId, err: err.message }, 'session not listed under this node'));
  }

  /** The records of these users, in order (undefined: no session anywhere). */
  async lookup(userIds: readonly string[]): Promise<(SessionRecord | undefined)[]> {
    const raws = await this.reads.getMany(userIds.map((u) => this.names.session(u)));
    return raws.map(decodeRecord);
  }

  /** The users a node listed as held there, with their names. */
  async listedOn(node: string): Promise<Map<string, string>> {
    return this.bus.members(this.names.sessionsOn(node));
  }

  /** Forgets a dead node's list once its sessions are adopted or gone elsewhere. */
  async unlistFrom(node: string, userId: string): Promise<void> {
    await this.bus.leave(this.names.sessionsOn(node), userId);
  }

  /** Takes over the record of a session on a dead node, unless it went on elsewhere meanwhile. Returns the new record and the dead node's. */
  async adopt(userId: string, dead: string): Promise<{ record: SessionRecord; previous: SessionRecord | undefined } | undefined> {
    if (this.bus.solo) return undefined;
    try {
      const key = this.names.session(userId);
      const raw = await this.bus.get(key);
      const cur = decodeRecord(raw);
      if (cur && cur.node !== dead) return undefined;
      const record = { node: this.nodeId, fence: this.localFence(cur?.fence), name: cur?.name ?? '' };
      if (!(await this.bus.cas(key, raw, encodeRecord(record), RECORD_TTL_MS))) return undefined;
      this.listHere(userId, record.name);
      return { record, previous: cur };
    } catch {
      return undefined;
    }
  }

  /**
   * Writes a session record of this node again (Redis came back, maybe
   * empty). Returns the record another node wrote for the user meanwhile,
   * if one did: a conflict for the caller to settle.
   */
  async reassert(userId: string, mine: SessionRecord): Promise<SessionRecord | undefined> {
    if (this.bus.solo) return undefined;
    const key = this.names.session(userId);
    const want = encodeRecord(mine);
    for (let attempt = 0; attempt < 4; attempt++) {
      const raw = await this.bus.get(key);
      if (raw === want) break;
      const cur = decodeRecord(raw);
      // Ours (an older fence of this node, or unreadable), or a dead node's: ours again.
      if (cur && cur.node !== this.nodeId && this.isLive(cur.node)) return cur;
      if (await this.bus.cas(key, raw, want, RECORD_TTL_MS)) break;
    }
    this.listHere(userId, mine.name);
    return undefined;
  }

  /** Replaces `theirs` with `mine` (a conflict settled in this node's favour). False when the record changed meanwhile. */
  async replace(userId: string, theirs: SessionRecord, mine: SessionRecord): Promise<boolean> {
    return this.bus.cas(this.names.session(userId), encodeRecord(theirs), encodeRecord(mine), RECORD_TTL_MS);
  }
}

export { BusDown };
