import type { LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy } from '../helpers/proxy.js';

interface Player {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
}

async function player(t: TestNode, name: string, options = {}): Promise<Player> {
  const c = t.client(options);
  const inbox = new Inbox(c, GAME_EVENTS);
  await c.connect();
  const me = await c.call('auth.guest', { name });
  return { c, inbox, id: me.userId };
}

/** A round trip: every event the server sent this client before it has arrived. */
const settle = (p: Player) => p.c.call('session.ping', {});

const SERVER_SECRET = 'game-server-secret-0123456789';

describe('games', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ serverSecret: SERVER_SECRET, gameServerAddress: 'gs-1.example:7777' });
  });
  afterAll(() => t.stop());

  /** What a game server does: set a player's stored level (players cannot). */
  const setLevel = async (userId: string, level: number) => {
    const res = await fetch(`${t.httpUrl}/v1/players/${userId}/level`, { method: 'POST', headers: { authorization: `Bearer ${SERVER_SECRET}` }, body: JSON.stringify({ level }) });
    expect(res.status).toBe(200);
  };

  it('create, list, join, chat: everyone in the game sees it, nobody else does', async () => {
    const [ann, ben, cat] = await Promise.all([player(t, 'Ann'), player(t, 'Ben'), player(t, 'Cat')]);
    const { game } = await ann.c.call('game.create', { name: 'Ann room', gameType: 'flow-1', maxPlayers: 4 });
    expect(game).toMatchObject({ name: 'Ann room', ownerId: ann.id, inProgress: false, hasPassword: false });
    expect(game.players).toEqual([expect.objectContaining({ userId: ann.id, slot: 1, teamIndex: 0 })]);

    const page = await ben.c.call('games.list', { filter: { gameType: 'flow-1' } });
    expect(page.games.map((g) => g.id)).toEqual([game.id]);
    expect(page.games[0]).toMatchObject({ players: 1, freeSeats: 3, ownerName: 'Ann' });

    const joined = await ben.c.call('game.join', { gameId: game.id });
    expect(joined.game.players.map((p) => p.userId)).toEqual([ann.id, ben.id]);
    const seen = await ann.inbox.next('game.playerJoined', (d) => d.player.userId === ben.id);
    expect(seen.player).toMatchObject({ slot: 2, name: 'Ben' });

    const other = await cat.c.call('game.create', { name: 'Cat room', gameType: 'flow-1' });
    await ann.c.call('chat.send', { channel: 'game', text: 'hello Ben' });
    const line = await ben.inbox.next('chat.message');
    expect(line).toMatchObject({ gameId: game.id, text: 'hello Ben', from: { userId: ann.id, name: 'Ann' } });
    await settle(cat);
    expect(cat.inbox.of('chat.message')).toEqual([]);
    expect(other.game.id).not.toBe(game.id);
  });

  it('refuses joins with their own codes, in order, and a refused join keeps the old seat', async () => {
    const [own, guest] = await Promise.all([player(t, 'Own'), player(t, 'Gst')]);
    const home = await guest.c.call('game.create', { name: 'Home', gameType: 'refuse' });
    const { game } = await own.c.call('game.create', { name: 'Strict', gameType: 'refuse', maxPlayers: 2, password: 'sesame', minLevel: 5, maxLevel: 9, school: 'mage' });
    const join = (data: Record<string, unknown>) => guest.c.call('game.join', { gameId: game.id, ...data }).then(() => 'ok', (e) => e.code);

    expect(await join({ profile: { school: 'rogue' }, password: 'sesame' })).toBe('SCHOOL_REQUIRED');
    expect(await join({ profile: { school: 'mage' }, password: 'wrong' })).toBe('WRONG_PASSWORD');
    // The level checked is the stored one, which a game server sets.
    await setLevel(guest.id, 2);
    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('LEVEL_TOO_LOW');
    await setLevel(guest.id, 12);
    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('LEVEL_TOO_HIGH');
    await setLevel(guest.id, 7);
    expect(await guest.c.call('game.join', { gameId: 'no-such-game' }).catch((e) => e.code)).toBe('GAME_NOT_FOUND');
    // Still in the old game after every refusal.
    expect((await guest.c.call('game.current', {})).game?.id).toBe(home.game.id);

    await own.c.call('game.update', { locked: true });
    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('GAME_LOCKED');
    await own.c.call('game.update', { locked: false, closed: true });
    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('GAME_CLOSED');
    await own.c.call('game.update', { closed: false, friendsJoinOnly: true });
    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('FRIENDS_ONLY');
    await own.c.call('game.update', { friendsJoinOnly: false });

    expect(await join({ profile: { school: 'mage' }, password: 'sesame' })).toBe('ok');
    // Joining left the old game; it was the only player there, so that game is gone.
    expect(await own.c.call('game.join', { gameId: home.game.id }).catch((e) => e.code)).toBe('GAME_NOT_FOUND');
    const third = await player(t, 'Trd');
    await setLevel(third.id, 7);
    expect(await third.c.call('game.join', { gameId: game.id, password: 'sesame', profile: { school: 'mage' } }).catch((e) => e.code)).toBe('GAME_FULL');
  });

  it('never reveals a password: lists say hasPassword, events and views carry no trace of it', async () => {
    const [a, b] = await Promise.all([player(t, 'PwA'), player(t, 'PwB')]);
    const { game } = await a.c.call('game.create', { name: 'Secret', gameType: 'pw', password: 'hunter2-secret' });
    await b.c.call('game.join', { gameId: game.id, password: 'hunter2-secret' });
    await a.c.call('game.update', { password: 'other-secret-xyz' });
    const page = await b.c.call('games.list', { filter: { gameType: 'pw' } });
    expect(page.games[0]!.hasPassword).toBe(true);
    await settle(a);
    await settle(b);
    const everything = JSON.stringify([page, a.inbox.seen, b.inbox.seen, game]) + t.logs.join('');
    expect(everything).not.toContain('hunter2-secret');
    expect(everything).not.toContain('other-secret-xyz');
  });

  it('does not list hidden games, which can still be joined by id', async () => {
    const [a, b] = await Promise.all([player(t, 'HidA'), player(t, 'HidB')]);
    const { game } = await a.c.call('game.create', { name: 'Invite only', gameType: 'hidden', hidden: true });
    expect((await b.c.call('games.list', { filter: { gameType: 'hidden' } })).games).toEqual([]);
    expect((await b.c.call('game.join', { gameId: game.id })).game.players).toHaveLength(2);
  });

  it('creating while in a game leaves it first, and the others are told', async () => {
    const [a, b] = await Promise.all([player(t, 'MovA'), player(t, 'MovB')]);
    const { game } = await a.c.call('game.create', { name: 'First', gameType: 'move' });
    await b.c.call('game.join', { gameId: game.id });
    await b.c.call('game.create', { name: 'Second', gameType: 'move' });
    const left = await a.inbox.next('game.playerLeft', (d) => d.userId === b.id);
    expect(left.reason).toBe('joinedAnother');
  });

  it('hands ownership to the longest-present player when the owner leaves, and removes an empty game', async () => {
    const [a, b, c] = await Promise.all([player(t, 'OwnA'), player(t, 'OwnB'), player(t, 'OwnC')]);
    const { game } = await a.c.call('game.create', { name: 'Owners', gameType: 'owners' });
    await b.c.call('game.join', { gameId: game.id });
    await c.c.call('game.join', { gameId: game.id });
    await a.c.call('game.leave', {});
    const left = await c.inbox.next('game.playerLeft', (d) => d.userId === a.id);
    expect(left.ownerId).toBe(b.id);
    await b.c.call('game.leave', {});
    expect((await c.inbox.next('game.playerLeft', (d) => d.userId === b.id)).ownerId).toBe(c.id);
    await c.c.call('game.leave', {});
    expect((await a.c.call('games.list', { filter: { gameType: 'owners' } })).games).toEqual([]);
    expect(await c.c.call('game.leave', {}).catch((e) => e.code)).toBe('NOT_IN_GAME');
  });

  it('refuses owner operations to others with NOT_OWNER, and kicks for the owner', async () => {
    const [a, b] = await Promise.all([player(t, 'KickA'), player(t, 'KickB')]);
    const { game } = await a.c.call('game.create', { name: 'Kicks', gameType: 'kick' });
    await b.c.call('game.join', { gameId: game.id });
    for (const call of [b.c.call('game.kick', { userId: a.id }), b.c.call('game.update', { name: 'Mine' }), b.c.call('game.setOwner', { userId: b.id }), b.c.call('game.start', {})]) {
      expect(await call.catch((e) => e.code)).toBe('NOT_OWNER');
    }
    await a.c.call('game.kick', { userId: b.id });
    expect((await b.inbox.next('game.playerLeft', (d) => d.userId === b.id)).reason).toBe('kicked');
    expect((await b.c.call('game.current', {})).game).toBeNull();
  });

  it('fills the smaller team and refuses a switch to a full team', async () => {
    const [t1, t2, t3] = await Promise.all(['T1', 'T2', 'T3'].map((n) => player(t, n)));
    const { game } = await t1!.c.call('game.create', { name: 'Teams', gameType: 'teams', maxPlayers: 4, teamSize: 2 });
    await t2!.c.call('game.join', { gameId: game.id });
    const view = (await t3!.c.call('game.join', { gameId: game.id })).game;
    // Team 0 had one, team 1 had one: a tie goes to the lowest index.
    expect(view.players.map((p) => p.teamIndex)).toEqual([0, 1, 0]);
    expect(await t2!.c.call('game.setTeam', { teamIndex: 0 }).catch((e) => e.code)).toBe('TEAM_FULL');
    await t3!.c.call('game.setTeam', { teamIndex: 1 });
    const moved = await t1!.inbox.next('game.playerUpdated', (d) => d.player.userId === t3!.id);
    expect(moved.player.teamIndex).toBe(1);
  });

  it('starts a game: keys per player, spectators without, nobody joins, confirm checks the key', async () => {
    const [a, b, s, late] = await Promise.all([player(t, 'StA'), player(t, 'StB'), player(t, 'StSpec'), player(t, 'StLate')]);
    const { game } = await a.c.call('game.create', { name: 'Start', gameType: 'start' });
    await b.c.call('game.join', { gameId: game.id });
    await s.c.call('game.join', { gameId: game.id, spectate: true });
    const { confirmBy } = await a.c.call('game.start', {});
    expect(confirmBy).toBeGreaterThan(Date.now());
    // Everyone sees the start, with no key in it; each player gets their own key on their own stream, the spectator none.
    const started = await Promise.all([a.inbox.next('game.started'), b.inbox.next('game.started'), s.inbox.next('game.started')]);
    for (const st of started) expect(st).toEqual({ gameId: game.id, version: expect.any(Number), confirmBy });
    const [ka, kb] = await Promise.all([a.inbox.next('game.sessionKey'), b.inbox.next('game.sessionKey')]);
    expect(ka).toMatchObject({ gameId: game.id, serverAddress: 'gs-1.example:7777', confirmBy });
    expect(ka.sessionKey).toBeTruthy();
    expect(kb.sessionKey).toBeTruthy();
    expect(ka.sessionKey).not.toBe(kb.sessionKey);
    await settle(s);
    expect(s.inbox.of('game.sessionKey')).toEqual([]);
    expect(await late.c.call('game.join', { gameId: game.id }).catch((e) => e.code)).toBe('GAME_IN_PROGRESS');
    expect(await b.c.call('game.confirm', { sessionKey: ka.sessionKey! }).catch((e) => e.code)).toBe('WRONG_SESSION_KEY');
    await b.c.call('game.confirm', { sessionKey: kb.sessionKey! });
    // The key stays good for the game server (docs/operations.md); confirming again changes nothing.
    expect(await b.c.call('game.confirm', { sessionKey: kb.sessionKey! })).toEqual({});
    const confirmed = await a.inbox.next('game.playerUpdated', (d) => d.player.userId === b.id && d.player.confirmed);
    expect(confirmed.player.confirmed).toBe(true);

    // The game server ends it.
    const bad = await fetch(`${t.httpUrl}/v1/games/${game.id}/end`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    expect(bad.status).toBe(401);
    const ok = await fetch(`${t.httpUrl}/v1/games/${game.id}/end`, { method: 'POST', headers: { authorization: `Bearer ${SERVER_SECRET}` } });
    expect(ok.status).toBe(200);
    expect((await s.inbox.next('game.ended')).reason).toBe('ended');
    expect((await a.c.call('game.current', {})).game).toBeNull();
  });

  it('watches without a seat: spectators see chat and do not count toward maxPlayers', async () => {
    const [a, b, s] = await Promise.all([player(t, 'WA'), player(t, 'WB'), player(t, 'WS')]);
    const { game } = await a.c.call('game.create', { name: 'Watch', gameType: 'watch', maxPlayers: 2 });
    await s.c.call('game.join', { gameId: game.id, spectate: true });
    const j = await b.c.call('game.join', { gameId: game.id });
    expect(j.game.players).toHaveLength(2);
    expect(j.game.spectators.map((x) => x.userId)).toEqual([s.id]);
    await b.c.call('chat.send', { channel: 'game', text: 'gg' });
    expect((await s.inbox.next('chat.message')).text).toBe('gg');
  });

  it('limits chat length and rate', async () => {
    const a = await player(t, 'Chat');
    await a.c.call('game.create', { name: 'Chatty', gameType: 'chat' });
    expect(await a.c.call('chat.send', { channel: 'game', text: 'x'.repeat(501) }).catch((e) => e.code)).toBe('BAD_REQUEST');
    const codes = await Promise.all(Array.from({ length: 15 }, (_, i) => a.c.call('chat.send', { channel: 'game', text: `line ${i}` }).then(() => 'ok', (e) => e.code)));
    expect(codes.filter((c) => c === 'ok').length).toBeLessThanOrEqual(10);
    expect(codes).toContain('CHAT_TOO_FAST');
  });

  it('pushes list changes to subscribers: added, updated, removed', async () => {
    const [watcher, host, joiner] = await Promise.all([player(t, 'Sub'), player(t, 'SubHost'), player(t, 'SubJoin')]);
    const sub = await watcher.c.call('games.subscribe', { filter: { gameType: 'subs', hasFreeSeats: true } });
    expect(sub.games).toEqual([]);
    const { game } = await host.c.call('game.create', { name: 'Live', gameType: 'subs', maxPlayers: 2 });
    expect((await watcher.inbox.next('games.added')).game.id).toBe(game.id);
    await joiner.c.call('game.join', { gameId: game.id });
    // Now full: it leaves the "has free seats" filter.
    expect((await watcher.inbox.next('games.removed')).gameId).toBe(game.id);
    await joiner.c.call('game.leave', {});
    expect((await watcher.inbox.next('games.added', (d) => d.game.players === 1 && watcher.inbox.of('games.added').length === 2)).game.id).toBe(game.id);
    await host.c.call('game.update', { name: 'Renamed' });
    expect((await watcher.inbox.next('games.updated')).game.name).toBe('Renamed');
    await watcher.c.call('games.unsubscribe', { subscriptionId: sub.subscriptionId });
    await host.c.call('game.leave', {});
    await settle(watcher);
    expect(watcher.inbox.of('games.removed')).toHaveLength(1);
  });

  it('quick join picks the closest fit, creates when asked, and refuses when nothing fits', async () => {
    const [lo, hi, q, none] = await Promise.all([player(t, 'QLo'), player(t, 'QHi'), player(t, 'QQ'), player(t, 'QNone')]);
    await Promise.all([setLevel(lo.id, 3), setLevel(hi.id, 40), setLevel(q.id, 5)]);
    // High is older, so it would win a tie: the stored levels make Low the closer fit.
    await hi.c.call('game.create', { name: 'High', gameType: 'qj' });
    const low = await lo.c.call('game.create', { name: 'Low', gameType: 'qj' });
    const r = await q.c.call('games.quickJoin', { gameType: 'qj' });
    expect(r).toMatchObject({ created: false, game: { id: low.game.id } });
    expect(await none.c.call('games.quickJoin', { gameType: 'qj-empty' }).catch((e) => e.code)).toBe('NO_GAME_FOUND');
    const made = await none.c.call('games.quickJoin', { gameType: 'qj-empty', create: { name: 'Made for me', maxPlayers: 2 } });
    expect(made).toMatchObject({ created: true, game: { gameType: 'qj-empty', ownerId: none.id } });
  });

  it('two players racing for the last seat: one gets it, the other is placed elsewhere', async () => {
    const [host, x, y] = await Promise.all([player(t, 'RaceH'), player(t, 'RaceX'), player(t, 'RaceY')]);
    const { game } = await host.c.call('game.create', { name: 'One seat', gameType: 'race', maxPlayers: 2 });
    const [rx, ry] = await Promise.all([x, y].map((p) => p.c.call('games.quickJoin', { gameType: 'race', create: { name: `Table ${p.id.slice(2, 8)}`, maxPlayers: 2 } })));
    expect([rx!.game.id, ry!.game.id].filter((id) => id === game.id)).toHaveLength(1);
    expect([rx!.created, ry!.created].sort()).toEqual([false, true]);
    const full = (await host.c.call('game.current', {})).game!;
    expect(full.players).toHaveLength(2);
  });
});

