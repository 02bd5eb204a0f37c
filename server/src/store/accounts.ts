import { createHash, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { LobbyError } from '../errors.js';
import { Batch } from './batch.js';
import type { Db } from './db.js';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

export type AccountKind = 'guest' | 'named' | 'external';
export type Role = 'player' | 'moderator' | 'admin';

export interface Account {
  id: string;
  kind: AccountKind;
  name: string;
  ratingMu: number;
  ratingSigma: number;
  level: number;
  school: string | null;
  side: string | null;
  custom: Record<string, unknown>;
  role: Role;
  bannedUntil: number | null;
  banReason: string | null;
  chatBannedUntil: number | null;
  createdAt: number;
}

interface Row {
  id: string;
  kind: AccountKind;
  name: string;
  rating_mu: number;
  rating_sigma: number;
  level: number;
  school: string | null;
  side: string | null;
  custom: Record<string, unknown>;
  role: Role;
  banned_until: Date | null;
  ban_reason: string | null;
  chat_banned_until: Date | null;
  created_at: Date;
  password_hash?: string | null;
}

const COLUMNS = 'id, kind, name, rating_mu, rating_sigma, level, school, side, custom, role, banned_until, ban_reason, chat_banned_until, created_at';

const fromRow = (r: Row): Account => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  ratingMu: r.rating_mu,
  ratingSigma: r.rating_sigma,
  level: r.level,
  school: r.school,
  side: r.side,
  custom: r.custom ?? {},
  role: r.role,
  bannedUntil: r.banned_until ? r.banned_until.getTime() : null,
  banReason: r.ban_reason,
  chatBannedUntil: r.chat_banned_until ? r.chat_banned_until.getTime() : null,
  createdAt: r.created_at.getTime(),
});

// scrypt at N=2^14, r=8: ~50 ms of one core per check, which is the point.
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return timingSafeEqual(got, expected);
}

interface NewGuest {
  id: string;
  name: string;
  deviceKey: string;
}

const deviceKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Display names are unique among named accounts, whatever their case. */
const nameKey = (name: string) => name.normalize('NFKC').toLowerCase();

/** Accounts: guests that persist by a device secret, named accounts with a password, external subjects. */
export class Accounts {
  /** Logins read the account they just made or checked (standings): one statement per burst. */
  private readonly gets = new Batch<string, Account | undefined>(
    async (ids) => {
      const r = await this.db.query<Row>(`select ${COLUMNS} from accounts where id = any($1::text[])`, [ids]);
      const byId = new Map(r.rows.map((row) => [row.id, row]));
      return ids.map((id) => {
        const row = byId.get(id);
        return row && fromRow(row);
      });
    },
    { alone: (id) => this.getOne(id) },
  );
  /** New guests come in bursts (a game's players arriving): one multi-row insert per burst. */
  private readonly guests = new Batch<NewGuest, Account>(
    async (guests) => {
      const r = await this.db.query<Row>(
        `insert into accounts (id, kind, name, device_key, last_login_at)
         select id, 'guest', name, device_key, now() from unnest($1::text[], $2::text[], $3::text[]) as g(id, name, device_key)
         returning ${COLUMNS}`,
        [guests.map((g) => g.id), guests.map((g) => g.name), guests.map((g) => g.deviceKey)],
      );
      const byId = new Map(r.rows.map((row) => [row.id, row]));
      return guests.map((g) => fromRow(byId.get(g.id)!));
    },
    // A failed insert (a constraint) is tried again row by row: it fails only the guest it is about.
    { alone: (g) => this.insertGuest(g) },
  );

  constructor(private readonly db: Db) {}

  get(id: string): Promise<Account | undefined> {
    return this.gets.call(id);
  }

  private async getOne(id: string): Promise<Account | undefined> {
    const r = await this.db.query<Row>(`select ${COLUMNS} from accounts where id = $1`, [id]);
    return r.rows[0] && fromRow(r.rows[0]);
  }

  async getByName(name: string): Promise<Account | undefined> {
    const r = await this.db.query<Row>(`select ${COLUMNS} from accounts where name_key = $1`, [nameKey(name)]);
    return r.rows[0] && fromRow(r.rows[0]);
  }

  /** A new guest; the device secret is returned once and only its hash is kept. */
  async createGuest(name: string): Promise<{ account: Account; deviceSecret: string }> {
    const deviceSecret = randomBytes(32).toString('base64url');
    const account = await this.guests.call({ id: randomUUID(), name, deviceKey: deviceKey(deviceSecret) });
    return { account, deviceSecret };
  }

