import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** The local Postgres server, as CI has it; DATABASE_URL points elsewhere. */
export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * One database of its own for this test run, so runs never collide; dropped
 * at the end. Leftovers of crashed runs older than a day are dropped too.
 */
export default async function setup(project: TestProject) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const name = `foyer_test_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const stale = await admin.query<{ datname: string }>("select datname from pg_database where datname like 'foyer_test_%'");
  for (const { datname } of stale.rows) {
    const at = Number(datname.split('_')[2]);
    if (at && Date.now() - at > 86_400_000) await admin.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
  }
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  project.provide('databaseUrl', url.toString());

  return async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.end();
  };
}
