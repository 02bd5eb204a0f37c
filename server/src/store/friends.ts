import { createHash } from 'node:crypto';
import { LobbyError } from '../errors.js';
import { Batch, groupBy } from './batch.js';
import type { Db } from './db.js';

/** At most this many entries (friends, requests either way, blocks) in one user's list. */
export const MAX_FRIEND_ENTRIES = 200;

/** One entry of a user's list, from that user's side. */
export type FriendState = 'friend' | 'requestSent' | 'requestReceived' | 'blocked';

export interface FriendEntry {
  userId: string;
  name: string;
  state: FriendState;
  since: number;
}

/** What one side of a pair should be told: its entry for the other changed, or is gone (`removed`, with the state it had). */
export interface FriendChange {
  ownerId: string;
  friend: FriendEntry;
  removed: boolean;
}

interface Row {
  user_id: string;
  other_id: string;
  state: 'requested' | 'friends' | 'blocked';
  created_at: Date;
}

/** The pair as each side sees it, from the rows between them (see migration 2). */
function viewOf(owner: string, other: string, rows: Row[]): { state: FriendState; since: number } | undefined {
  const mine = rows.find((r) => r.user_id === owner && r.other_id === other);
  if (mine) return { state: mine.state === 'blocked' ? 'blocked' : mine.state === 'friends' ? 'friend' : 'requestSent', since: mine.created_at.getTime() };
  const theirs = rows.find((r) => r.user_id === other && r.other_id === owner);
  if (theirs?.state === 'requested') return { state: 'requestReceived', since: theirs.created_at.getTime() };
  return undefined;
}

/** Per-user advisory lock keys, taken in key order so two transactions never wait on each other in a cycle. */
const lockKey = (userId: string) => createHash('sha256').update(`friends:${userId}`).digest().readBigInt64BE(0);

type Tx = Db;

/** A user's list from the rows of their pairs (oldest first, with the other side's name). */
function entriesOf(userId: string, rows: (Row & { name: string })[]): FriendEntry[] {
  const byOther = new Map<string, { name: string; rows: Row[] }>();
  for (const row of rows) {
    const other = row.user_id === userId ? row.other_id : row.user_id;
    const e = byOther.get(other) ?? { name: row.name, rows: [] };
    e.rows.push(row);
    byOther.set(other, e);
  }
  return [...byOther].flatMap(([other, e]) => {
    const v = viewOf(userId, other, e.rows);
    return v ? [{ userId: other, name: e.name, ...v }] : [];
  });
}

/**
 * Friendships, requests and blocks in Postgres. Every change runs in one
 * transaction holding both users' locks, and returns what each side should
 * be told; the caller pushes it and keeps its caches.
 */
export class Friends {
  /** Lists are read at login: one statement per burst of logins. */
  private readonly lists = new Batch<string, FriendEntry[]>(
    async (owners) => {
      const r = await this.db.query<Row & { name: string; owner: string }>(
        // Two index lookups per owner (its own rows, requests to it), as in listOne; a row is never both (user_id <> other_id).
        `select p.owner, p.user_id, p.other_id, p.state, p.created_at, a.name
           from (select o.owner, f.* from unnest($1::text[]) as o(owner) join friendships f on f.user_id = o.owner
                 union all
                 select o.owner, f.* from unnest($1::text[]) as o(owner) join friendships f on f.other_id = o.owner and f.state = 'requested') p
           join accounts a on a.id = case when p.user_id = p.owner then p.other_id else p.user_id end
          order by p.created_at, a.id`,
        [[...new Set(owners)]],
      );
      return groupBy(owners, r.rows, (row) => row.owner).map((rows, i) => entriesOf(owners[i]!, rows));
    },
    { alone: (userId) => this.listOne(userId) },
  );

  constructor(private readonly db: Db) {}

  /** A user's whole list: friends, requests both ways, and whom they blocked; oldest first. */
  list(userId: string): Promise<FriendEntry[]> {
    return this.lists.call(userId);
  }

  private async listOne(userId: string): Promise<FriendEntry[]> {
    const r = await this.db.query<Row & { name: string }>(
      `select f.user_id, f.other_id, f.state, f.created_at, a.name
         from friendships f
         join accounts a on a.id = case when f.user_id = $1 then f.other_id else f.user_id end
        where f.user_id = $1 or (f.other_id = $1 and f.state = 'requested')
        order by f.created_at, a.id`,
      [userId],
    );
    return entriesOf(userId, r.rows);
  }

  /** How many friends a user has (admin views). */
  async friendCount(userId: string): Promise<number> {
    const r = await this.db.query<{ n: number }>(`select count(*)::int as n from friendships where user_id = $1 and state = 'friends'`, [userId]);
    return r.rows[0]!.n;
  }

  /** Whether `blockerId` blocked `userId` (for mail and anything that asks while the blocker is offline). */
  async isBlocked(blockerId: string, userId: string): Promise<boolean> {
    const r = await this.db.query(`select 1 from friendships where user_id = $1 and other_id = $2 and state = 'blocked'`, [blockerId, userId]);
    return r.rowCount > 0;
  }

