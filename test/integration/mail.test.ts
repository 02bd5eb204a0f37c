import type { LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type Config } from '../../server/src/config.js';
import type { Cluster } from '../../server/src/cluster/cluster.js';
import type { Gateway, SessionListener } from '../../server/src/gateway/gateway.js';
import { OpRegistry } from '../../server/src/gateway/registry.js';
import type { Session } from '../../server/src/gateway/session.js';
import { registerMailOps } from '../../server/src/api/mailOps.js';
import { MailService } from '../../server/src/services/mailService.js';
import { Accounts } from '../../server/src/store/accounts.js';
import { openDb, type Db } from '../../server/src/store/db.js';
import { Mail, type MailMessage } from '../../server/src/store/mail.js';
import { migrate } from '../../server/src/store/migrations.js';
import { Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
const unique = (base: string) => `${base}-${Math.random().toString(36).slice(2, 10)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Player {
  client: LobbyClient;
  inbox: Inbox;
  userId: string;
  name: string;
  deviceSecret: string;
}

/** A new guest on `t`, with its mail events recorded from before its login. */
async function newPlayer(t: TestNode, base: string): Promise<Player> {
  const client = t.client();
  const inbox = new Inbox(client, ['mail.received']);
  await client.connect();
  const name = unique(base).slice(0, 32);
  const me = await client.call('auth.guest', { name });
  return { client, inbox, userId: me.userId, name, deviceSecret: me.deviceSecret! };
}

/** The same guest logging in again (on `t`, maybe another node), with a fresh event record. */
async function again(t: TestNode, p: Player): Promise<Player> {
  const client = t.client();
  const inbox = new Inbox(client, ['mail.received']);
  await client.connect();
  await client.call('auth.guest', { name: p.name, deviceSecret: p.deviceSecret });
  return { ...p, client, inbox };
}

describe('mail', () => {
  let t: TestNode;
  let t2: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    t2 = await startTestNode(); // same database: a second node of the lobby
  });
  afterAll(async () => {
    await t?.stop();
    await t2?.stop();
  });

  it('delivers live to an online recipient, named <project>:<userId>', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const r = await a.client.call('mail.send', { to: [b.userId], body: 'hello Bob', clientMsgId: 'c1' });
    expect(r.failed).toEqual([]);
    expect(r.sent).toEqual([{ to: b.userId, id: expect.any(String) }]);
    const got = await b.inbox.next('mail.received');
    expect(got.mail).toMatchObject({ id: r.sent[0]!.id, from: `foyer:${a.userId}`, fromName: a.name, body: 'hello Bob' });
    expect(got.mail.expiresAt - got.mail.sentAt).toBe(30 * 86_400_000);
    expect((await b.client.call('mail.list', {})).mail.map((m) => m.id)).toEqual([r.sent[0]!.id]);
  });

  it('keeps mail for an offline recipient: pushed at login and listed, on this node or another', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    await b.client.close();
    const first = await a.client.call('mail.send', { to: [b.userId], body: 'one', clientMsgId: 'm1' });
    const second = await a.client.call('mail.send', { to: [b.userId], body: 'two', clientMsgId: 'm2' });
    const ids = [first.sent[0]!.id, second.sent[0]!.id];

    // Back within the grace period on the same node, and as a new session on another node.
    for (const node of [t, t2]) {
      const b2 = await again(node, b);
      expect((await b2.client.call('mail.list', {})).mail.map((m) => [m.id, m.body])).toEqual([
        [ids[0], 'one'],
        [ids[1], 'two'],
      ]);
      await b2.inbox.next('mail.received', (d) => d.mail.id === ids[1]);
      expect(b2.inbox.of('mail.received').map((d) => d.mail.id)).toEqual(ids);
      await b2.client.close();
    }
  });

  it('mail sent while its recipient logs in arrives once (live or pushed, not both)', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    await b.client.close();
    const early = await Promise.all([0, 1, 2].map((i) => a.client.call('mail.send', { to: [b.userId], body: `early ${i}`, clientMsgId: `early${i}` })));
    const client = t.client();
    const inbox = new Inbox(client, ['mail.received']);
    await client.connect();
    const [, ...during] = await Promise.all([
      client.call('auth.guest', { name: b.name, deviceSecret: b.deviceSecret }),
      ...[0, 1, 2, 3, 4].map((i) => a.client.call('mail.send', { to: [b.userId], body: `during ${i}`, clientMsgId: `during${i}` })),
    ]);
    const ids = [...early, ...during].map((r) => r.sent[0]!.id);
    for (const id of ids) await inbox.next('mail.received', (d) => d.mail.id === id);
    await client.call('mail.list', {});
    await sleep(100);
    expect(inbox.of('mail.received').map((d) => d.mail.id).sort()).toEqual([...ids].sort());
  });

  it('sends to several recipients; unknown ones fail with USER_NOT_FOUND', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const c = await newPlayer(t2, 'Cat'); // on the other node: gets it at login there
    const ghost = unique('no-such-user');
    const r = await a.client.call('mail.send', { to: [b.userId, c.userId, ghost, b.userId], body: 'party at 8', clientMsgId: 'multi' });
    expect(r.sent.map((s) => s.to).sort()).toEqual([b.userId, c.userId].sort());
    expect(new Set(r.sent.map((s) => s.id)).size).toBe(2);
    expect(r.failed).toEqual([{ to: ghost, code: 'USER_NOT_FOUND' }]);
    expect((await b.inbox.next('mail.received')).mail.body).toBe('party at 8');
    expect(b.inbox.of('mail.received')).toHaveLength(1);
    expect((await c.client.call('mail.list', {})).mail.map((m) => m.body)).toEqual(['party at 8']);
  });

  it('sends a batch and returns what failed, keyed by clientMsgId', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const ghost1 = unique('ghost');
    const ghost2 = unique('ghost');
    const r = await a.client.call('mail.sendBatch', {
      messages: [
        { to: [b.userId], body: 'first', clientMsgId: 'b1' },
        { to: [ghost1], body: 'lost', clientMsgId: 'b2' },
        { to: [b.userId, ghost2], body: 'third', clientMsgId: 'b3' },
      ],
    });
    expect(r.failed).toEqual([
      { clientMsgId: 'b2', to: ghost1, code: 'USER_NOT_FOUND' },
      { clientMsgId: 'b3', to: ghost2, code: 'USER_NOT_FOUND' },
    ]);
    await b.inbox.next('mail.received', (d) => d.mail.body === 'third');
    expect(b.inbox.of('mail.received').map((d) => d.mail.body)).toEqual(['first', 'third']);
    // The same batch again sends nothing new.
    const again = await a.client.call('mail.sendBatch', { messages: [{ to: [b.userId], body: 'first', clientMsgId: 'b1' }] });
    expect(again.failed).toEqual([]);
    expect((await b.client.call('mail.list', {})).mail.map((m) => m.body)).toEqual(['first', 'third']);
  });

  it('a resend with the same clientMsgId changes nothing and returns the same ids', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const c = await newPlayer(t, 'Cat');
    const first = await a.client.call('mail.send', { to: [b.userId, c.userId], body: 'once', clientMsgId: 'same' });
    const second = await a.client.call('mail.send', { to: [c.userId, b.userId], body: 'once (retry)', clientMsgId: 'same' });
    const byTo = (r: typeof first) => Object.fromEntries(r.sent.map((s) => [s.to, s.id]));
    expect(byTo(second)).toEqual(byTo(first));
    // Another sender may use the same client id: it is a different message.
    const d = await newPlayer(t, 'Dan');
    const other = await d.client.call('mail.send', { to: [b.userId], body: 'mine', clientMsgId: 'same' });
    expect(other.sent[0]!.id).not.toBe(byTo(first)[b.userId]);
    await b.inbox.next('mail.received', (e) => e.mail.body === 'mine');
    expect(b.inbox.of('mail.received').map((e) => e.mail.body)).toEqual(['once', 'mine']);
    expect((await b.client.call('mail.list', {})).mail.map((m) => m.body)).toEqual(['once', 'mine']);
  });

  it('ack deletes: never listed or delivered again, across a reconnect and on another node', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const m1 = (await a.client.call('mail.send', { to: [b.userId], body: 'read me', clientMsgId: 'x1' })).sent[0]!.id;
    const m2 = (await a.client.call('mail.send', { to: [b.userId], body: 'keep me', clientMsgId: 'x2' })).sent[0]!.id;
    await b.inbox.next('mail.received', (d) => d.mail.id === m2);
    expect(await b.client.call('mail.ack', { ids: [m1] })).toEqual({ deleted: 1 });
    expect(await b.client.call('mail.ack', { ids: [m1] })).toEqual({ deleted: 0 });
    expect((await b.client.call('mail.list', {})).mail.map((m) => m.id)).toEqual([m2]);
    await b.client.close();

    for (const node of [t, t2]) {
      const b2 = await again(node, b);
      // The login push is one batch, oldest first: once m2 is in, m1 would have come before it.
      await b2.inbox.next('mail.received', (d) => d.mail.id === m2);
      expect(b2.inbox.of('mail.received').map((d) => d.mail.id)).toEqual([m2]);
      expect((await b2.client.call('mail.list', {})).mail.map((m) => m.id)).toEqual([m2]);
      await b2.client.close();
    }
  });

  it('a block either way fails that recipient with BLOCKED', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const c = await newPlayer(t, 'Cat');
    const d = await newPlayer(t, 'Dan');
    await b.client.call('friends.block', { userId: a.userId }); // b refuses a's mail
    await b.client.close(); // ... also while offline
    await a.client.call('friends.block', { userId: c.userId }); // a does not write to whom a blocked
    const r = await a.client.call('mail.send', { to: [b.userId, c.userId, d.userId], body: 'hi all', clientMsgId: 'blk' });
    expect(r.sent.map((s) => s.to)).toEqual([d.userId]);
    expect(r.failed.sort((x, y) => x.to.localeCompare(y.to))).toEqual(
      [
        { to: b.userId, code: 'BLOCKED' },
        { to: c.userId, code: 'BLOCKED' },
      ].sort((x, y) => x.to.localeCompare(y.to)),
    );
    await a.client.call('friends.unblock', { userId: c.userId });
    expect((await a.client.call('mail.send', { to: [c.userId], body: 'sorry', clientMsgId: 'blk2' })).failed).toEqual([]);
  });

  it('nobody else can ack your mail', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    const m = (await a.client.call('mail.send', { to: [b.userId], body: 'private', clientMsgId: 'p1' })).sent[0]!.id;
    expect(await a.client.call('mail.ack', { ids: [m] })).toEqual({ deleted: 0 });
    const mallory = await newPlayer(t2, 'Mal');
    expect(await mallory.client.call('mail.ack', { ids: [m] })).toEqual({ deleted: 0 });
    expect((await b.client.call('mail.list', {})).mail.map((x) => x.id)).toEqual([m]);
    expect(await b.client.call('mail.ack', { ids: [m, 'not-an-id'] })).toEqual({ deleted: 1 });
  });

  it('validates: the body is at most 2000 characters, at most 50 recipients', async () => {
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    expect(await code(a.client.call('mail.send', { to: [b.userId], body: 'x'.repeat(2001), clientMsgId: 'long' }))).toBe('BAD_REQUEST');
    expect(await code(a.client.call('mail.send', { to: [b.userId], body: '', clientMsgId: 'empty' }))).toBe('BAD_REQUEST');
    expect(await code(a.client.call('mail.send', { to: Array.from({ length: 51 }, (_, i) => `u${i}`), body: 'hi', clientMsgId: 'many' }))).toBe('BAD_REQUEST');
    const ok = await a.client.call('mail.send', { to: [b.userId], body: 'x'.repeat(2000), clientMsgId: 'max' });
    expect(ok.sent).toHaveLength(1);
  });
});

describe('mail limits', () => {
  const nodes: TestNode[] = [];
  const start = async (o: Partial<Config>) => {
    const n = await startTestNode(o);
    nodes.push(n);
    return n;
  };
  afterAll(() => Promise.all(nodes.map((n) => n.stop())));

  it('a full inbox fails with INBOX_FULL for that recipient only, until it is acked', async () => {
    const t = await start({ mailInboxMax: 2, project: 'arena' });
    const a = await newPlayer(t, 'Ann');
    const full = await newPlayer(t, 'Full');
    const roomy = await newPlayer(t, 'Roomy');
    await a.client.call('mail.send', { to: [full.userId], body: '1', clientMsgId: 'f1' });
    await a.client.call('mail.send', { to: [full.userId], body: '2', clientMsgId: 'f2' });
    const r = await a.client.call('mail.send', { to: [full.userId, roomy.userId], body: '3', clientMsgId: 'f3' });
    expect(r.failed).toEqual([{ to: full.userId, code: 'INBOX_FULL' }]);
    expect(r.sent.map((s) => s.to)).toEqual([roomy.userId]);
    expect((await roomy.inbox.next('mail.received')).mail.from).toBe(`arena:${a.userId}`);
    // A resend of a stored message is no new message: not refused for the full inbox.
    expect((await a.client.call('mail.send', { to: [full.userId], body: '2', clientMsgId: 'f2' })).failed).toEqual([]);

    const inbox = (await full.client.call('mail.list', {})).mail;
    expect(inbox.map((m) => m.body)).toEqual(['1', '2']);
    await full.client.call('mail.ack', { ids: [inbox[0]!.id] });
    expect((await a.client.call('mail.send', { to: [full.userId], body: '3', clientMsgId: 'f3' })).failed).toEqual([]);
  });

  it('expired mail is never listed or delivered', async () => {
    const t = await start({ mailTtlMs: 400 });
    const a = await newPlayer(t, 'Ann');
    const b = await newPlayer(t, 'Bob');
    await b.client.close();
    await a.client.call('mail.send', { to: [b.userId], body: 'soon gone', clientMsgId: 'e1' });
    await sleep(500);
    const fresh = (await a.client.call('mail.send', { to: [b.userId], body: 'fresh', clientMsgId: 'e2' })).sent[0]!.id;
    const b2 = await again(t, b);
    await b2.inbox.next('mail.received', (d) => d.mail.id === fresh);
    expect(b2.inbox.of('mail.received').map((d) => d.mail.body)).toEqual(['fresh']);
    expect((await b2.client.call('mail.list', {})).mail.map((m) => m.body)).toEqual(['fresh']);
  });
});

/** The mail store on both engines. */
describe.each(['pglite', 'postgres'] as const)('mail store on %s', (engine) => {
  let db: Db;
  let accounts: Accounts;
  const user = async () => (await accounts.createGuest('M')).account.id;
  beforeAll(async () => {
    db = await openDb(engine === 'postgres' ? { databaseUrl: inject('databaseUrl') } : {});
    await migrate(db);
    accounts = new Accounts(db);
  }, 60_000);
  afterAll(() => db.close());

  it('stores per recipient, idempotently, with per-recipient failures', async () => {
    const mail = new Mail(db, { inboxMax: 2, ttlMs: 60_000 });
    const [a, b, c, blocked] = [await user(), await user(), await user(), await user()];
    const sender = `foyer:${a}`;
    const ghost = unique('ghost');
    const r = await mail.send({ sender, senderName: 'A', to: [b, c, ghost, blocked, b], body: 'hi', clientMsgId: unique('k') }, new Set([blocked]));
    const byTo = <T extends { to: string }>(xs: T[]) => [...xs].sort((x, y) => x.to.localeCompare(y.to));
    expect(byTo(r.sent).map((s) => [s.to, s.fresh])).toEqual(byTo([{ to: b }, { to: c }]).map((s) => [s.to, true]));
    expect(byTo(r.failed)).toEqual(
      byTo([
        { to: ghost, code: 'USER_NOT_FOUND' },
        { to: blocked, code: 'BLOCKED' },
      ]),
    );
    const key = unique('again');
    const once = await mail.send({ sender, senderName: 'A', to: [c], body: 'x', clientMsgId: key });
    const twice = await mail.send({ sender, senderName: 'A', to: [c], body: 'y', clientMsgId: key });
    expect(twice.sent).toEqual([{ ...once.sent[0], fresh: false }]);
    // c holds 2 now: full.
    expect((await mail.send({ sender, senderName: 'A', to: [c], body: 'z', clientMsgId: unique('k') })).failed).toEqual([{ to: c, code: 'INBOX_FULL' }]);
    expect((await mail.list(c, 10)).map((m) => m.body)).toEqual(['hi', 'x']);
  });

  it('never overfills an inbox under concurrent sends', async () => {
    const mail = new Mail(db, { inboxMax: 5, ttlMs: 60_000 });
    const to = await user();
    const senders = await Promise.all(Array.from({ length: 4 }, () => user()));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => mail.send({ sender: `foyer:${senders[i % 4]}`, senderName: 'S', to: [to], body: `m${i}`, clientMsgId: `c${i}` })),
    );
    expect(results.filter((r) => r.sent.length).length).toBe(5);
    expect(results.filter((r) => r.failed[0]?.code === 'INBOX_FULL').length).toBe(15);
    expect(await mail.list(to, 100)).toHaveLength(5);
  });

  it('acks only the recipient\'s own mail; expiry hides mail and the purge deletes it', async () => {
    const mail = new Mail(db, { inboxMax: 10, ttlMs: 1000 });
    const [a, b] = [await user(), await user()];
    const t0 = Date.now();
    const m1 = (await mail.send({ sender: `foyer:${a}`, senderName: 'A', to: [b], body: 'old', clientMsgId: unique('k') }, undefined, t0)).sent[0]!.id;
    const m2 = (await mail.send({ sender: `foyer:${a}`, senderName: 'A', to: [b], body: 'new', clientMsgId: unique('k') }, undefined, t0 + 5000)).sent[0]!.id;
    expect(await mail.ack(a, [m1, m2])).toBe(0);
    expect((await mail.list(b, 10, t0 + 500)).map((m) => m.id)).toEqual([m1, m2]);
    expect((await mail.list(b, 10, t0 + 2000)).map((m) => m.id)).toEqual([m2]);
    // Expired mail does not count against the inbox either.
    expect(await mail.purge(t0 + 2000)).toBeGreaterThanOrEqual(1);
    expect((await db.query('select id from mail where id = $1', [m1])).rowCount).toBe(0);
    expect(await mail.ack(b, [m1, m2, m2])).toBe(1);
    expect(await mail.list(b, 10, t0)).toEqual([]);
  });
});

/** The service's delivery rules with a fake gateway and store, so the races can be forced. */
describe('mail delivery within one login', () => {
  const message = (id: string): MailMessage => ({ id, from: 'foyer:a', fromName: 'A', body: id, sentAt: 1, expiresAt: 2 });
  /** `readAt`: whether the login push's query sees the inbox as it was when the push started, or when its answer comes. */
  function setup(readAt: 'start' | 'answer') {
    const listeners: SessionListener[] = [];
    const delivered: string[] = [];
    const sessions = new Map<string, Session>();
    const gateway = {
      sessions,
      nodeOf: async () => undefined,
      onSession: (l: SessionListener) => void listeners.push(l),
      toUsers: (_to: unknown, _ev: string, data: { mail: MailMessage }) => void delivered.push(data.mail.id),
    } as unknown as Gateway;
    let inbox: MailMessage[] = [];
    const waiting: (() => void)[] = [];
    const store = {
      // Login pushes answer when the test says so.
      list: async () => {
        const early = [...inbox];
        await new Promise<void>((r) => waiting.push(r));
        return readAt === 'start' ? early : [...inbox];
      },
      send: async (input: { clientMsgId: string }) => {
        const m = message(input.clientMsgId);
        inbox.push(m);
        return { sent: [{ to: 'u', id: m.id, fresh: true, mail: m }], failed: [] };
      },
      ack: async (_to: string, ids: string[]) => ((inbox = inbox.filter((m) => !ids.includes(m.id))), ids.length),
      purge: async () => 0,
    } as unknown as Mail;
    const registry = new OpRegistry();
    const cluster = { onCast: () => {} } as unknown as Cluster; // alone: nothing arrives from other nodes
    const service = new MailService({ config: loadConfig([], {}), log: { warn() {}, debug() {} } as never, gateway, cluster, mail: store });
    registerMailOps(registry, service);
    const login = () => {
      sessions.set('u', {} as Session);
      for (const l of listeners) l.started?.('u');
    };
    const ack = (ids: string[]) => registry.get('mail.ack')!({ ids }, { session: { userId: 'u' } as Session, now: 0 });
    return { service, delivered, login, ack, release: async () => (waiting.splice(0).forEach((r) => r()), await new Promise((r) => setTimeout(r, 0))) };
  }

  it('a message both live and in the login push goes out once', async () => {
    const s = setup('answer');
    await s.service.send({ userId: 'a', name: 'A' }, { to: ['u'], body: 'x', clientMsgId: 'm1' }); // stored while u is offline
    s.login();
    await s.service.send({ userId: 'a', name: 'A' }, { to: ['u'], body: 'x', clientMsgId: 'm2' }); // live, and read by the push too
    await s.release();
    expect(s.delivered).toEqual(['m2', 'm1']);
    await s.service.stop();
  });

  it('a message acked before the login push answers is not pushed', async () => {
    const s = setup('start');
    await s.service.send({ userId: 'a', name: 'A' }, { to: ['u'], body: 'x', clientMsgId: 'm1' });
    await s.service.send({ userId: 'a', name: 'A' }, { to: ['u'], body: 'x', clientMsgId: 'm2' });
    s.login();
    await s.ack(['m1']); // the client listed and acked before the push's answer
    await s.release();
    expect(s.delivered).toEqual(['m2']);
    await s.service.stop();
  });

  it('a login push that answers after a later login delivers nothing to it (what it read may have been acked since)', async () => {
    const s = setup('start');
    await s.service.send({ userId: 'a', name: 'A' }, { to: ['u'], body: 'x', clientMsgId: 'm1' });
    s.login(); // its push reads m1
    await s.ack(['m1']);
    s.login(); // a later login, nothing sent to it yet; its push reads an empty inbox
    await s.release();
    expect(s.delivered).toEqual([]);
    await s.service.stop();
  });
});
