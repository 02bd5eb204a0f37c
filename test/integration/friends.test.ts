import { randomUUID } from 'node:crypto';
import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDb, type Db } from '../../server/src/store/db.js';
import { MAX_FRIEND_ENTRIES } from '../../server/src/store/friends.js';
import { GAME_EVENTS, Inbox, until } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

const EVENTS: EventName[] = ['friends.changed', 'friends.profileChanged', 'presence.changed', 'party.invited', 'mm.status', ...GAME_EVENTS];

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
/** Nodes of a run share one database: every name is unique. */
const unique = (base: string) => `${base}-${Math.random().toString(36).slice(2, 8)}`;

interface P {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
  name: string;
  token: string;
}

async function player(t: TestNode, base: string): Promise<P> {
  const c = t.client();
  const inbox = new Inbox(c, EVENTS);
  await c.connect();
  const name = unique(base);
  const me = await c.call('auth.guest', { name });
  return { c, inbox, id: me.userId, name, token: me.token };
}

/** Makes a and b friends (b accepts a's request). */
async function befriend(a: P, b: P): Promise<void> {
  await a.c.call('friends.request', { userId: b.id });
  await b.c.call('friends.accept', { userId: a.id });
}

const changed = (p: P, userId: string) => p.inbox.of('friends.changed').filter((d) => d.friend.userId === userId);

