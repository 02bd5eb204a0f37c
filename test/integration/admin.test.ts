import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedWith, Inbox, until } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;
const HOUR = 3_600_000;


describe('admin commands', () => {
  let t: TestNode;
  beforeAll(async () => {
    // A closed connection's session ends soon: "offline" comes quickly.
    t = await startTestNode({ reconnectGraceMs: 100 });
  });
  afterAll(() => t.stop());

  /** A guest player, logged in; `again()` logs the same account in on a new connection. */
  async function player(base = 'P', node = t) {
    const name = unique(base);
    const client = node.client();
    await client.connect();
    const login = await client.call('auth.guest', { name });
    const again = async (on = node) => {
      const c = on.client();
      await c.connect();
      await c.call('auth.guest', { name, deviceSecret: login.deviceSecret! });
      return c;
    };
    /** Closes the connection and waits until the session is gone (the grace period is over). */
    const leave = async (c = client, on = node) => {
      await c.close();
      await until(() => !on.node.gateway.sessions.has(login.userId));
    };
    return { client, userId: login.userId, name, deviceSecret: login.deviceSecret!, again, leave };
  }

  const command = (body: unknown) => t.admin('POST', '/admin/commands', body);
  const runs = async (userId: string) => (await t.admin('GET', `/admin/audit?userId=${userId}`)).body.audit.filter((a: { event: string }) => a.event === 'ran');

  it('lists the command kinds with their class', async () => {
    const r = await t.admin('GET', '/admin/commands/kinds');
    expect(r.status).toBe(200);
    const classes = Object.fromEntries(r.body.kinds.map((k: { kind: string; class: string }) => [k.kind, k.class]));
    expect(classes).toMatchObject({ ban: 'dangerous', unban: 'dangerous', kick: 'safe', setRole: 'dangerous', chatBan: 'dangerous', setRating: 'dangerous', setProfileField: 'safe', sendMail: 'dangerous' });
  });

  it('validates the body, the kind and its arguments', async () => {
    const p = await player();
    expect((await command({ kind: 'nuke', userId: p.userId })).status).toBe(400);
    const bad = await command({ kind: 'ban', userId: p.userId, args: { durationMs: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: unknown[] }) => i.path)).toEqual(expect.arrayContaining([['args', 'durationMs'], ['args', 'reason']]));
    const expiry = await command({ kind: 'unban', userId: p.userId, expiresInMs: 1000 });
    expect(expiry.status).toBe(400);
    expect(expiry.body.issues[0].path).toEqual(['expiresInMs']);
    const field = await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'level', value: 'high' } });
    expect(field.status).toBe(400);
    expect((await command({ kind: 'unban', userId: 'no-such-user' })).status).toBe(404);
    const broken = await fetch(`${t.httpUrl}/admin/commands`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token-0123456789' }, body: '{nope' });
    expect(broken.status).toBe(400);
    expect(await runs(p.userId)).toEqual([]);
  });

  it('kick: an online player is disconnected with 4009 and their session ends', async () => {
    const p = await player('Kicked');
    const closed = closedWith(p.client);
    const r = await command({ kind: 'kick', userId: p.userId, args: { reason: 'spamming the lobby' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ran', kind: 'kick', mode: 'immediate', online: true });
    expect(await closed).toBe(4009);
    expect(p.client.state).toBe('closed'); // final: the SDK does not reconnect
    expect((await t.admin('GET', `/admin/users/${p.userId}`)).body.online).toBe(false);
    // A kick is no ban: the player may come back.
    const back = await p.again();
    expect((await back.call('session.ping', {})).serverTime).toBeGreaterThan(0);
  });

  it('a safe command for an offline player is refused with 409; a dangerous one changes the stored profile', async () => {
    const p = await player('Offline');
    await p.leave();
    expect((await t.admin('GET', `/admin/users/${p.userId}`)).body.online).toBe(false);

    const kick = await command({ kind: 'kick', userId: p.userId, args: { reason: 'x' } });
    expect(kick.status).toBe(409);
    expect(kick.body).toMatchObject({ code: 'PLAYER_OFFLINE' });
    expect(kick.body.error).toMatch(/deferred/);
    expect((await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'level', value: 9 } })).status).toBe(409);

    expect((await command({ kind: 'setRole', userId: p.userId, args: { role: 'moderator' } })).body).toMatchObject({ status: 'ran', online: false, result: { role: 'moderator' } });
    expect((await command({ kind: 'setRating', userId: p.userId, args: { mu: 31, sigma: 4 } })).status).toBe(200);
    const c = await p.again();
    const { profile } = await c.call('profile.get', {});
    expect(profile).toMatchObject({ role: 'moderator', level: 1, rating: { mu: 31, sigma: 4, ordinal: 19 } });

    const audit = (await t.admin('GET', `/admin/audit?userId=${p.userId}`)).body.audit;
    expect(audit.map((a: { kind: string; event: string; ok: boolean }) => `${a.kind}:${a.event}:${a.ok}`)).toEqual([
      'setRating:ran:true',
      'setRole:ran:true',
      'setProfileField:refused:false',
      'kick:refused:false',
    ]);
    expect(audit[0]).toMatchObject({ actor: 'admin', userId: p.userId, mode: 'immediate', args: { mu: 31, sigma: 4 } });
  });

  it('ban: an online player is disconnected and cannot log in; unban lets them back', async () => {
    const p = await player('Banned');
    const closed = closedWith(p.client);
    const r = await command({ kind: 'ban', userId: p.userId, args: { durationMs: HOUR, reason: 'cheating' } });
    expect(r.status).toBe(200);
    expect(r.body.result.bannedUntil).toBeGreaterThan(Date.now());
    expect(await closed).toBe(4009);
    const again = t.client();
    await again.connect();
    await expect(again.call('auth.guest', { name: 'x', deviceSecret: p.deviceSecret })).rejects.toMatchObject({ code: 'BANNED', message: expect.stringContaining('cheating') });

    expect((await t.admin('GET', `/admin/users/${p.userId}`)).body.profile).toMatchObject({ banReason: 'cheating' });
    expect((await command({ kind: 'unban', userId: p.userId })).status).toBe(200);
    const back = await p.again();
    expect((await back.call('session.ping', {})).serverTime).toBeGreaterThan(0);
  });

  it('the ban shortcut bans an offline player', async () => {
    const p = await player('Short');
    await p.leave();
    const r = await t.admin('POST', `/admin/users/${p.userId}/ban`, { durationMs: HOUR, reason: 'abuse' });
    expect(r.status).toBe(200);
    const c = t.client();
    await c.connect();
    expect(await code(c.call('auth.guest', { name: 'x', deviceSecret: p.deviceSecret }))).toBe('BANNED');
    expect((await t.admin('POST', `/admin/users/${p.userId}/ban`, { durationMs: 0 })).status).toBe(400);
  });

  it('chatBan: chat.send answers CHAT_BANNED until it is lifted, also after a relogin', async () => {
    const p = await player('Muted');
    await p.client.call('game.create', { name: 'Chatty', gameType: 'PvE' });
    await p.client.call('chat.send', { channel: 'game', text: 'hello' });
    expect((await command({ kind: 'chatBan', userId: p.userId, args: { durationMs: HOUR } })).status).toBe(200);
    const refused = p.client.call('chat.send', { channel: 'game', text: 'still here' });
    await expect(refused).rejects.toMatchObject({ code: 'CHAT_BANNED' });

    await p.leave();
    const c = await p.again();
    await c.call('game.create', { name: 'Chatty', gameType: 'PvE' });
    expect(await code(c.call('chat.send', { channel: 'game', text: 'after relogin' }))).toBe('CHAT_BANNED');
    expect((await command({ kind: 'chatBan', userId: p.userId, args: { durationMs: 0 } })).status).toBe(200);
    expect(await code(c.call('chat.send', { channel: 'game', text: 'free again' }))).toBe('ok');
  });

  it('setRating and setProfileField for an online player', async () => {
    const p = await player('Tuned');
    expect((await command({ kind: 'setRating', userId: p.userId, args: { mu: 40, sigma: 2 } })).body).toMatchObject({ status: 'ran', online: true });
    expect((await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'level', value: 77 } })).status).toBe(200);
    expect((await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'school', value: 'mage' } })).status).toBe(200);
    expect((await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'custom', value: { title: 'Champion' } } })).status).toBe(200);
    const { profile } = await p.client.call('profile.get', {});
    expect(profile).toMatchObject({ level: 77, school: 'mage', custom: { title: 'Champion' }, rating: { mu: 40, sigma: 2 } });
  });

  it('sendMail: an online player gets mail.received; an offline one finds it in the inbox', async () => {
    const p = await player('Mailed');
    const inbox = new Inbox(p.client, ['mail.received']);
    const r = await command({ kind: 'sendMail', userId: p.userId, args: { body: 'Welcome to the beta' } });
    expect(r.status).toBe(200);
    const got = await inbox.next('mail.received');
    expect(got.mail).toMatchObject({ body: 'Welcome to the beta', from: expect.stringMatching(/^system:/), id: r.body.result.mailId });

    await p.leave();
    await command({ kind: 'sendMail', userId: p.userId, args: { body: 'While you were away' } });
    const c = await p.again();
    const { mail } = await c.call('mail.list', {});
    expect(mail.map((m) => m.body)).toEqual(['Welcome to the beta', 'While you were away']);
  });

  it('deferred: stored, listed, and run right after the next login, exactly once', async () => {
    const p = await player('Later');
    await p.leave();
    const r = await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'school', value: 'mage' }, mode: 'deferred' });
    expect(r.status).toBe(202);
    expect(r.body.command).toMatchObject({ userId: p.userId, kind: 'setProfileField' });
    expect(r.body.command.expiresAt - Date.now()).toBeGreaterThan(29 * 24 * HOUR); // 30 days by default
    const listed = await t.admin('GET', `/admin/commands?userId=${p.userId}`);
    expect(listed.body.commands.map((c: { id: string }) => c.id)).toEqual([r.body.command.id]);
    expect(await runs(p.userId)).toEqual([]);

    const c = await p.again();
    await until(async () => (await c.call('profile.get', {})).profile.school === 'mage');
    await until(async () => (await runs(p.userId)).length === 1);
    expect((await t.admin('GET', `/admin/commands?userId=${p.userId}`)).body.commands).toEqual([]);

    // The player changes it afterwards; logging in again runs nothing.
    await c.call('profile.update', { school: 'rogue' });
    await p.leave(c);
    const d = await p.again();
    await d.call('session.ping', {});
    await new Promise((r) => setTimeout(r, 100));
    expect((await d.call('profile.get', {})).profile.school).toBe('rogue');
    const ran = await runs(p.userId);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ mode: 'deferred', ok: true, commandId: r.body.command.id });
  });

  it('deferred: runs at once for a player online', async () => {
    const p = await player('Now');
    const r = await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'side', value: 'red' }, mode: 'deferred' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ran', mode: 'deferred', online: true });
    expect((await p.client.call('profile.get', {})).profile.side).toBe('red');
    expect((await t.admin('GET', `/admin/commands?userId=${p.userId}`)).body.commands).toEqual([]);
  });

  it('deferred kick: the player is disconnected right after the next login', async () => {
    const p = await player('Bounce');
    await p.leave();
    expect((await command({ kind: 'kick', userId: p.userId, args: { reason: 'read the rules' }, mode: 'deferred' })).status).toBe(202);
    const c = t.client();
    const closed = closedWith(c);
    await c.connect();
    await c.call('auth.guest', { name: 'x', deviceSecret: p.deviceSecret }); // the login itself succeeds
    expect(await closed).toBe(4009);
  });

  it('an expired deferred command never runs', async () => {
    const p = await player('Stale');
    await p.leave();
    const r = await command({ kind: 'setRole', userId: p.userId, args: { role: 'admin' }, mode: 'deferred', expiresInMs: 1 });
    expect(r.status).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
    expect((await t.admin('GET', `/admin/commands?userId=${p.userId}`)).body.commands).toEqual([]);
    const c = await p.again();
    await until(async () => (await t.admin('GET', `/admin/audit?userId=${p.userId}`)).body.audit.some((a: { event: string }) => a.event === 'expired'));
    expect((await c.call('profile.get', {})).profile.role).toBe('player');
    expect(await runs(p.userId)).toEqual([]);
  });

  it('a cancelled deferred command never runs', async () => {
    const p = await player('Pardoned');
    await p.leave();
    const r = await command({ kind: 'ban', userId: p.userId, args: { durationMs: HOUR, reason: 'oops' }, mode: 'deferred' });
    expect((await t.admin('DELETE', `/admin/commands/${r.body.command.id}`)).status).toBe(200);
    expect((await t.admin('DELETE', `/admin/commands/${r.body.command.id}`)).status).toBe(404);
    const c = await p.again();
    await c.call('session.ping', {});
    await new Promise((r) => setTimeout(r, 100));
    expect(c.state).toBe('connected');
    expect(await runs(p.userId)).toEqual([]);
  });

  it('deferred commands run once whichever node the player logs in to', async () => {
    const other = await startTestNode({ reconnectGraceMs: 100 });
    try {
      const p = await player('Roamer');
      await p.leave();
      const first = await command({ kind: 'setProfileField', userId: p.userId, args: { field: 'level', value: 12 }, mode: 'deferred' });
      const second = await command({ kind: 'setRating', userId: p.userId, args: { mu: 20, sigma: 5 }, mode: 'deferred' });
      expect([first.status, second.status]).toEqual([202, 202]);
      const c = await p.again(other);
      await until(async () => (await runs(p.userId)).length === 2);
      expect((await c.call('profile.get', {})).profile).toMatchObject({ level: 12, rating: { mu: 20, sigma: 5 } });
      // In the order they were issued.
      expect((await runs(p.userId)).map((a: { kind: string }) => a.kind)).toEqual(['setRating', 'setProfileField']);
      await p.leave(c, other);
      await p.again(); // back on the first node: nothing left to run
      await new Promise((r) => setTimeout(r, 100));
      expect(await runs(p.userId)).toHaveLength(2);
    } finally {
      await other.stop();
    }
  });

  it('looks players up by name and id, with where they are', async () => {
    const p = await player('Findme');
    const game = await p.client.call('game.create', { name: 'Lookup room', gameType: 'PvE' });
    const byName = await t.admin('GET', `/admin/users?name=${encodeURIComponent(p.name.toUpperCase())}`);
    expect(byName.status).toBe(200);
    expect(byName.body.users).toEqual([expect.objectContaining({ userId: p.userId, name: p.name, online: true })]);
    expect((await t.admin('GET', `/admin/users?name=${p.name.slice(0, -2)}`)).body.users.map((u: { userId: string }) => u.userId)).toContain(p.userId);
    expect((await t.admin('GET', '/admin/users')).status).toBe(400);

    const view = await t.admin('GET', `/admin/users/${p.userId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      profile: { userId: p.userId, name: p.name, role: 'player', bannedUntil: null, chatBannedUntil: null },
      online: true,
      connected: true,
      game: { id: game.game.id, name: 'Lookup room', spectating: false },
      party: null,
      queue: null,
    });
    expect((await t.admin('GET', '/admin/users/nobody-at-all')).status).toBe(404);

    const games = await t.admin('GET', '/admin/games');
    expect(games.body.games).toContainEqual(expect.objectContaining({ id: game.game.id, name: 'Lookup room', gameType: 'PvE', inProgress: false, players: [expect.objectContaining({ userId: p.userId })] }));
    const queues = await t.admin('GET', '/admin/queues');
    expect(queues.status).toBe(200);
    expect(queues.body).toHaveProperty('queues');
    expect((await t.admin('GET', '/admin/stats')).body).toHaveProperty('inMatchmaking');
  });

  it('audits every run, newest first, with who, what, when and the outcome', async () => {
    const p = await player('Audited');
    const before = Date.now();
    await command({ kind: 'setRating', userId: p.userId, args: { mu: 26, sigma: 7 } });
    await command({ kind: 'chatBan', userId: p.userId, args: { durationMs: 1000 } });
    await command({ kind: 'kick', userId: p.userId, args: { reason: 'bye' } });
    const { audit } = (await t.admin('GET', `/admin/audit?userId=${p.userId}&limit=10`)).body;
    expect(audit.map((a: { kind: string }) => a.kind)).toEqual(['kick', 'chatBan', 'setRating']);
    for (const a of audit) {
      expect(a).toMatchObject({ actor: 'admin', userId: p.userId, mode: 'immediate', event: 'ran', ok: true, error: null });
      expect(a.at).toBeGreaterThanOrEqual(before - 1000);
    }
    expect(audit[1].result).toMatchObject({ chatBannedUntil: expect.any(Number), online: true });
    expect((await t.admin('GET', '/admin/audit?limit=0')).status).toBe(400);
  });
});
