import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type pg from 'pg';
import { LobbyError } from '../errors.js';

/**
 * The one interface the store needs, over real Postgres (pg) or embedded
 * PGlite: the same SQL and migrations run on both.
 */
export interface Db {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction; a throw rolls it back. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * The same storage, for serving players: a call not answered within `ms`
   * fails with STORAGE_UNAVAILABLE, and while storage keeps failing calls
   * fail at once (see Breaker). Migrations use the unlimited one: they may
   * wait for another node's.
   */
  limited(ms: number): Db;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres://… — real Postgres. Absent: embedded PGlite. */
  databaseUrl?: string;
  /** PGlite's data folder; absent: in memory (tests). */
  dataDir?: string;
}

export async function openDb(options: DbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir);
}

async function openPostgres(url: string): Promise<Db> {
  const { default: pgModule } = await import('pg');
  const pool = new pgModule.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 3000 });
  // An idle client that loses its server must not crash the node; the next query reports it.
  pool.on('error', () => {});
  /**
   * `timeoutMs` also goes to pg: a query stuck on a dead server then fails
   * there and its connection is dropped, instead of being held until TCP
   * gives up (the JavaScript-side timeout alone would leave the pool full of them).
   */
  const wrap = (q: pg.Pool | pg.PoolClient, inTransaction: boolean, timeoutMs: number | undefined): Db => {
    const db: Db = {
      kind: 'postgres',
      async query<T>(sql: string, params?: unknown[]) {
        const r = await guard(() => q.query(queryConfig(sql, params, timeoutMs)));
        return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
      },
      exec: async (sql) => void (await guard(() => q.query(queryConfig(sql, undefined, timeoutMs)))),
      // A transaction inside a transaction joins it.
      transaction: (fn) => (inTransaction ? fn(db) : transaction(fn, timeoutMs)),
      limited: (ms) => (inTransaction ? db : guarded(wrap(pool, false, ms), ms)),
      close: () => pool.end(),
    };
    return db;
  };
  async function transaction<T>(fn: (tx: Db) => Promise<T>, timeoutMs: number | undefined): Promise<T> {
    const client = await guard(() => pool.connect());
    try {
      await guard(() => client.query('BEGIN'));
      const out = await fn(wrap(client, true, timeoutMs));
      await guard(() => client.query('COMMIT'));
      client.release();
      return out;
    } catch (err) {
      const broken = err instanceof LobbyError && err.code === 'STORAGE_UNAVAILABLE';
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      // A connection whose server stopped answering is dropped, not handed to the next caller.
      client.release(broken);
      throw err;
    }
  }
  return wrap(pool, false, undefined);
}

/** pg honours a per-query `query_timeout`; its typings leave it out. */
function queryConfig(text: string, values: unknown[] | undefined, timeoutMs: number | undefined): pg.QueryConfig {
  return { text, values, query_timeout: timeoutMs } as pg.QueryConfig;
}

/**
 * Postgres settings of the embedded database, given at every start (they win
 * over the postgresql.conf of an existing data folder). Its defaults size
 * shared memory for a server of its own: 128 MB of shared buffers, all of it
 * inside the node's WebAssembly heap. A lobby's tables are small, and the
 * operating system caches a data folder's files anyway (in memory mode the
 * files are in memory already). WAL is checkpointed after 32 MB, so that in
 * memory mode it does not grow towards the 1 GB default.
 */
const EMBEDDED_SETTINGS = ['shared_buffers=16MB', 'max_wal_size=32MB', 'min_wal_size=32MB'];

/** The PGlite options of the embedded database, for db.ts and pgliteInit.ts. */
export function embeddedOptions(Lite: typeof PGlite): PGliteOptions {
  const settings = EMBEDDED_SETTINGS.flatMap((s) => ['-c', s]);
  return {
    startParams: [...Lite.defaultStartParams, ...settings],
    // A new database: the same settings while it is created, and WAL in 1 MB files instead of 16 MB ones.
    initDbStartParams: ['--wal-segsize=1', ...settings],
  };
}

/**
 * Only Liftoff, V8's baseline WebAssembly compiler: the optimizing tier
 * compiles Postgres' hot functions again, and its code and work memory stay
 * in the process (about 100 MB of an idle node's RSS, docs/performance.md).
 * The embedded database does about 30% fewer operations per second for it.
 * Set before the database's WebAssembly is compiled; the node runs no other.
 */
export const EMBEDDED_V8_FLAGS = '--liftoff-only';

/** pgliteInit.js, next to this file once built (absent when running from the TypeScript sources). */
const INIT_SCRIPT = fileURLToPath(new URL('./pgliteInit.js', import.meta.url));

