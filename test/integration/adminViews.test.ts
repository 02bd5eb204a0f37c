import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inbox, until } from '../helpers/events.js';
import { ADMIN_TOKEN, startTestNode, withNode, type TestNode } from '../helpers/node.js';
import { AdminWatch } from '../helpers/watch.js';

/** The read side of the admin API that the operator console uses, and its live channel. */

const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 8)}`;

describe('admin views', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({
      reconnectGraceMs: 100,
      mmTickMs: 20,
      queues: [{ name: 'duel', teams: 2, teamSize: 1, acceptTimeoutMs: 5000, rating: { initialWindow: 5000, growthPerSec: 0, maxWindow: 5000 } }],
    });
  });
  afterAll(() => t.stop());

  async function player(base = 'V'): Promise<{ c: LobbyClient; id: string; name: string; inbox: Inbox; deviceSecret: string }> {
    const name = unique(base);
    const c = t.client();
    const inbox = new Inbox(c, ['mm.status'] as EventName[]);
    await c.connect();
    const login = await c.call('auth.guest', { name });
    return { c, id: login.userId, name, inbox, deviceSecret: login.deviceSecret! };
  }

  it('refuses every new endpoint without the token, and with a wrong one', async () => {
    const paths: [string, string][] = [
      ['GET', '/admin/cluster'],
      ['GET', '/admin/metrics/summary'],
      ['GET', '/admin/games?q=x'],
      ['GET', '/admin/games/some-game'],
      ['GET', '/admin/queues'],
      ['GET', '/admin/users?q=x'],
      ['GET', '/admin/users/someone/commands'],
      ['GET', '/admin/audit?kind=ban'],
      ['POST', '/admin/nodes/some-node/drain'],
      ['GET', `/admin/watch?path=${encodeURIComponent('/admin/cluster')}`],
    ];
    for (const [method, path] of paths) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }]) {
        const res = await fetch(t.httpUrl + path, { method, headers });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(JSON.stringify(await res.json())).not.toContain(ADMIN_TOKEN);
      }
    }
    expect(t.node.cluster.isDraining).toBe(false);
  });

  it('lists the nodes with their figures (alone: this node)', async () => {
    const p = await player('Node');
    const r = await t.admin('GET', '/admin/cluster');
    expect(r.status).toBe(200);
    expect(r.body.nodes).toEqual([
      expect.objectContaining({ id: t.node.nodeId, address: `127.0.0.1:${t.node.port}`, reachable: true, ready: true, draining: false, busUp: true, busRttMs: 0, heartbeatAgeMs: 0 }),
    ]);
    const me = r.body.nodes[0];
    expect(me.sessions).toBe(t.node.gateway.sessions.size);
    expect(me.sessions).toBeGreaterThanOrEqual(1);
    expect(me.owned).toEqual({ games: t.node.games.owned().length, parties: expect.any(Number), queues: 1 });
    await p.c.close();
  });

  it('searches games by name, id, type and player, and shows one in full without its secrets', async () => {
    const a = await player('Gamer');
    const b = await player('Watcher');
    const created = await a.c.call('game.create', { name: `Search ${a.name}`, gameType: 'CTF', password: 'hunter22', maxPlayers: 4 });
    const id = created.game.id;
    await b.c.call('game.join', { gameId: id, password: 'hunter22', spectate: true });
    const search = async (q: string) => (await t.admin('GET', `/admin/games?${q}`)).body.games.map((g: { id: string }) => g.id);
    expect(await search(`q=${encodeURIComponent(`search ${a.name}`.toUpperCase())}`)).toEqual([id]);
    expect(await search(`q=${id}`)).toEqual([id]);
    expect(await search(`gameType=CTF&player=${a.id}`)).toEqual([id]);
    expect(await search(`player=${encodeURIComponent(b.name)}`)).toEqual([id]);
    expect(await search(`gameType=Other&player=${a.id}`)).toEqual([]);
    expect((await t.admin('GET', '/admin/games?limit=0')).status).toBe(400);

    const full = await t.admin('GET', `/admin/games/${id}`);
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({
      id,
      name: `Search ${a.name}`,
      gameType: 'CTF',
      state: 'open',
      hasPassword: true,
      ownerId: a.id,
      ownerNode: t.node.nodeId,
      players: [expect.objectContaining({ userId: a.id, teamIndex: 0 })],
      spectators: [{ userId: b.id, name: b.name }],
    });
    expect(full.body.teams[0]).toEqual([a.id]);
    expect(full.body.ageMs).toBeGreaterThanOrEqual(0);
    expect(full.body).not.toHaveProperty('passwordHash');
    expect(full.body).not.toHaveProperty('sessionKeys');
    expect(JSON.stringify(full.body)).not.toContain('hunter22');
    expect((await t.admin('GET', '/admin/games/no-such-game')).status).toBe(404);
    await Promise.all([a.c.close(), b.c.close()]);
  });

  it('shows the queue: tickets waiting, their wait times, then the match per minute', async () => {
    const a = await player('Q');
    await a.c.call('mm.join', { queue: 'duel' });
    const duel = async () => (await t.admin('GET', '/admin/queues')).body.detail.find((q: { name: string }) => q.name === 'duel');
    const waiting = await duel();
    expect(waiting).toMatchObject({ name: 'duel', ownerNode: t.node.nodeId, tickets: 1, players: 1, accepting: 0 });
    expect(waiting.list).toEqual([expect.objectContaining({ status: 'queued', players: [{ userId: a.id, name: a.name }] })]);
    expect(waiting.waitSeconds.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(1);
    const matchesBefore = waiting.matchesPerMinute;

    const b = await player('Q');
    await b.c.call('mm.join', { queue: 'duel' });
    await a.inbox.next('mm.status', (d) => d.status === 'found');
    expect((await duel()).accepting).toBe(1);
    await Promise.all([a.c.call('mm.accept', {}), b.c.call('mm.accept', {})]);
    await a.inbox.next('mm.status', (d) => d.status === 'ready');
    await until(async () => (await duel()).matchesPerMinute === matchesBefore + 1);
    expect(await duel()).toMatchObject({ tickets: 0, players: 0 });
    const user = await t.admin('GET', `/admin/users/${a.id}`);
    expect(user.body.game).toMatchObject({ gameType: 'duel', inProgress: true });
    await Promise.all([a.c.close(), b.c.close()]);
  });

  it('finds a player by id or name, with their session, ticket, friends and mail counts', async () => {
    const a = await player('Prof');
    const b = await player('Pal');
    await a.c.call('friends.request', { userId: b.id });
    await b.c.call('friends.accept', { userId: a.id });
    expect((await t.admin('POST', '/admin/commands', { kind: 'sendMail', userId: a.id, args: { body: 'hello from ops' } })).status).toBe(200);
    await a.c.call('mm.join', { queue: 'duel' });

    const byId = await t.admin('GET', `/admin/users?q=${a.id}`);
    expect(byId.body.users[0]).toMatchObject({ userId: a.id, name: a.name, online: true });
    const byName = await t.admin('GET', `/admin/users?q=${encodeURIComponent(a.name.slice(0, -1))}`);
    expect(byName.body.users.map((u: { userId: string }) => u.userId)).toContain(a.id);
    expect((await t.admin('GET', '/admin/users')).status).toBe(400);

    const view = await t.admin('GET', `/admin/users/${a.id}`);
    expect(view.body).toMatchObject({
      online: true,
      connected: true,
      node: t.node.nodeId,
      session: { node: t.node.nodeId, connected: true, since: expect.any(Number) },
      queue: 'duel',
      ticket: { queue: 'duel', status: 'queued' },
      counts: { friends: 1, mail: 1 },
    });
    expect(view.body.session.since).toBeLessThanOrEqual(Date.now());
    await a.c.call('mm.cancel', {});
    await Promise.all([a.c.close(), b.c.close()]);
  });

  it("lists a player's deferred commands with their state: queued, ran, expired, cancelled", async () => {
    const p = await player('Def');
    await p.c.close();
    await until(() => !t.node.gateway.sessions.has(p.id));
    const defer = (args: object, expiresInMs?: number) => t.admin('POST', '/admin/commands', { kind: 'setRole', userId: p.id, args, mode: 'deferred', ...(expiresInMs && { expiresInMs }) });
    const expiring = (await defer({ role: 'moderator' }, 1)).body.command.id;
    const cancelled = (await defer({ role: 'admin' })).body.command.id;
    expect((await t.admin('DELETE', `/admin/commands/${cancelled}`)).status).toBe(200);
    const queued = (await defer({ role: 'moderator' })).body.command.id;
    const states = async () => Object.fromEntries((await t.admin('GET', `/admin/users/${p.id}/commands`)).body.commands.map((c: { id: string; state: string }) => [c.id, c.state]));
    // Past its expiry, a command shows as expired even before the login that drops it.
    expect(await states()).toEqual({ [expiring]: 'expired', [cancelled]: 'cancelled', [queued]: 'queued' });
    expect((await t.admin('GET', '/admin/users/nobody-here/commands')).status).toBe(404);

    const back = t.client();
    await back.connect();
    await back.call('auth.guest', { name: p.name, deviceSecret: p.deviceSecret });
    await until(async () => (await states())[queued] === 'ran');
    expect(await states()).toEqual({ [expiring]: 'expired', [cancelled]: 'cancelled', [queued]: 'ran' });
    expect((await t.admin('GET', `/admin/users/${p.id}`)).body.profile.role).toBe('moderator');
    await back.close();

    // Filtered audit: this player's cancellations only.
    const audit = (await t.admin('GET', `/admin/audit?userId=${p.id}&event=cancelled&kind=setRole`)).body.audit;
    expect(audit.map((r: { commandId: string }) => r.commandId)).toEqual([cancelled]);
    expect((await t.admin('GET', '/admin/audit?event=nonsense')).status).toBe(400);
  });

  it('sums the request and delivery rates from the counters /metrics exports', async () => {
    const p = await player('Rate');
    for (let i = 0; i < 5; i++) await p.c.call('games.list', { limit: 5 });
    const r = await t.admin('GET', '/admin/metrics/summary');
    expect(r.status).toBe(200);
    expect(r.body.nodes).toHaveLength(1);
    expect(r.body.total.sessions).toBe(t.node.gateway.sessions.size);
    expect(r.body.total.byOp['games.list'].ok).toBeGreaterThan(0);
    expect(r.body.total.requestsPerSec).toBeGreaterThan(0);
    expect(r.body.total.internalPerSec).toBe(0);
    await p.c.close();
  });

  it('pushes a view again when it changes (server-sent events), and refuses a bad watch', async () => {
    for (const path of ['/healthz', '/admin/../healthz', '/admin/./watch', '/admin/watch']) {
      const bad = await fetch(`${t.httpUrl}/admin/watch?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(bad.status, path).toBe(400);
    }
    const p = await player('Live');
    const w = new AdminWatch(t.httpUrl, ADMIN_TOKEN, `/admin/users/${p.id}`);
    try {
      expect(await w.opened).toEqual({ status: 200, type: 'text/event-stream; charset=utf-8' });
      expect((await w.next()).game).toBeNull();
      const g = await p.c.call('game.create', { name: `Live ${p.name}`, gameType: 'PvE' });
      expect((await w.next((b) => b.game !== null)).game).toMatchObject({ id: g.game.id });
      await p.c.call('game.leave', {});
      await w.next((b) => b.game === null && w.updates.length > 2);
      // Only changes are pushed: no two updates in a row are the same.
      const texts = w.updates.map((u) => JSON.stringify(u));
      expect(texts.every((x, i) => i === 0 || x !== texts[i - 1])).toBe(true);
    } finally {
      w.close();
      await p.c.close();
    }
  });

  it('stops cleanly with a watch still open, which then ends', async () => {
    const other = await startTestNode({});
    const w = new AdminWatch(other.httpUrl, ADMIN_TOKEN, '/admin/cluster');
    expect((await w.next()).nodes[0].id).toBe(other.node.nodeId);
    await other.stop();
    await w.ended;
  });

  it('drains a node through its id, and knows no other', async () => {
    expect((await t.admin('POST', '/admin/nodes/no-such-node/drain')).status).toBe(404);
    await withNode({}, async (other) => {
      const r = await other.admin('POST', `/admin/nodes/${other.node.nodeId}/drain`);
      expect(r).toEqual({ status: 202, body: { draining: true, node: other.node.nodeId } });
      await until(() => other.node.cluster.isDraining);
    });
  });
});