describe('friends', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ reconnectGraceMs: 150 }); // the default queues include duel (1 v 1)
  });
  afterAll(() => t.stop());

  const p = (base: string) => player(t, base);

  it('pushes a friend\'s profile changes (side, name) to online friends only', async () => {
    const [a, b, stranger] = await Promise.all([p('Prf'), p('Pal'), p('Nob')]);
    await befriend(a, b);
    await a.c.call('profile.update', { side: 'B', school: 'rogue' });
    const seen = await b.inbox.next('friends.profileChanged', (d) => d.userId === a.id);
    expect(seen.profile).toMatchObject({ side: 'B', school: 'rogue' });
    const name = `Named${Math.random().toString(36).slice(2, 7)}`;
    await a.c.call('auth.upgrade', { name, password: 'long enough pw' });
    expect((await b.inbox.next('friends.profileChanged', (d) => d.profile.name === name)).profile.kind).toBe('named');
    await stranger.c.call('session.ping', {});
    expect(stranger.inbox.of('friends.profileChanged')).toEqual([]);
  });

  describe('requests', () => {
    it('request, then accept: both sides are told each step; the list shows the friend with presence', async () => {
      const [a, b] = await Promise.all([p('Ann'), p('Ben')]);
      const sent = await a.c.call('friends.request', { userId: b.id });
      expect(sent.friend).toMatchObject({ userId: b.id, name: b.name, state: 'requestSent' });
      expect(sent.friend.presence).toBeUndefined();
      expect(await a.inbox.next('friends.changed', (d) => d.friend.state === 'requestSent')).toMatchObject({ friend: { userId: b.id }, removed: false });
      expect(await b.inbox.next('friends.changed', (d) => d.friend.state === 'requestReceived')).toMatchObject({ friend: { userId: a.id, name: a.name }, removed: false });
      expect((await b.c.call('friends.list', {})).friends).toMatchObject([{ userId: a.id, state: 'requestReceived' }]);

      const accepted = await b.c.call('friends.accept', { userId: a.id });
      expect(accepted.friend).toMatchObject({ userId: a.id, state: 'friend', presence: { status: 'online', activity: null } });
      expect((await a.inbox.next('friends.changed', (d) => d.friend.state === 'friend')).friend).toMatchObject({ userId: b.id, presence: { status: 'online' } });
      await b.inbox.next('friends.changed', (d) => d.friend.state === 'friend' && d.friend.userId === a.id);

      const list = (await a.c.call('friends.list', {})).friends;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ userId: b.id, name: b.name, state: 'friend', presence: { status: 'online', activity: null } });
      expect(list[0]!.since).toBeGreaterThan(Date.now() - 60_000);
    });

    it('a request to someone who asked first accepts it', async () => {
      const [a, b] = await Promise.all([p('Mutual A'), p('Mutual B')]);
      await a.c.call('friends.request', { userId: b.id });
      const back = await b.c.call('friends.request', { userId: a.id });
      expect(back.friend).toMatchObject({ userId: a.id, state: 'friend' });
      expect((await a.c.call('friends.list', {})).friends).toMatchObject([{ userId: b.id, state: 'friend' }]);
    });

    it('refuses with every code', async () => {
      const [a, b, c] = await Promise.all([p('Ref A'), p('Ref B'), p('Ref C')]);
      expect(await code(a.c.call('friends.request', { userId: a.id }))).toBe('BAD_REQUEST');
      expect(await code(a.c.call('friends.request', { userId: randomUUID() }))).toBe('USER_NOT_FOUND');
      expect(await code(a.c.call('friends.block', { userId: randomUUID() }))).toBe('USER_NOT_FOUND');
      expect(await code(a.c.call('friends.block', { userId: a.id }))).toBe('BAD_REQUEST');
      expect(await code(a.c.call('friends.accept', { userId: b.id }))).toBe('NO_REQUEST');
      expect(await code(a.c.call('friends.decline', { userId: b.id }))).toBe('NO_REQUEST');
      expect(await code(a.c.call('friends.remove', { userId: b.id }))).toBe('NOT_FRIENDS');

      await a.c.call('friends.request', { userId: b.id });
      expect(await code(a.c.call('friends.request', { userId: b.id }))).toBe('REQUEST_PENDING');
      // The sender cannot accept their own request, nor remove a friendship that is only asked for.
      expect(await code(a.c.call('friends.accept', { userId: b.id }))).toBe('NO_REQUEST');
      expect(await code(b.c.call('friends.remove', { userId: a.id }))).toBe('NOT_FRIENDS');
      await b.c.call('friends.accept', { userId: a.id });
      expect(await code(a.c.call('friends.request', { userId: b.id }))).toBe('ALREADY_FRIENDS');
      expect(await code(b.c.call('friends.request', { userId: a.id }))).toBe('ALREADY_FRIENDS');
      expect(await code(b.c.call('friends.accept', { userId: a.id }))).toBe('ALREADY_FRIENDS');

      await c.c.call('friends.block', { userId: a.id });
      expect(await code(a.c.call('friends.request', { userId: c.id }))).toBe('BLOCKED');
      expect(await code(c.c.call('friends.request', { userId: a.id }))).toBe('BLOCKED');
    });

    it('decline and withdraw end the request on both sides', async () => {
      const [a, b] = await Promise.all([p('Dec A'), p('Dec B')]);
      await a.c.call('friends.request', { userId: b.id });
      await b.c.call('friends.decline', { userId: a.id });
      expect(await a.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: b.id, state: 'requestSent' } });
      expect(await b.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: a.id, state: 'requestReceived' } });
      expect((await a.c.call('friends.list', {})).friends).toEqual([]);
      expect((await b.c.call('friends.list', {})).friends).toEqual([]);

      // Withdraw: the sender declines their own request.
      await a.c.call('friends.request', { userId: b.id });
      await a.c.call('friends.decline', { userId: b.id });
      await until(() => changed(b, a.id).filter((d) => d.removed).length === 2);
      expect(changed(a, b.id).filter((d) => d.removed)).toHaveLength(2);
      expect((await b.c.call('friends.list', {})).friends).toEqual([]);
      expect(await code(b.c.call('friends.accept', { userId: a.id }))).toBe('NO_REQUEST');
    });

    it('remove ends a friendship for both', async () => {
      const [a, b] = await Promise.all([p('Rem A'), p('Rem B')]);
      await befriend(a, b);
      await b.c.call('friends.remove', { userId: a.id });
      expect(await a.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: b.id, state: 'friend' } });
      expect(await b.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: a.id, state: 'friend' } });
      expect((await a.c.call('friends.list', {})).friends).toEqual([]);
      expect(await code(a.c.call('friends.remove', { userId: b.id }))).toBe('NOT_FRIENDS');
    });
  });

  describe('blocking', () => {
    it('is one-directional: the blocker lists the block, the blocked side just loses the entry and can neither request nor party-invite', async () => {
      const [a, b] = await Promise.all([p('Blocker'), p('Blocked')]);
      await befriend(a, b);
      await a.c.call('friends.block', { userId: b.id });
      expect(await a.inbox.next('friends.changed', (d) => d.friend.state === 'blocked')).toMatchObject({ friend: { userId: b.id }, removed: false });
      expect(await b.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: a.id, state: 'friend' } });
      expect((await a.c.call('friends.list', {})).friends).toMatchObject([{ userId: b.id, state: 'blocked' }]);
      expect((await a.c.call('friends.list', {})).friends[0]!.presence).toBeUndefined();
      expect((await b.c.call('friends.list', {})).friends).toEqual([]);

      expect(await code(b.c.call('friends.request', { userId: a.id }))).toBe('BLOCKED');
      expect(await code(b.c.call('party.invite', { userId: a.id }))).toBe('BLOCKED');
      expect(await code(a.c.call('party.invite', { userId: b.id }))).toBe('BLOCKED');
      expect(a.inbox.of('party.invited')).toEqual([]);
      // Blocking again changes nothing.
      await a.c.call('friends.block', { userId: b.id });

      // The blocked side no longer hears the blocker's presence, nor of the unblock.
      await a.c.call('presence.set', { activity: 'hiding' });
      const before = changed(b, a.id).length;
      await a.c.call('friends.unblock', { userId: b.id });
      expect(await a.inbox.next('friends.changed', (d) => d.removed && d.friend.state === 'blocked')).toMatchObject({ friend: { userId: b.id } });
      expect((await a.c.call('friends.list', {})).friends).toEqual([]);
      await b.c.call('session.ping', {}); // anything for b would have come before this reply
      expect(changed(b, a.id)).toHaveLength(before);
      expect(b.inbox.of('presence.changed').filter((d) => d.userId === a.id)).toEqual([]);

      // Unblocked: a request and a party invite go through again.
      await b.c.call('friends.request', { userId: a.id });
      expect((await b.c.call('party.invite', { userId: a.id })).party.invites).toMatchObject([{ userId: a.id }]);
    });

    it('a block of a pending request replaces it; a mutual block keeps both', async () => {
      const [a, b] = await Promise.all([p('Req A'), p('Req B')]);
      await a.c.call('friends.request', { userId: b.id });
      await b.c.call('friends.block', { userId: a.id });
      expect(await a.inbox.next('friends.changed', (d) => d.removed)).toMatchObject({ friend: { userId: b.id, state: 'requestSent' } });
      expect((await a.c.call('friends.list', {})).friends).toEqual([]);
      await a.c.call('friends.block', { userId: b.id });
      expect((await a.c.call('friends.list', {})).friends).toMatchObject([{ userId: b.id, state: 'blocked' }]);
      expect((await b.c.call('friends.list', {})).friends).toMatchObject([{ userId: a.id, state: 'blocked' }]);
      await b.c.call('friends.unblock', { userId: a.id });
      expect(await code(b.c.call('friends.request', { userId: a.id }))).toBe('BLOCKED');
    });
  });

  describe('limits', () => {
    let db: Db;
    beforeAll(async () => {
      db = await openDb({ databaseUrl: inject('databaseUrl') });
    });
    afterAll(() => db.close());

    /** Fills a user's list with requests to new accounts, straight in the database. */
    async function fill(userId: string, n: number): Promise<string[]> {
      const ids = (
        await db.query<{ id: string }>(`insert into accounts (id, kind, name) select gen_random_uuid()::text, 'guest', 'Filler' from generate_series(1, $1::int) returning id`, [n])
      ).rows.map((r) => r.id);
      await db.query(`insert into friendships (user_id, other_id, state) select $1, unnest($2::text[]), 'requested'`, [userId, ids]);
      return ids;
    }

    it(`refuses FRIENDS_FULL at ${MAX_FRIEND_ENTRIES} entries, on either side; answers and blocks of existing entries still work`, async () => {
      const [full, x, y] = await Promise.all([p('Full'), p('Extra X'), p('Extra Y')]);
      await x.c.call('friends.request', { userId: full.id }); // one incoming request counts too
      const fillers = await fill(full.id, MAX_FRIEND_ENTRIES - 1);
      expect((await full.c.call('friends.list', {})).friends).toHaveLength(MAX_FRIEND_ENTRIES);
      expect(await code(full.c.call('friends.request', { userId: y.id }))).toBe('FRIENDS_FULL');
      expect(await code(y.c.call('friends.request', { userId: full.id }))).toBe('FRIENDS_FULL');
      expect(await code(full.c.call('friends.block', { userId: y.id }))).toBe('FRIENDS_FULL');
      // Accepting turns an entry into another; blocking an entry replaces it.
      expect((await full.c.call('friends.accept', { userId: x.id })).friend.state).toBe('friend');
      await full.c.call('friends.block', { userId: fillers[0]! });
      await full.c.call('friends.decline', { userId: fillers[1]! });
      expect((await full.c.call('friends.request', { userId: y.id })).friend.state).toBe('requestSent');
    });
  });

  describe('presence', () => {
    it('is pushed to online friends on login and on logout after the grace period', async () => {
      const [a, b] = await Promise.all([p('Watcher'), p('Comer')]);
      await befriend(a, b);
      await b.c.close();
      expect(await a.inbox.next('presence.changed', (d) => d.userId === b.id && d.presence.status === 'offline')).toEqual({ userId: b.id, name: b.name, presence: { status: 'offline', activity: null } });
      expect((await a.c.call('friends.list', {})).friends[0]!.presence).toEqual({ status: 'offline', activity: null });

      const again = t.client();
      const bInbox = new Inbox(again, EVENTS);
      await again.connect();
      await again.call('auth.token', { token: b.token });
      expect(await a.inbox.next('presence.changed', (d) => d.userId === b.id && d.presence.status === 'online')).toMatchObject({ name: b.name });
      // b's own list (and a's presence in it) is there at once, and b hears a again.
      expect((await again.call('friends.list', {})).friends).toMatchObject([{ userId: a.id, presence: { status: 'online' } }]);
      await a.c.call('presence.set', { activity: 'ping' });
      expect(await bInbox.next('presence.changed', (d) => d.presence.activity === 'ping')).toMatchObject({ userId: a.id, presence: { status: 'online' } });
    });

    it('follows games, queues and the activity; strangers hear nothing', async () => {
      const [a, b, stranger] = await Promise.all([p('Fan'), p('Star'), p('Stranger')]);
      await befriend(a, b);
      const status = (s: string) => a.inbox.next('presence.changed', (d) => d.userId === b.id && d.presence.status === s);

      const { game } = await b.c.call('game.create', { name: 'Presence', gameType: unique('presence') });
      await status('inGame');
      expect((await a.c.call('friends.list', {})).friends[0]!.presence).toEqual({ status: 'inGame', activity: null });
      await b.c.call('game.leave', {});
      await status('online');

      // Joining someone else's game, as a player.
      const { game: other } = await stranger.c.call('game.create', { name: 'Elsewhere', gameType: unique('presence') });
      await b.c.call('game.join', { gameId: other.id });
      await until(() => a.inbox.of('presence.changed').filter((d) => d.userId === b.id && d.presence.status === 'inGame').length === 2);
      await b.c.call('game.leave', {});
      await until(() => a.inbox.of('presence.changed').filter((d) => d.userId === b.id && d.presence.status === 'online').length === 2);

      await b.c.call('mm.join', { queue: 'duel' });
      await status('inQueue');
      expect((await a.c.call('friends.list', {})).friends[0]!.presence.status).toBe('inQueue');
      await b.c.call('mm.cancel', {});
      await until(() => a.inbox.of('presence.changed').filter((d) => d.userId === b.id && d.presence.status === 'online').length === 3);

      const set = await b.c.call('presence.set', { activity: 'in the shop' });
      expect(set.presence).toEqual({ status: 'online', activity: 'in the shop' });
      expect((await a.inbox.next('presence.changed', (d) => d.presence.activity === 'in the shop')).presence.status).toBe('online');
      expect((await a.c.call('friends.list', {})).friends[0]!.presence).toEqual({ status: 'online', activity: 'in the shop' });
      await b.c.call('presence.set', { activity: null });
      await a.inbox.next('presence.changed', (d) => d.userId === b.id && d.presence.activity === null && d.presence.status === 'online');

      await stranger.c.call('session.ping', {});
      expect(stranger.inbox.of('presence.changed').filter((d) => d.userId === b.id)).toEqual([]);
      expect(game.id).toBeTruthy();
    });

    it('of a user without friends until now: their status and activity show at once, and their first friend hears the next change', async () => {
      const [a, b, c] = await Promise.all([p('Newcomer friend'), p('Loner in game'), p('Loner with activity')]);
      // b enters a game and c sets an activity while nobody could hear of it.
      await b.c.call('game.create', { name: 'Alone', gameType: unique('loner') });
      await c.c.call('presence.set', { activity: 'fishing' });
      await befriend(a, b);
      await befriend(a, c);
      const list = (await a.c.call('friends.list', {})).friends;
      expect(list.find((f) => f.userId === b.id)!.presence).toEqual({ status: 'inGame', activity: null });
      expect(list.find((f) => f.userId === c.id)!.presence).toEqual({ status: 'online', activity: 'fishing' });

      await b.c.call('game.leave', {});
      expect(await a.inbox.next('presence.changed', (d) => d.userId === b.id)).toEqual({ userId: b.id, name: b.name, presence: { status: 'online', activity: null } });
      await c.c.call('game.create', { name: 'Fishing', gameType: unique('loner') });
      expect(await a.inbox.next('presence.changed', (d) => d.userId === c.id)).toEqual({ userId: c.id, name: c.name, presence: { status: 'inGame', activity: 'fishing' } });
    });
  });

  describe('friends-only games', () => {
    it('admit the owner\'s friends and refuse strangers with FRIENDS_ONLY', async () => {
      const [owner, friend, stranger] = await Promise.all([p('Host'), p('Pal'), p('Nobody')]);
      await befriend(owner, friend);
      const { game } = await owner.c.call('game.create', { name: 'Friends only', gameType: unique('fo'), friendsJoinOnly: true });
      expect(await code(stranger.c.call('game.join', { gameId: game.id }))).toBe('FRIENDS_ONLY');
      expect((await friend.c.call('game.join', { gameId: game.id })).game.players.map((x) => x.userId)).toEqual([owner.id, friend.id]);
      // A friendship that ends ends the welcome.
      await friend.c.call('game.leave', {});
      await owner.c.call('friends.remove', { userId: friend.id });
      expect(await code(friend.c.call('game.join', { gameId: game.id }))).toBe('FRIENDS_ONLY');
    });

    it('know the friends of an owner who just logged in again', async () => {
      const [owner, friend] = await Promise.all([p('Back host'), p('Back pal')]);
      await befriend(owner, friend);
      await owner.c.close();
      await until(() => !t.node.gateway.sessions.has(owner.id));
      const again = t.client();
      await again.connect();
      await again.call('auth.token', { token: owner.token });
      const { game } = await again.call('game.create', { name: 'Again', gameType: unique('fo'), friendsJoinOnly: true });
      await until(async () => (await code(friend.c.call('game.join', { gameId: game.id }))) === 'ok');
    });
  });
});