/**
 * Creates a new data folder in a short-lived child process. Creating a
 * database (initdb) runs a second Postgres instance and much one-off code;
 * in the node's own process the memory it used would stay there (about 80 MB
 * of RSS after GC). In memory mode there is no folder to hand over (loading
 * the database from a tar costs the node more than creating it), and without
 * the built script (running from the TypeScript sources) PGlite creates the
 * database in this process.
 */
async function createFolderInChild(dataDir: string | undefined): Promise<void> {
  if (dataDir === undefined || existsSync(join(dataDir, 'PG_VERSION')) || !existsSync(INIT_SCRIPT)) return;
  const child = spawn(process.execPath, [EMBEDDED_V8_FLAGS, INIT_SCRIPT, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`creating the embedded database in ${dataDir} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`);
}

async function openPglite(dataDir: string | undefined): Promise<Db> {
  await createFolderInChild(dataDir);
  setFlagsFromString(EMBEDDED_V8_FLAGS);
  const { PGlite: Lite } = await import('@electric-sql/pglite');
  const lite: PGlite = new Lite({ dataDir, ...embeddedOptions(Lite) });
  await lite.waitReady;
  // PGlite is one connection: transactions must not interleave with other queries.
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  };
  const exec = (q: { exec: PGlite['exec'] }) => async (sql: string) => void (await guard(() => q.exec(sql)));
  const direct = (q: { query: PGlite['query'] }): Db['query'] =>
    async <T>(sql: string, params?: unknown[]) => {
      const r = await guard(() => q.query<T>(sql, params));
      // PGlite counts only written rows in affectedRows (0 for a select).
      return { rows: r.rows, rowCount: r.rows.length || (r.affectedRows ?? 0) };
    };
  const db: Db = {
    kind: 'pglite',
    query: (sql, params) => serialize(() => direct(lite)(sql, params)),
    exec: (sql) => serialize(() => exec(lite)(sql)),
    transaction: (fn) =>
      serialize(() =>
        lite.transaction((tx) => {
          // A transaction inside a transaction joins it.
          const inner: Db = { kind: 'pglite', query: direct(tx), exec: exec(tx), transaction: (f) => f(inner), limited: () => inner, close: async () => {} };
          return fn(inner);
        }),
      ),
    // In-process: nothing to drop on a timeout, only the caller to answer.
    limited: (ms) => guarded(db, ms),
    close: () => lite.close(),
  };
  return db;
}

const unavailable = (why: string) => new LobbyError('STORAGE_UNAVAILABLE', `storage is unavailable (${why}); try again shortly`);

/** Storage calls fail with STORAGE_UNAVAILABLE after `timeoutMs`, and at once while the breaker is open. */
function guarded(db: Db, timeoutMs: number, breaker = new Breaker()): Db {
  const call = <T>(fn: () => Promise<T>): Promise<T> => breaker.run(() => withTimeout(fn(), timeoutMs), Date.now);
  const limited: Db = {
    kind: db.kind,
    query: (sql, params) => call(() => db.query(sql, params)),
    exec: (sql) => call(() => db.exec(sql)),
    transaction: (fn) => call(() => db.transaction(fn)),
    limited: () => limited,
    close: () => db.close(),
  };
  return limited;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timedOut]).finally(() => clearTimeout(timer));
}

/**
 * A circuit breaker: after `threshold` storage failures in a row (storage
 * unreachable or not answering in time) it opens, and calls fail at once
 * instead of each waiting out its timeout; after `openMs` one call goes
 * through as a probe, and its success closes the breaker again. Any answer
 * from storage, an SQL error included, counts as success.
 */
export class Breaker {
  private failures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly threshold = 3,
    private readonly openMs = 2000,
  ) {}

  get open(): boolean {
    return this.failures >= this.threshold;
  }

  async run<T>(fn: () => Promise<T>, now: () => number): Promise<T> {
    let probe = false;
    if (this.open) {
      if (this.probing || now() < this.openUntil) throw unavailable('failing fast while it does not answer');
      this.probing = probe = true;
    }
    try {
      const out = await fn();
      this.failures = 0;
      return out;
    } catch (err) {
      if (err instanceof LobbyError && err.code === 'STORAGE_UNAVAILABLE') {
        if (++this.failures >= this.threshold) this.openUntil = now() + this.openMs;
      } else this.failures = 0;
      throw err;
    } finally {
      if (probe) this.probing = false;
    }
  }
}

/** Connection-level failures become STORAGE_UNAVAILABLE; SQL errors stay what they are. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUnavailable(err)) throw new LobbyError('STORAGE_UNAVAILABLE', 'storage is unavailable; try again shortly');
    throw err;
  }
}

function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  // Node socket errors, Postgres "cannot connect now" / admin shutdown / crash classes, and pool timeouts.
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'].includes(e.code ?? '') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(e.message ?? '') ||
    e.code === '57014' // statement_timeout
  );
}
