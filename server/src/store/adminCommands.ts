import { Batch, byCall } from './batch.js';
import type { Db } from './db.js';

/** A deferred admin command waiting for its player's next login. */
export interface PendingCommand {
  id: string;
  userId: string;
  kind: string;
  args: unknown;
  issuedBy: string;
  createdAt: number;
  expiresAt: number;
}

export type AuditMode = 'immediate' | 'deferred';
/** ran: executed; queued: stored for later; refused: not allowed; expired: dropped unexecuted; cancelled: deleted by an operator. */
export type AuditEvent = 'ran' | 'queued' | 'refused' | 'expired' | 'cancelled';

export interface AuditEntry {
  actor: string;
  userId: string;
  kind: string;
  args: unknown;
  mode: AuditMode;
  event: AuditEvent;
  commandId: string | null;
  ok: boolean;
  error: string | null;
  result: unknown;
}

export interface AuditRow extends AuditEntry {
  id: string;
  at: number;
}

interface CommandRow {
  id: string;
  user_id: string;
  kind: string;
  args: unknown;
  issued_by: string;
  created_at: Date;
  expires_at: Date;
}

interface AuditDbRow {
  id: string | number;
  at: Date;
  actor: string;
  user_id: string;
  kind: string;
  args: unknown;
  mode: AuditMode;
  event: AuditEvent;
  command_id: string | null;
  ok: boolean;
  error: string | null;
  result: unknown;
}

const COMMAND_COLUMNS = 'id, user_id, kind, args, issued_by, created_at, expires_at';

/** One login's call: the user and the time it asks at. */
interface UserCall {
  userId: string;
  now: number;
}

const userArrays = (calls: UserCall[]) => [calls.map((c) => c.userId), calls.map((c) => new Date(c.now).toISOString())];
const prefixed = (table: string, columns: string) =>
  columns
    .split(', ')
    .map((c) => `${table}.${c}`)
    .join(', ');

const commandOf = (r: CommandRow): PendingCommand => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  args: r.args,
  issuedBy: r.issued_by,
  createdAt: r.created_at.getTime(),
  expiresAt: r.expires_at.getTime(),
});

const auditOf = (r: AuditDbRow): AuditRow => ({
  id: String(r.id),
  at: r.at.getTime(),
  actor: r.actor,
  userId: r.user_id,
  kind: r.kind,
  args: r.args,
  mode: r.mode,
  event: r.event,
  commandId: r.command_id,
  ok: r.ok,
  error: r.error,
  result: r.result ?? null,
});

/**
 * Deferred admin commands and the audit of every command. A deferred
 * command is claimed by deleting it (a conditional delete that returns the
 * row), so however many nodes and logins race for it, one claim wins and it
 * runs once; an expired one is never claimed.
 */
export class AdminStore {
  /** Every login drops the player's expired commands, then reads the pending ones: one statement each per burst of logins. */
  private readonly dropping = new Batch<UserCall, PendingCommand[]>(
    async (calls) => {
      // A row is deleted once, however many calls of the batch name its user: it goes to one of them.
      const r = await this.db.query<CommandRow & { i: number }>(
        `delete from admin_commands c using unnest($1::text[], $2::timestamptz[]) with ordinality as u(user_id, now, i)
          where c.user_id = u.user_id and c.expires_at <= u.now returning u.i::int as i, ${prefixed('c', COMMAND_COLUMNS)}`,
        userArrays(calls),
      );
      return byCall(calls, r.rows).map((rows) => rows.map(commandOf));
    },
    { alone: (c) => this.dropExpiredOne(c) },
  );
  private readonly pendingLists = new Batch<UserCall, string[]>(
    async (calls) => {
      const r = await this.db.query<{ id: string; i: number }>(
        `select u.i::int as i, c.id from unnest($1::text[], $2::timestamptz[]) with ordinality as u(user_id, now, i)
           join admin_commands c on c.user_id = u.user_id and c.expires_at > u.now
          order by u.i, c.seq`,
        userArrays(calls),
      );
      return byCall(calls, r.rows).map((rows) => rows.map((x) => x.id));
    },
    { alone: (c) => this.pendingIdsOne(c) },
  );

  /**
   * A login's both steps in one statement per burst of logins: its user's
   * expired commands deleted (returned for the audit) and the ids of the
   * others, oldest first. The delete and the read see the same snapshot and
   * disjoint rows (expired or not at the call's time).
   */
  private readonly logins = new Batch<UserCall, { expired: PendingCommand[]; pending: string[] }>(
    async (calls) => {
      const r = await this.db.query<CommandRow & { i: number; expired: boolean }>(
        `with u as (select * from unnest($1::text[], $2::timestamptz[]) with ordinality as u(user_id, now, i)),
           dropped as (delete from admin_commands c using u where c.user_id = u.user_id and c.expires_at <= u.now
                       returning u.i, true as expired, c.seq, ${prefixed('c', COMMAND_COLUMNS)})
         select x.i::int as i, x.expired, ${prefixed('x', COMMAND_COLUMNS)}
           from (select * from dropped
                 union all
                 select u.i, false, c.seq, ${prefixed('c', COMMAND_COLUMNS)} from u join admin_commands c on c.user_id = u.user_id and c.expires_at > u.now) x
          order by x.i, x.expired desc, x.seq`,
        userArrays(calls),
      );
      return byCall(calls, r.rows).map((rows) => ({ expired: rows.filter((x) => x.expired).map(commandOf), pending: rows.filter((x) => !x.expired).map((x) => x.id) }));
    },
    { alone: async (c) => ({ expired: await this.dropExpiredOne(c), pending: await this.pendingIdsOne(c) }) },
  );