describe('friends while storage is down', () => {
  let t: TestNode;
  let proxy: Proxy;
  beforeAll(async () => {
    const url = new URL(inject('databaseUrl'));
    proxy = await startProxy(Number(url.port || 5432), url.hostname);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    t = await startTestNode({ databaseUrl: url.toString(), reconnectGraceMs: 100 });
  });
  afterAll(async () => {
    await t.stop();
    await proxy.close();
  });

  it('friend ops answer STORAGE_UNAVAILABLE; presence, friends-only games and party checks go on from the cache', async () => {
    const [a, b] = await Promise.all([player(t, 'Outage A'), player(t, 'Outage B')]);
    await befriend(a, b);
    proxy.block(true);
    proxy.cut();
    expect(await code(a.c.call('friends.list', {}))).toBe('STORAGE_UNAVAILABLE');
    expect(await code(a.c.call('friends.remove', { userId: b.id }))).toBe('STORAGE_UNAVAILABLE');
    const { game } = await b.c.call('game.create', { name: 'Cached', gameType: unique('outage'), friendsJoinOnly: true });
    expect(await a.inbox.next('presence.changed', (d) => d.userId === b.id && d.presence.status === 'inGame')).toBeTruthy();
    expect((await a.c.call('game.join', { gameId: game.id })).game.players).toHaveLength(2);
    expect((await a.c.call('presence.set', { activity: 'waiting' })).presence).toEqual({ status: 'inGame', activity: 'waiting' });
    await b.inbox.next('presence.changed', (d) => d.presence.activity === 'waiting');
    expect((await a.c.call('party.invite', { userId: b.id })).party.invites).toMatchObject([{ userId: b.id }]);
    // Logout needs no storage either.
    await a.c.close();
    await b.inbox.next('presence.changed', (d) => d.userId === a.id && d.presence.status === 'offline');
    proxy.block(false);
    expect((await b.c.call('friends.list', {})).friends).toMatchObject([{ userId: a.id, state: 'friend', presence: { status: 'offline' } }]);
  });
});