  private async insertGuest(g: NewGuest): Promise<Account> {
    const r = await this.db.query<Row>(`insert into accounts (id, kind, name, device_key, last_login_at) values ($1, 'guest', $2, $3, now()) returning ${COLUMNS}`, [
      g.id,
      g.name,
      g.deviceKey,
    ]);
    return fromRow(r.rows[0]!);
  }

  async guestByDevice(deviceSecret: string): Promise<Account | undefined> {
    const r = await this.db.query<Row>(`update accounts set last_login_at = now() where device_key = $1 returning ${COLUMNS}`, [deviceKey(deviceSecret)]);
    return r.rows[0] && fromRow(r.rows[0]);
  }

  /** A named account; `upgrade` turns that guest into it, keeping its id, rating and friends. */
  async register(name: string, password: string, upgrade?: string): Promise<Account> {
    const hash = await hashPassword(password);
    try {
      const r = upgrade
        ? await this.db.query<Row>(
            `update accounts set kind = 'named', name = $2, name_key = $3, password_hash = $4, device_key = null where id = $1 and kind = 'guest' returning ${COLUMNS}`,
            [upgrade, name, nameKey(name), hash],
          )
        : await this.db.query<Row>(
            `insert into accounts (id, kind, name, name_key, password_hash, last_login_at) values ($1, 'named', $2, $3, $4, now()) returning ${COLUMNS}`,
            [randomUUID(), name, nameKey(name), hash],
          );
      if (!r.rows[0]) throw new LobbyError('NOT_A_GUEST', 'only a guest account can be upgraded');
      return fromRow(r.rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new LobbyError('NAME_TAKEN', 'that name is taken');
      throw err;
    }
  }

  /** The account if the password is right; undefined otherwise (the caller says no without saying which part was wrong). */
  async login(name: string, password: string): Promise<Account | undefined> {
    const r = await this.db.query<Row>(`select ${COLUMNS}, password_hash from accounts where name_key = $1`, [nameKey(name)]);
    const row = r.rows[0];
    if (!row?.password_hash) {
      await hashPassword(password); // same cost either way: timing does not tell which names exist
      return undefined;
    }
    if (!(await verifyPassword(password, row.password_hash))) return undefined;
    await this.db.query('update accounts set last_login_at = now() where id = $1', [row.id]);
    return fromRow(row);
  }

  /** The account linked to an external issuer's subject, created on first sight. */
  async external(subject: string, name: string): Promise<Account> {
    const r = await this.db.query<Row>(
      `insert into accounts (id, kind, name, external_subject, last_login_at) values ($1, 'external', $2, $3, now())
       on conflict (external_subject) do update set last_login_at = now() returning ${COLUMNS}`,
      [randomUUID(), name, subject],
    );
    return fromRow(r.rows[0]!);
  }

  async update(id: string, fields: Partial<Pick<Account, 'level' | 'school' | 'side' | 'custom' | 'role' | 'ratingMu' | 'ratingSigma' | 'bannedUntil' | 'banReason' | 'chatBannedUntil'>>): Promise<Account | undefined> {
    const column: Record<string, string> = {
      level: 'level',
      school: 'school',
      side: 'side',
      custom: 'custom',
      role: 'role',
      ratingMu: 'rating_mu',
      ratingSigma: 'rating_sigma',
      bannedUntil: 'banned_until',
      banReason: 'ban_reason',
      chatBannedUntil: 'chat_banned_until',
    };
    const sets: string[] = [];
    const values: unknown[] = [id];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      values.push(k.endsWith('Until') && typeof v === 'number' ? new Date(v) : k === 'custom' ? JSON.stringify(v) : v);
      sets.push(`${column[k]} = $${values.length}`);
    }
    if (!sets.length) return this.get(id);
    const r = await this.db.query<Row>(`update accounts set ${sets.join(', ')} where id = $1 returning ${COLUMNS}`, values);
    return r.rows[0] && fromRow(r.rows[0]);
  }
}

/** Refuses a banned account with the reason and the end of the ban. */
export function assertNotBanned(a: Account, now = Date.now()): void {
  if (a.bannedUntil !== null && a.bannedUntil > now) {
    throw new LobbyError('BANNED', `banned until ${new Date(a.bannedUntil).toISOString()}${a.banReason ? `: ${a.banReason}` : ''}`);
  }
}
