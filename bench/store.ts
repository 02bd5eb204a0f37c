/**
 * The store on its own (no server, no network to clients): the Accounts and
 * Mail classes straight against embedded PGlite (a temporary data folder) and
 * against Postgres (a database of its own, created on the local server —
 * postgres://postgres@127.0.0.1:5432/postgres, or DATABASE_URL — and dropped
 * at the end).
 *
 * Per engine, each for a fixed time (`--seconds`, 10 by default):
 *   - password logins/s: Accounts.login (scrypt, N=2^14, r=8 — the hash is
 *     meant to be slow, so this measures scrypt on libuv's thread pool far
 *     more than the database), round-robin over a few named accounts;
 *   - guest logins/s: Accounts.guestByDevice (one update by device key),
 *     round-robin over 2,000 guests;
 *   - mail sends/s: Mail.send to one recipient, random sender and recipient
 *     among the guests (inbox limit 100, each send a new clientMsgId); every
 *     send is one transaction of two statements: the recipient's lock, then
 *     dedupe lookup, account check, inbox count and insert in one.
 * Requests run with bounded concurrency (`--concurrency`, 16; password logins
 * use the thread pool's size, 4 by default). Prints one table: operations,
 * rate, latency p50/p99, errors.
 * Run `npm run bench:store` or `node bench/dist/store.js [--seconds 10]
 * [--concurrency 16] [--engines pglite,postgres]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Accounts } from '@foyer/server/store/accounts';
import { openDb, type Db } from '@foyer/server/store/db';
import { Mail } from '@foyer/server/store/mail';
import { migrate } from '@foyer/server/store/migrations';
import { Errors, Samples, fmt, fmtInt, hardTimeout, pool, say, stats, table } from './lib.js';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GUESTS = 2000;
const NAMED = 16;
const PASSWORD = 'bench-password-1';

type Engine = 'pglite' | 'postgres';
interface Row {
  engine: string;
  figure: string;
  ops: number;
  perSec: number;
  p50: number;
  p99: number;
  errors: Errors;
  concurrency: number;
}

/** Runs `op` for `seconds` with `concurrency` in flight; latencies in ms. */
async function timed(seconds: number, concurrency: number, op: (i: number) => Promise<void>): Promise<{ ops: number; secs: number; lat: Samples; errors: Errors }> {
  const lat = new Samples(1 << 14);
  const errors = new Errors();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(next++);
          ops++;
          lat.push(performance.now() - t0);
        } catch (err) {
          errors.add(err);
        }
      }
    }),
  );
  return { ops, secs: (performance.now() - start) / 1000, lat, errors };
}

async function benchEngine(engine: Engine, db: Db, seconds: number, concurrency: number): Promise<Row[]> {
  const t0 = performance.now();
  await migrate(db);
  const accounts = new Accounts(db);
  const mail = new Mail(db, { inboxMax: 100, ttlMs: 30 * 86_400_000 });
  const run = randomBytes(3).toString('hex');
  const names = Array.from({ length: NAMED }, (_, i) => `bench-${run}-${i}`);
  await pool(NAMED, 4, async (i) => void (await accounts.register(names[i]!, PASSWORD)));
  const guests: { id: string; secret: string }[] = [];
  await pool(GUESTS, concurrency, async () => {
    const g = await accounts.createGuest('Bench guest');
    guests.push({ id: g.account.id, secret: g.deviceSecret });
  });
  say(`[${engine}] set up ${NAMED} named accounts and ${fmtInt(GUESTS)} guests in ${fmt((performance.now() - t0) / 1000, 1)} s`);

  const rows: Row[] = [];
  const figure = async (name: string, c: number, op: (i: number) => Promise<void>) => {
    const r = await timed(seconds, c, op);
    const s = stats(r.lat.values());
    rows.push({ engine, figure: name, ops: r.ops, perSec: r.ops / r.secs, p50: s.p50, p99: s.p99, errors: r.errors, concurrency: c });
    say(`[${engine}] ${name}: ${fmtInt(r.ops)} in ${fmt(r.secs, 1)} s = ${fmtInt(r.ops / r.secs)}/s, p50 ${fmt(s.p50, 2)} ms, p99 ${fmt(s.p99, 2)} ms${r.errors.count ? `; ${r.errors.count} errors: ${r.errors}` : ''}`);
  };

  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  await figure('password logins (scrypt)', threads, async (i) => {
    if (!(await accounts.login(names[i % NAMED]!, PASSWORD))) throw new Error('login refused');
  });
  await figure('guest logins (device secret)', concurrency, async (i) => {
    if (!(await accounts.guestByDevice(guests[i % GUESTS]!.secret))) throw new Error('unknown device');
  });
  let full = 0;
  await figure('mail sends (1 recipient)', concurrency, async (i) => {
    const from = guests[(Math.random() * GUESTS) | 0]!;
    const to = guests[(Math.random() * GUESTS) | 0]!;
    const r = await mail.send({ sender: `bench:${from.id}`, senderName: 'Bench', to: [to.id], body: `message ${i} of the store bench`, clientMsgId: `${run}-${i}` });
    if (r.failed.length) full++;
  });
  if (full) say(`[${engine}] ${fmtInt(full)} sends were refused (INBOX_FULL): counted as sends`);
  return rows;
}

async function withPglite<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'foyer-bench-pglite-'));
  try {
    const db = await openDb({ dataDir: dir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withPostgres<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  const name = `foyer_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  try {
    // Leftovers of benches killed more than a day ago.
    const stale = await admin.query<{ datname: string }>("select datname from pg_database where datname like 'foyer_bench_%'");
    for (const { datname } of stale.rows) {
      const at = Number(datname.split('_')[2]);
      if (at && Date.now() - at > 86_400_000) await admin.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
    await admin.query(`create database "${name}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const db = await openDb({ databaseUrl: url.toString() });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`).catch((err: Error) => say(`could not drop database ${name}: ${err.message}`));
    await admin.end();
  }
}

function print(rows: Row[], notes: string[]): void {
  say('');
  say(
    table(
      ['engine', 'figure', 'in flight', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'errors'],
      rows.map((r) => [r.engine, r.figure, String(r.concurrency), fmtInt(r.ops), fmtInt(r.perSec), fmt(r.p50, 2), fmt(r.p99, 2), String(r.errors.count)]),
    ),
  );
  for (const n of notes) say(`- ${n}`);
}

const { values } = parseArgs({ options: { seconds: { type: 'string' }, concurrency: { type: 'string' }, engines: { type: 'string' } } });
const seconds = Number(values.seconds ?? 10);
const concurrency = Number(values.concurrency ?? 16);
const engines = (values.engines ?? 'pglite,postgres').split(',') as Engine[];
const rows: Row[] = [];
const notes: string[] = [];
// Three figures per engine plus set-up; past this something hangs.
const guard = hardTimeout(engines.length * (3 * seconds + 60), () => print(rows, [...notes, 'cut short by the hard timeout']));
say(`store bench (node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${seconds} s per figure, ${concurrency} in flight)`);
for (const engine of engines) {
  try {
    rows.push(...(await (engine === 'pglite' ? withPglite : withPostgres)((db) => benchEngine(engine, db, seconds, concurrency))));
  } catch (err) {
    notes.push(`${engine}: not measured: ${(err as Error).message}`);
    say(`[${engine}] failed: ${(err as Error).stack ?? err}`);
  }
}
guard.clear();
notes.push('password logins are scrypt-bound (N=2^14 on libuv\'s thread pool): about what the cores give, whatever the engine');
notes.push(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other processes on the machine take cores from every figure)`);
print(rows, notes);
