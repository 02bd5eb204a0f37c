import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Accounts } from '../../server/src/store/accounts.js';
import { AdminStore } from '../../server/src/store/adminCommands.js';
import { openDb, type Db } from '../../server/src/store/db.js';
import { Friends } from '../../server/src/store/friends.js';
import { Mail } from '../../server/src/store/mail.js';

/** The real database, counting the statements sent to it. */
function counting(db: Db): Db & { statements: string[] } {
  const statements: string[] = [];
  return {
    kind: db.kind,
    statements,
    query: (sql, params) => (statements.push(sql), db.query(sql, params)),
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    limited: () => db,
    close: () => db.close(),
  };
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-${Math.random().toString(36).slice(2, 8)}`);

/** Calls of one kind made together go to storage as one statement, with the same answers as one by one. */
describe.each(['pglite', 'postgres'] as const)('batched storage calls on %s', (engine) => {
  let raw: Db;
  beforeAll(async () => {
    raw = await openDb(engine === 'postgres' ? { databaseUrl: inject('databaseUrl') } : {});
    const { migrate } = await import('../../server/src/store/migrations.js');
    await migrate(raw);
  }, 60_000);
  afterAll(() => raw.close());

  it('creates guests that arrive together with one insert: distinct accounts, each logging in with its own device secret', async () => {
    const db = counting(raw);
    const accounts = new Accounts(db);
    const made = await Promise.all(Array.from({ length: 25 }, (_, i) => accounts.createGuest(`Guest ${i}`)));
    expect(db.statements.filter((s) => s.includes('insert into accounts'))).toHaveLength(1);
    expect(new Set(made.map((m) => m.account.id)).size).toBe(25);
    expect(new Set(made.map((m) => m.deviceSecret)).size).toBe(25);
    made.forEach((m, i) => expect(m.account).toMatchObject({ kind: 'guest', name: `Guest ${i}`, level: 1, role: 'player' }));
    const back = await Promise.all(made.map((m) => accounts.guestByDevice(m.deviceSecret)));
    expect(back.map((a) => a?.id)).toEqual(made.map((m) => m.account.id));
  });

  it('a guest that storage refuses fails alone: the others of its batch are created', async () => {
    const db = counting(raw);
    const accounts = new Accounts(db);
    // Postgres text cannot hold a NUL character: this row fails the multi-row insert, then its own.
    const outcomes = await Promise.allSettled(['Ann', 'Bad\u0000Name', 'Cy'].map((name) => accounts.createGuest(name)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const [ann, , cy] = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect((await accounts.get(ann!.account.id))?.name).toBe('Ann');
    expect((await accounts.get(cy!.account.id))?.name).toBe('Cy');
    // One multi-row insert, then each row by itself.
    expect(db.statements.filter((s) => s.includes('insert into accounts'))).toHaveLength(4);
  });

  it('reads accounts, friend lists, inboxes and pending commands of many players at once, as each alone would', async () => {
    const setup = new Accounts(raw);
    const users = await Promise.all(['A', 'B', 'C', 'D', 'E'].map((n) => setup.createGuest(n)));
    const [a, b, c, d, e] = users.map((u) => u.account.id) as [string, string, string, string, string];
    const friends = new Friends(raw);
    await friends.request(a, b);
    await friends.request(b, a);
    await friends.request(c, a);
    await friends.block(d, a);
    const mail = new Mail(raw, { inboxMax: 100, ttlMs: 60_000 });
    await mail.send({ sender: 'p:x', senderName: 'X', to: [a, b], body: 'first', clientMsgId: ids(1, 'm')[0]! }, new Set());
    await mail.send({ sender: 'p:x', senderName: 'X', to: [a], body: 'second', clientMsgId: ids(1, 'm')[0]! }, new Set());
    const admin = new AdminStore(raw);
    const now = Date.now();
    const [c1, c2, c3, c4] = ids(4, 'cmd');
    await admin.defer({ id: c1!, userId: a, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now - 1000 });
    await admin.defer({ id: c2!, userId: a, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now + 60_000 });
    await admin.defer({ id: c3!, userId: a, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now + 60_000 });
    await admin.defer({ id: c4!, userId: b, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now - 1 });

    // One by one (each call alone in its turn: the single-row statements).
    const alone = { accounts: new Accounts(raw), friends: new Friends(raw), mail: new Mail(raw, mail.options), admin: new AdminStore(raw) };
    const expected = {
      accounts: [] as unknown[],
      friends: [] as unknown[],
      mail: [] as unknown[],
      pending: [] as unknown[],
    };
    for (const u of [a, b, c, d, e]) {
      expected.accounts.push(await alone.accounts.get(u));
      expected.friends.push(await alone.friends.list(u));
      expected.mail.push(await alone.mail.list(u, 200, now));
      expected.pending.push(await alone.admin.pendingIds(u, now));
    }
    expect(expected.friends[0]).toEqual([
      expect.objectContaining({ userId: b, name: 'B', state: 'friend' }),
      expect.objectContaining({ userId: c, name: 'C', state: 'requestReceived' }),
    ]);
    expect(expected.pending[0]).toEqual([c2, c3]);

    // Together: one statement per kind, the same answers, duplicates and unknown ids included.
    const db = counting(raw);
    const batched = { accounts: new Accounts(db), friends: new Friends(db), mail: new Mail(db, mail.options), admin: new AdminStore(db) };
    const who = [a, b, c, d, e, a];
    const [got, lists, inboxes, pending, missing, short, later] = await Promise.all([
      Promise.all(who.map((u) => batched.accounts.get(u))),
      Promise.all(who.map((u) => batched.friends.list(u))),
      Promise.all(who.map((u) => batched.mail.list(u, 200, now))),
      Promise.all(who.map((u) => batched.admin.pendingIds(u, now))),
      batched.accounts.get('no-such-account'),
      batched.mail.list(a, 1, now),
      batched.mail.list(a, 200, now + 120_000),
    ]);
    expect(db.statements).toHaveLength(4);
    expect(got).toEqual([...expected.accounts, expected.accounts[0]]);
    expect(lists).toEqual([...expected.friends, expected.friends[0]]);
    expect(inboxes).toEqual([...expected.mail, expected.mail[0]]);
    expect((inboxes[0] as { body: string }[]).map((m) => m.body)).toEqual(['first', 'second']);
    expect(pending).toEqual([...expected.pending, expected.pending[0]]);
    expect(missing).toBeUndefined();
    expect(short.map((m) => m.body)).toEqual(['first']); // each call keeps its own limit…
    expect(later).toEqual([]); // …and its own time (all expired by then)

    // A login's two steps in one statement: the expired deleted (once, for one of a user's two calls), the pending listed.
    db.statements.length = 0;
    const logins = await Promise.all([a, b, a, c].map((u) => batched.admin.atLogin(u, now)));
    expect(db.statements).toHaveLength(1);
    expect([...logins[0]!.expired, ...logins[2]!.expired].map((x) => x.id)).toEqual([c1]);
    expect(logins[1]!.expired.map((x) => x.id)).toEqual([c4]);
    expect(logins.map((l) => l.pending)).toEqual([[c2, c3], [], [c2, c3], []]);
    expect(logins[3]!.expired).toEqual([]);
    await alone.admin.defer({ id: c1!, userId: a, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now - 1000 });
    await alone.admin.defer({ id: c4!, userId: b, kind: 'kick', args: {}, issuedBy: 'op', expiresAt: now - 1 });

    // Expired commands are deleted once: a user named twice in one batch gets them in one of the two answers.
    const dropped = await Promise.all([a, b, a, c].map((u) => batched.admin.dropExpired(u, now)));
    expect([...dropped[0]!, ...dropped[2]!].map((x) => x.id)).toEqual([c1]);
    expect(dropped[1]!.map((x) => x.id)).toEqual([c4]);
    expect(dropped[3]).toEqual([]);
    expect(await alone.admin.pendingIds(a, now)).toEqual([c2, c3]);
  });
});