  /** `from` asks `to`; if `to` asked first, this accepts. */
  request(from: string, to: string): Promise<FriendChange[]> {
    if (from === to) throw new LobbyError('BAD_REQUEST', 'you cannot befriend yourself');
    return this.change(from, to, true, async (tx, rows) => {
      const mine = rows.find((r) => r.user_id === from);
      const theirs = rows.find((r) => r.user_id === to);
      if (mine?.state === 'blocked' || theirs?.state === 'blocked') throw new LobbyError('BLOCKED', 'one of you blocked the other');
      if (mine?.state === 'friends') throw new LobbyError('ALREADY_FRIENDS', 'you are friends already');
      if (mine?.state === 'requested') throw new LobbyError('REQUEST_PENDING', 'your request is waiting for an answer');
      if (theirs?.state === 'requested') return this.befriend(tx, from, to);
      for (const u of [from, to]) {
        if ((await this.count(tx, u)) >= MAX_FRIEND_ENTRIES) {
          throw new LobbyError('FRIENDS_FULL', u === from ? 'your friend list is full' : 'their friend list is full');
        }
      }
      await tx.query(`insert into friendships (user_id, other_id, state) values ($1, $2, 'requested')`, [from, to]);
    });
  }

  /** `by` accepts the request `from` sent. */
  accept(by: string, from: string): Promise<FriendChange[]> {
    return this.change(by, from, false, async (tx, rows) => {
      if (rows.some((r) => r.user_id === by && r.state === 'friends')) throw new LobbyError('ALREADY_FRIENDS', 'you are friends already');
      if (!rows.some((r) => r.user_id === from && r.state === 'requested')) throw new LobbyError('NO_REQUEST', 'there is no request from that user');
      await this.befriend(tx, by, from);
    });
  }

  /** `by` declines the request `other` sent, or withdraws the one `by` sent. */
  decline(by: string, other: string): Promise<FriendChange[]> {
    return this.change(by, other, false, async (tx, rows) => {
      const request = rows.find((r) => r.state === 'requested');
      if (!request) throw new LobbyError('NO_REQUEST', 'there is no request between you');
      await tx.query('delete from friendships where user_id = $1 and other_id = $2', [request.user_id, request.other_id]);
    });
  }

  remove(by: string, other: string): Promise<FriendChange[]> {
    return this.change(by, other, false, async (tx, rows) => {
      if (!rows.some((r) => r.user_id === by && r.state === 'friends')) throw new LobbyError('NOT_FRIENDS', 'that user is not your friend');
      await tx.query(`delete from friendships where state = 'friends' and ((user_id = $1 and other_id = $2) or (user_id = $2 and other_id = $1))`, [by, other]);
    });
  }

  /** Ends any friendship or request between them and blocks `other`; a block `other` set stays. */
  block(by: string, other: string): Promise<FriendChange[]> {
    if (by === other) throw new LobbyError('BAD_REQUEST', 'you cannot block yourself');
    return this.change(by, other, true, async (tx, rows) => {
      if (rows.some((r) => r.user_id === by && r.state === 'blocked')) return;
      // A new entry counts toward the limit; replacing a friendship or request does not.
      if (!viewOf(by, other, rows) && (await this.count(tx, by)) >= MAX_FRIEND_ENTRIES) throw new LobbyError('FRIENDS_FULL', 'your friend list is full');
      await tx.query(
        `delete from friendships where (user_id = $1 and other_id = $2) or (user_id = $2 and other_id = $1 and state <> 'blocked')`,
        [by, other],
      );
      await tx.query(`insert into friendships (user_id, other_id, state) values ($1, $2, 'blocked')`, [by, other]);
    });
  }

  unblock(by: string, other: string): Promise<FriendChange[]> {
    return this.change(by, other, false, async (tx) => {
      await tx.query(`delete from friendships where user_id = $1 and other_id = $2 and state = 'blocked'`, [by, other]);
    });
  }

  private async befriend(tx: Tx, a: string, b: string): Promise<void> {
    await tx.query('delete from friendships where (user_id = $1 and other_id = $2) or (user_id = $2 and other_id = $1)', [a, b]);
    await tx.query(`insert into friendships (user_id, other_id, state) values ($1, $2, 'friends'), ($2, $1, 'friends')`, [a, b]);
  }

  private async count(tx: Tx, userId: string): Promise<number> {
    const r = await tx.query<{ n: number }>(`select count(*)::int as n from friendships where user_id = $1 or (other_id = $1 and state = 'requested')`, [userId]);
    return r.rows[0]!.n;
  }

  /**
   * Runs `fn` on the pair's rows under both users' locks, then tells each side
   * whose view changed. `mustExist`: the other user must be an account.
   */
  private change(by: string, other: string, mustExist: boolean, fn: (tx: Tx, rows: Row[]) => Promise<void>): Promise<FriendChange[]> {
    return this.db.transaction(async (tx) => {
      const keys = [...new Set([lockKey(by), lockKey(other)])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      for (const k of keys) await tx.query('select pg_advisory_xact_lock($1::bigint)', [k.toString()]);
      const names = new Map(
        (await tx.query<{ id: string; name: string }>('select id, name from accounts where id = any($1::text[])', [[by, other]])).rows.map((r) => [r.id, r.name]),
      );
      if (!names.has(other)) {
        if (mustExist) throw new LobbyError('USER_NOT_FOUND', 'no such user');
        names.set(other, '');
      }
      const pair = async () =>
        (
          await tx.query<Row>(
            'select user_id, other_id, state, created_at from friendships where (user_id = $1 and other_id = $2) or (user_id = $2 and other_id = $1)',
            [by, other],
          )
        ).rows;
      const before = await pair();
      await fn(tx, before);
      const after = await pair();
      const changes: FriendChange[] = [];
      for (const [owner, peer] of [
        [by, other],
        [other, by],
      ] as const) {
        const was = viewOf(owner, peer, before);
        const now = viewOf(owner, peer, after);
        if (was?.state === now?.state && was?.since === now?.since) continue;
        const name = names.get(peer) ?? '';
        if (now) changes.push({ ownerId: owner, friend: { userId: peer, name, ...now }, removed: false });
        else if (was) changes.push({ ownerId: owner, friend: { userId: peer, name, ...was }, removed: true });
      }
      return changes;
    });
  }
}