describe('game timers and disconnects', () => {
  it('auto start: starts when full and everyone is ready', async () => {
    const t = await startTestNode();
    try {
      const [a, b] = await Promise.all([player(t, 'AutoA'), player(t, 'AutoB')]);
      const { game } = await a.c.call('game.create', { name: 'Auto', gameType: 'auto', maxPlayers: 2, startMode: 'auto' });
      await b.c.call('game.join', { gameId: game.id });
      await a.c.call('game.setReady', { ready: true });
      await settle(a);
      expect(a.inbox.of('game.started')).toEqual([]);
      await b.c.call('game.setReady', { ready: true });
      await a.inbox.next('game.started');
      expect((await a.inbox.next('game.sessionKey')).sessionKey).toBeTruthy();
    } finally {
      await t.stop();
    }
  });

  it('removes players who do not confirm in time, and ends a game past its maximum duration', async () => {
    const t = await startTestNode({ confirmTimeoutMs: 150, gameMaxDurationMs: 400 });
    try {
      const [a, b] = await Promise.all([player(t, 'CfA'), player(t, 'CfB')]);
      const { game } = await a.c.call('game.create', { name: 'Confirm', gameType: 'confirm' });
      await b.c.call('game.join', { gameId: game.id });
      await a.c.call('game.start', {});
      const key = (await a.inbox.next('game.sessionKey')).sessionKey;
      await a.c.call('game.confirm', { sessionKey: key });
      const gone = await a.inbox.next('game.playerLeft', (d) => d.userId === b.id);
      expect(gone.reason).toBe('unconfirmed');
      expect((await a.inbox.next('game.ended')).reason).toBe('maxDuration');
    } finally {
      await t.stop();
    }
  });

  it('keeps a disconnected player seated through the grace period, then removes them', async () => {
    const t = await startTestNode({ reconnectGraceMs: 300 });
    const proxy = await startProxy(t.node.port);
    try {
      const a = await player(t, 'DcA');
      const b = await player(t, 'DcB', { url: `ws://127.0.0.1:${proxy.port}` });
      const { game } = await a.c.call('game.create', { name: 'Drops', gameType: 'drops' });
      await b.c.call('game.join', { gameId: game.id });

      proxy.cut();
      const down = await a.inbox.next('game.playerUpdated', (d) => d.player.userId === b.id && !d.player.connected);
      expect(down.player.slot).toBe(2);
      const back = await a.inbox.next('game.playerUpdated', (d) => d.player.userId === b.id && d.player.connected && d.version > down.version);
      expect(back.player.connected).toBe(true);
      expect((await b.c.call('game.current', {})).game?.id).toBe(game.id);

      proxy.block(true);
      proxy.cut();
      const left = await a.inbox.next('game.playerLeft', (d) => d.userId === b.id);
      expect(left.reason).toBe('disconnected');
    } finally {
      await proxy.close();
      await t.stop();
    }
  });
});