  constructor(private readonly db: Db) {}

  /** At login: the user's expired commands, deleted, and the ids of the pending ones (as dropExpired, then pendingIds). */
  atLogin(userId: string, now = Date.now()): Promise<{ expired: PendingCommand[]; pending: string[] }> {
    return this.logins.call({ userId, now });
  }

  async defer(c: { id: string; userId: string; kind: string; args: unknown; issuedBy: string; expiresAt: number }): Promise<PendingCommand> {
    const r = await this.db.query<CommandRow>(
      `insert into admin_commands (id, user_id, kind, args, issued_by, expires_at) values ($1, $2, $3, $4, $5, $6) returning ${COMMAND_COLUMNS}`,
      [c.id, c.userId, c.kind, JSON.stringify(c.args), c.issuedBy, new Date(c.expiresAt)],
    );
    return commandOf(r.rows[0]!);
  }

  /** Unexpired pending commands, oldest first: of one user, or of everyone (up to `limit`). */
  async pending(userId: string | undefined, limit = 200, now = Date.now()): Promise<PendingCommand[]> {
    const r = userId
      ? await this.db.query<CommandRow>(`select ${COMMAND_COLUMNS} from admin_commands where user_id = $1 and expires_at > $2 order by seq limit $3`, [userId, new Date(now), limit])
      : await this.db.query<CommandRow>(`select ${COMMAND_COLUMNS} from admin_commands where expires_at > $1 order by seq limit $2`, [new Date(now), limit]);
    return r.rows.map(commandOf);
  }

  /** Ids of a user's unexpired pending commands, in the order they were issued. */
  pendingIds(userId: string, now = Date.now()): Promise<string[]> {
    return this.pendingLists.call({ userId, now });
  }

  private async pendingIdsOne({ userId, now }: UserCall): Promise<string[]> {
    const r = await this.db.query<{ id: string }>('select id from admin_commands where user_id = $1 and expires_at > $2 order by seq', [userId, new Date(now)]);
    return r.rows.map((x) => x.id);
  }

  /** Takes one pending command for running: deleted and returned, or undefined if it is gone, expired or someone else took it. */
  async claim(id: string, now = Date.now()): Promise<PendingCommand | undefined> {
    const r = await this.db.query<CommandRow>(`delete from admin_commands where id = $1 and expires_at > $2 returning ${COMMAND_COLUMNS}`, [id, new Date(now)]);
    return r.rows[0] && commandOf(r.rows[0]);
  }

  /** Deletes a pending command unrun (an operator cancels it). */
  async cancel(id: string): Promise<PendingCommand | undefined> {
    const r = await this.db.query<CommandRow>(`delete from admin_commands where id = $1 returning ${COMMAND_COLUMNS}`, [id]);
    return r.rows[0] && commandOf(r.rows[0]);
  }

  /** Deletes a user's expired commands (never run) and returns them, for the audit. */
  dropExpired(userId: string, now = Date.now()): Promise<PendingCommand[]> {
    return this.dropping.call({ userId, now });
  }

  private async dropExpiredOne({ userId, now }: UserCall): Promise<PendingCommand[]> {
    const r = await this.db.query<CommandRow>(`delete from admin_commands where user_id = $1 and expires_at <= $2 returning ${COMMAND_COLUMNS}`, [userId, new Date(now)]);
    return r.rows.map(commandOf);
  }

  async audit(e: AuditEntry): Promise<void> {
    await this.db.query(
      'insert into admin_audit (actor, user_id, kind, args, mode, event, command_id, ok, error, result) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [e.actor, e.userId, e.kind, JSON.stringify(e.args ?? null), e.mode, e.event, e.commandId, e.ok, e.error, e.result === undefined ? null : JSON.stringify(e.result)],
    );
  }

  /** Audit rows, newest first: of one user, or of everyone; optionally of one kind, event, mode or actor. */
  async auditLog(userId: string | undefined, limit = 100, filter: { kind?: string | undefined; event?: AuditEvent | undefined; mode?: AuditMode | undefined; actor?: string | undefined } = {}): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['user_id', userId], ['kind', filter.kind], ['event', filter.event], ['mode', filter.mode], ['actor', filter.actor]] as const) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    params.push(limit);
    const r = await this.db.query<AuditDbRow>(`select * from admin_audit ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit $${params.length}`, params);
    return r.rows.map(auditOf);
  }

  /** Ids of accounts whose display name starts with `name` (any case), exact matches first. */
  async findUserIds(name: string, limit = 20): Promise<string[]> {
    const exact = name.normalize('NFKC').toLowerCase();
    const prefix = exact.replace(/[\\%_]/g, (ch) => `\\${ch}`) + '%';
    const r = await this.db.query<{ id: string }>(
      `select id from accounts where lower(name) like $1 order by (lower(name) = $2) desc, (kind = 'named') desc, created_at desc limit $3`,
      [prefix, exact, limit],
    );
    return r.rows.map((x) => x.id);
  }
}
