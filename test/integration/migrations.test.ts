import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../server/src/store/db.js';
import { migrate } from '../../server/src/store/migrations.js';
import { ADMIN_URL } from '../globalSetup.js';

describe('migrations', () => {
  it('nodes starting together on a fresh database apply each migration once, and none of them fails', async () => {
    // A database of this test's own: the run's shared one is migrated already.
    const name = `foyer_test_${Date.now()}_mig${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const dbs = await Promise.all([1, 2, 3].map(() => openDb({ databaseUrl: url.toString() })));
    try {
      const applied = await Promise.all(dbs.map((db) => migrate(db)));
      const all = applied.flat().sort((a, b) => a - b);
      expect(all.length).toBeGreaterThan(0);
      expect(new Set(all).size).toBe(all.length); // each migration applied by exactly one node
      const rows = await dbs[0]!.query<{ id: number }>('select id from schema_migrations order by id');
      expect(rows.rows.map((r) => r.id)).toEqual(all);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});
