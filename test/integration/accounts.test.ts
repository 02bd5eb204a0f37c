import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accounts } from '../../server/src/store/accounts.js';
import { openDb, type Db } from '../../server/src/store/db.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { inject } from 'vitest';

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;

describe('accounts', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(() => t.stop());

  it('a guest comes back as the same account with its device secret', async () => {
    const a = t.client();
    await a.connect();
    const first = await a.call('auth.guest', { name: 'Wanderer' });
    expect(first.deviceSecret).toBeTruthy();
    await a.call('profile.update', { school: 'mage', custom: { hat: 'red' } });
    await a.close();

    const b = t.client();
    await b.connect();
    const again = await b.call('auth.guest', { name: 'Ignored', deviceSecret: first.deviceSecret! });
    expect(again.userId).toBe(first.userId);
    expect(again.deviceSecret).toBeUndefined();
    expect((await b.call('profile.get', {})).profile).toMatchObject({ kind: 'guest', school: 'mage', custom: { hat: 'red' } });

    const c = t.client();
    await c.connect();
    expect(await code(c.call('auth.guest', { name: 'X', deviceSecret: 'not-a-device-secret-at-all' }))).toBe('WRONG_CREDENTIALS');
  });

  it('registers named accounts with unique names whatever their case, and logs them in', async () => {
    const name = unique('Hero');
    const a = t.client();
    await a.connect();
    const reg = await a.call('auth.register', { name, password: 'correct horse' });
    expect(reg.name).toBe(name);
    const b = t.client();
    await b.connect();
    expect(await code(b.call('auth.register', { name: name.toUpperCase(), password: 'another one' }))).toBe('NAME_TAKEN');
    expect(await code(b.call('auth.login', { name, password: 'wrong password' }))).toBe('WRONG_CREDENTIALS');
    expect(await code(b.call('auth.login', { name: unique('Nobody'), password: 'whatever1' }))).toBe('WRONG_CREDENTIALS');
    const login = await b.call('auth.login', { name: name.toLowerCase(), password: 'correct horse' });
    expect(login.userId).toBe(reg.userId);
    // The SDK keeps the token of these logins, so a dropped connection resumes the session.
    expect(a.token).toBe(reg.token);
    expect(b.token).toBe(login.token);
    expect(b.userId).toBe(reg.userId);
    // Only the scrypt hash is stored or logged, never the password.
    expect(t.logs.join('')).not.toContain('correct horse');
  });

  it('upgrades a guest to a named account, keeping its id', async () => {
    const a = t.client();
    await a.connect();
    const g = await a.call('auth.guest', { name: 'Soon named' });
    const name = unique('Named');
    const up = await a.call('auth.upgrade', { name, password: 'a good password' });
    expect(up.userId).toBe(g.userId);
    expect(await code(a.call('auth.upgrade', { name: unique('Twice'), password: 'a good password' }))).toBe('NOT_A_GUEST');
    const b = t.client();
    await b.connect();
    expect((await b.call('auth.login', { name, password: 'a good password' })).userId).toBe(g.userId);
    // The device secret no longer logs in: the account has a password now.
    expect(await code(b.call('auth.guest', { name: 'x', deviceSecret: g.deviceSecret! }))).toBe('ALREADY_AUTHENTICATED');
  });

  it('throttles repeated failed logins per name', async () => {
    const name = unique('Target');
    const a = t.client();
    await a.connect();
    await a.call('auth.register', { name, password: 'the real one' });
    const b = t.client();
    await b.connect();
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push(await code(b.call('auth.login', { name, password: `guess ${i}` })));
    expect(codes.slice(0, 10).every((c) => c === 'WRONG_CREDENTIALS')).toBe(true);
    expect(codes.slice(10)).toEqual(['LOGIN_THROTTLED', 'LOGIN_THROTTLED']);
    // Even the right password waits now: the throttle is checked before the password.
    expect(await code(b.call('auth.login', { name, password: 'the real one' }))).toBe('LOGIN_THROTTLED');
  });

  it('refuses a banned account at login, with the reason', async () => {
    const name = unique('Cheater');
    const a = t.client();
    await a.connect();
    const reg = await a.call('auth.register', { name, password: 'wallhack123' });
    await a.close();
    const db = await openDb({ databaseUrl: inject('databaseUrl') });
    await new Accounts(db).update(reg.userId, { bannedUntil: Date.now() + 3_600_000, banReason: 'aimbot' });
    await db.close();
    const b = t.client();
    await b.connect();
    const err = await b.call('auth.login', { name, password: 'wallhack123' }).catch((e) => e);
    expect(err.code).toBe('BANNED');
    expect(err.message).toContain('aimbot');
    const c = t.client();
    await c.connect();
    expect(await code(c.call('auth.token', { token: reg.token }))).toBe('BANNED');
  });

  it('validates profile updates: custom data is limited to 4 KiB', async () => {
    const a = await t.guest('Prof');
    expect(await code(a.call('profile.update', { custom: { blob: 'x'.repeat(5000) } }))).toBe('BAD_REQUEST');
    const p = await a.call('profile.update', { school: 'mage', side: 'A' });
    expect(p.profile).toMatchObject({ school: 'mage', side: 'A', rating: { mu: 25 } });
    expect(p.profile.rating.ordinal).toBeCloseTo(25 - 3 * 8.3333, 2);
  });
});

/** The same store code on both engines. */
describe.each(['pglite', 'postgres'] as const)('store on %s', (engine) => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb(engine === 'postgres' ? { databaseUrl: inject('databaseUrl') } : {});
    const { migrate } = await import('../../server/src/store/migrations.js');
    await migrate(db);
    expect(await migrate(db)).toEqual([]); // a second run applies nothing
  }, 60_000);
  afterAll(() => db.close());

  it('keeps accounts: names unique case-insensitively, passwords verified, external subjects linked once', async () => {
    const accounts = new Accounts(db);
    const name = unique('Store');
    const a = await accounts.register(name, 'pass-word-1');
    await expect(accounts.register(name.toUpperCase(), 'pass-word-2')).rejects.toMatchObject({ code: 'NAME_TAKEN' });
    expect((await accounts.login(name, 'pass-word-1'))?.id).toBe(a.id);
    expect(await accounts.login(name, 'pass-word-2')).toBeUndefined();
    const sub = unique('sub');
    const x1 = await accounts.external(sub, 'Ext');
    const x2 = await accounts.external(sub, 'Ext again');
    expect(x2.id).toBe(x1.id);
    const rows = await db.query<{ password_hash: string }>('select password_hash from accounts where id = $1', [a.id]);
    expect(rows.rows[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(rows.rows[0]!.password_hash).not.toContain('pass-word-1');
  });

  it('rolls a failed transaction back', async () => {
    const accounts = new Accounts(db);
    const g = await accounts.createGuest('Tx');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('update accounts set level = 99 where id = $1', [g.account.id]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await accounts.get(g.account.id))?.level).toBe(1);
  });
});
