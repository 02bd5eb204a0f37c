import { eventsOf, type LobbyClient } from '@foyer/client-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { startTestNode, withNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { RawClient } from '../helpers/raw.js';

/** The notices a client receives, with where each stands in its stream. */
function notices(c: LobbyClient): { text: string; offset: number }[] {
  const seen: { text: string; offset: number }[] = [];
  c.on('server.notice', (data, frame) => seen.push({ text: data.text, offset: frame.offset }));
  return seen;
}

/** What session.resume told the client of each stream. */
function streamStates(c: LobbyClient): Map<string, string> {
  const states = new Map<string, string>();
  c.onStream((stream, st) => states.set(stream, st));
  return states;
}

function state(c: LobbyClient, wanted: string): Promise<void> {
  return new Promise((resolve) => {
    if (c.state === wanted) return resolve();
    const off = c.onState((s) => s === wanted && (off(), resolve()));
  });
}


describe('resume after a lost connection', () => {
  let t: TestNode;
  let proxy: Proxy;
  afterEach(async () => {
    await proxy?.close();
    await t?.stop();
  });

  /** Cuts the connection, sends more notices than a history of 3 keeps, then lets the client reconnect. */
  async function overflow(c: LobbyClient): Promise<void> {
    proxy.block(true);
    proxy.cut();
    await until(() => !t.node.gateway.sessions.get(c.userId!)?.link); // the server saw the connection go
    for (const text of ['a', 'b', 'c', 'd', 'e']) await notify(t, c.userId!, text);
    proxy.block(false);
  }

  async function setup(overrides = {}) {
    t = await startTestNode(overrides);
    proxy = await startProxy(t.node.port);
    const c = t.client({ url: `ws://127.0.0.1:${proxy.port}` });
    await c.connect();
    await c.call('auth.guest', { name: 'Mo' });
    return c;
  }


  it('replays exactly the events missed in each stream while disconnected, in order, and nothing twice', async () => {
    const c = await setup();
    const seen = notices(c);
    const states = streamStates(c);
    const lines: string[] = [];
    c.on('chat.message', (d) => lines.push(d.text));
    const other = await t.guest('Host');
    const { game } = await other.call('game.create', { name: 'Resume', gameType: 'resume' });
    // Every frame of the game's stream, whatever its event (a player's connection coming and going is one too).
    const gameOffsets: number[] = [];
    for (const ev of [...eventsOf('game'), 'chat.message'] as const) c.on(ev, (_d, f) => f.stream === `game:${game.id}` && gameOffsets.push(f.offset));
    await c.call('game.join', { gameId: game.id });
    await notify(t, c.userId!, 'one');
    await other.call('chat.send', { channel: 'game', text: 'first' });
    await until(() => seen.length === 1 && lines.length === 1);

    proxy.block(true);
    proxy.cut();
    await state(c, 'reconnecting');
    await until(() => !t.node.gateway.sessions.get(c.userId!)?.link);
    await notify(t, c.userId!, 'two');
    await notify(t, c.userId!, 'three');
    await other.call('chat.send', { channel: 'game', text: 'second' });
    proxy.block(false);
    await state(c, 'resumed');
    await until(() => seen.length === 3 && lines.length === 2);

    expect(states.get(`user:${c.userId}`)).toBe('resumed');
    expect(states.get(`game:${game.id}`)).toBe('resumed');
    expect(seen.map((n) => n.text)).toEqual(['one', 'two', 'three']);
    expect(seen.map((n) => n.offset - seen[0]!.offset)).toEqual([0, 1, 2]);
    expect(lines).toEqual(['first', 'second']);
    expect(gameOffsets).toEqual(gameOffsets.map((_, i) => gameOffsets[0]! + i));
    const user = c.positions().find((p) => p.stream === `user:${c.userId}`)!;
    expect(user.offset).toBe(seen[2]!.offset);
    await notify(t, c.userId!, 'four');
    await until(() => seen.length === 4);
    expect(seen[3]).toEqual({ text: 'four', offset: seen[2]!.offset + 1 });
  });

  it('a user stream put away while quiet resumes as if kept: the same epoch, what was missed replayed, numbering going on', async () => {
    const c = await setup();
    const seen = notices(c);
    const states = streamStates(c);
    await notify(t, c.userId!, 'before');
    await until(() => seen.length === 1);
    const [before] = c.positions();
    // The hub forgets quiet histories, and puts quiet user streams away, at its timer (every silence limit + grace
    // period; uws: at least 12 s), called here: a stream is quiet at the second call that finds nothing published.
    await until(() => (t.node.gateway.hub.forgetQuiet(), t.node.gateway.hub.size === 0)); // the guest's own stream is the node's only one: put away
    proxy.block(true);
    proxy.cut();
    await until(() => !t.node.gateway.sessions.get(c.userId!)?.link);
    await notify(t, c.userId!, 'missed');
    proxy.block(false);
    await state(c, 'resumed');
    await until(() => seen.length === 2);
    expect(states.get(`user:${c.userId}`)).toBe('resumed');
    expect(seen).toEqual([{ text: 'before', offset: before!.offset }, { text: 'missed', offset: before!.offset + 1 }]);
    expect(c.positions()).toEqual([{ stream: `user:${c.userId}`, offset: before!.offset + 1, epoch: before!.epoch }]);
  });

  it('resyncs when the grace period has passed: a new session, every stream in a new epoch', async () => {
    const c = await setup({ reconnectGraceMs: 100 });
    const seen = notices(c);
    await notify(t, c.userId!, 'before');
    await until(() => seen.length === 1);
    const [before] = c.positions();
    proxy.block(true);
    proxy.cut();
    await until(async () => (await t.admin('GET', '/admin/stats')).body.sessions === 0);
    proxy.block(false);
    await state(c, 'resynced');
    const [after] = c.positions();
    expect(after).toMatchObject({ stream: `user:${c.userId}`, offset: 0 });
    expect(after!.epoch).not.toBe(before!.epoch);
    await notify(t, c.userId!, 'after');
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual({ text: 'after', offset: 1 });
  });

  it('a stream whose missed events overflowed its history resyncs (its snapshot) while the others resume', async () => {
    const c = await setup({ streamHistoryEvents: 3 });
    const seen = notices(c);
    const states = streamStates(c);
    const snapshots: unknown[] = [];
    c.on('user.snapshot', (d) => snapshots.push(d));
    const lines: string[] = [];
    c.on('chat.message', (d) => lines.push(d.text));
    const other = await t.guest('Talker');
    const { game } = await other.call('game.create', { name: 'Overflow', gameType: 'overflow' });
    await c.call('game.join', { gameId: game.id });
    await other.call('chat.send', { channel: 'game', text: 'missed' });
    await overflow(c);
    await state(c, 'resumed');
    await until(() => snapshots.length === 1 && lines.length === 1);
    expect(states.get(`user:${c.userId}`)).toBe('resynced');
    expect(states.get(`game:${game.id}`)).toBe('resumed');
    // Five notices went by while a history of 3 was kept: none is replayed, the snapshot stands for them.
    expect(seen).toEqual([]);
    expect(snapshots[0]).toEqual({ friends: [], invites: [], ticket: null });
    expect(lines).toEqual(['missed']);
    await notify(t, c.userId!, 'live');
    await until(() => seen.length === 1);
  });

  it('a stream the session left while disconnected is gone; the others resume', async () => {
    const c = await setup();
    const states = streamStates(c);
    const host = await t.guest('Kicker');
    const { game } = await host.call('game.create', { name: 'Kick', gameType: 'gone' });
    await c.call('game.join', { gameId: game.id });
    expect(c.positions().map((p) => p.stream).sort()).toEqual([`game:${game.id}`, `user:${c.userId}`].sort());
    proxy.block(true);
    proxy.cut();
    await until(() => !t.node.gateway.sessions.get(c.userId!)?.link);
    await host.call('game.kick', { userId: c.userId! });
    proxy.block(false);
    await state(c, 'resumed');
    expect(states.get(`game:${game.id}`)).toBe('gone');
    expect(states.get(`user:${c.userId}`)).toBe('resumed');
    expect(c.positions().map((p) => p.stream)).toEqual([`user:${c.userId}`]);
  });

  it('a ban while disconnected: the refused resume is final, the SDK stops reconnecting', async () => {
    const c = await setup();
    proxy.block(true);
    proxy.cut();
    await state(c, 'reconnecting');
    expect((await t.admin('POST', `/admin/users/${c.userId}/ban`, { durationMs: 60_000, reason: 'testing' })).status).toBe(200);
    const closed = new Promise<string | undefined>((resolve) => c.onState((s, info) => s === 'closed' && resolve(info.error?.code)));
    proxy.block(false);
    expect(await closed).toBe('BANNED');
  });

  it('a resynced session starts without the game list subscription of before: the client subscribes again', async () => {
    const c = await setup({ reconnectGraceMs: 100 });
    const states = streamStates(c);
    const old = await c.call('games.subscribe', {});
    expect(old.subscriptionId).toMatch(/^games:/);
    proxy.block(true);
    proxy.cut();
    await until(async () => (await t.admin('GET', '/admin/stats')).body.sessions === 0);
    proxy.block(false);
    await state(c, 'resynced');
    expect([...states]).toEqual([[`user:${c.userId}`, 'resynced']]);
    // The old subscription is over, not half alive.
    await expect(c.call('games.unsubscribe', { subscriptionId: old.subscriptionId })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const other = await t.guest('Gus');
    const { game } = await other.call('game.create', { name: 'After the resync', gameType: 'chess', maxPlayers: 2 });
    const fresh = await c.call('games.subscribe', {});
    expect(fresh.games.map((g) => g.id)).toEqual([game.id]);
  });

  it('a list subscription lives on through a resume: a stream the client holds no position in resyncs (its snapshot)', async () => {
    const c = await setup();
    const states = streamStates(c);
    const { subscriptionId } = await c.call('games.subscribe', { filter: { gameType: 'listed' } });
    const pages: string[][] = [];
    c.on('games.snapshot', (d) => d.subscriptionId === subscriptionId && pages.push(d.games.map((g) => g.name)));
    proxy.block(true);
    proxy.cut();
    await until(() => !t.node.gateway.sessions.get(c.userId!)?.link);
    const other = await t.guest('Lister');
    await other.call('game.create', { name: 'While away', gameType: 'listed' });
    proxy.block(false);
    await state(c, 'resumed');
    // No event of the list had come, so the client could not name a position in it.
    expect(states.get(subscriptionId)).toBe('resynced');
    await until(() => pages.length === 1);
    expect(pages).toEqual([['While away']]);
    await c.call('games.unsubscribe', { subscriptionId });
  });
});

describe('resuming in a new client (a page reload)', () => {
  it('a client created with token and positions resumes the session and gets what it missed', () =>
    withNode({}, async (t) => {
      const first = await t.guest('Reloader', { reconnect: false });
      const seen = notices(first);
      await notify(t, first.userId!, 'before');
      await until(() => seen.length === 1);
      const saved = { token: first.token!, positions: first.positions() };
      await first.close();
      await notify(t, first.userId!, 'while away');

      const second = t.client({ token: saved.token, positions: saved.positions });
      const again = notices(second);
      await second.connect();
      expect(second.state).toBe('resumed');
      await until(() => again.length === 1);
      expect(again).toEqual([{ text: 'while away', offset: 2 }]);
      expect(second.userId).toBe(first.userId);
    }));
});

describe('session.resume on the wire', () => {
  it('a position the history cannot cover (from the future, or another epoch) resyncs that stream only; a session that is gone starts anew', () =>
    withNode({}, async (t) => {
      const a = new RawClient(`${t.url}/?v=2`);
      const login = await a.request('auth.guest', { name: 'Nia' });
      const me = login.data.userId;
      const host = await t.guest('NiaHost');
      const { game } = await host.call('game.create', { name: 'Epochs', gameType: 'epoch' });
      await a.request('game.join', { gameId: game.id });
      await notify(t, me, 'hi');
      const notice = await a.next((f) => f.ev === 'server.notice');
      a.close();
      await until(() => !t.node.gateway.sessions.get(me)?.link);

      const b = new RawClient(`${t.url}/?v=2`);
      const r = await b.request('session.resume', {
        token: login.data.token,
        streams: [
          { stream: `user:${me}`, offset: notice.offset, epoch: 'not-this-one' },
          { stream: `game:${game.id}`, offset: 999, epoch: notice.epoch },
        ],
      });
      expect(r.data).toMatchObject({ resumed: true, userId: me });
      const byStream = new Map(r.data.streams.map((s: { stream: string }) => [s.stream, s]));
      expect(byStream.get(`user:${me}`)).toMatchObject({ state: 'resynced', offset: notice.offset, epoch: notice.epoch });
      expect(byStream.get(`game:${game.id}`)).toMatchObject({ state: 'resynced' });
      const user = await b.next((f) => f.ev === 'user.snapshot');
      expect(user).toMatchObject({ stream: `user:${me}`, offset: notice.offset, epoch: notice.epoch, data: { friends: [], invites: [], ticket: null } });
      const snap = await b.next((f) => f.ev === 'game.snapshot');
      expect(snap).toMatchObject({ stream: `game:${game.id}`, data: { game: { id: game.id } } });
      expect(snap.data.game.players.map((p: { userId: string }) => p.userId)).toEqual([host.userId, me]);
      expect((await b.request('session.ping', {})).ok).toBe(true);
      b.close();
    }));

  it('a resume takes the session over from a connection that is still open and replays after the position', () =>
    withNode({}, async (t) => {
      const a = new RawClient(`${t.url}/?v=2`);
      const login = await a.request('auth.guest', { name: 'Oz' });
      const [pos] = login.data.streams;
      expect(pos).toMatchObject({ stream: `user:${login.data.userId}`, offset: 0 });
      await notify(t, login.data.userId, 'hi');
      await a.next((f) => f.ev === 'server.notice');
      const b = new RawClient(`${t.url}/?v=2`);
      const r = await b.request('session.resume', { token: login.data.token, streams: [pos] });
      expect(r.data).toMatchObject({ resumed: true, streams: [{ ...pos, offset: 1, state: 'resumed' }] });
      const replayed = await b.next((f) => f.ev === 'server.notice');
      expect(replayed).toMatchObject({ stream: pos.stream, offset: 1, epoch: pos.epoch, data: { text: 'hi' } });
      expect((await a.closed).code).toBe(4001);
      b.close();
    }));

  it('a session that is gone: resumed false, its streams resynced, listed ones it no longer has gone', () =>
    withNode({ reconnectGraceMs: 50 }, async (t) => {
      const a = new RawClient(`${t.url}/?v=2`);
      const login = await a.request('auth.guest', { name: 'Gone' });
      const sub = await a.request('games.subscribe', {});
      a.close();
      await until(() => !t.node.gateway.sessions.has(login.data.userId));
      const b = new RawClient(`${t.url}/?v=2`);
      const listed = { stream: sub.data.subscriptionId, offset: 0, epoch: 'x' };
      const r = await b.request('session.resume', { token: login.data.token, streams: [...login.data.streams, listed] });
      expect(r.data.resumed).toBe(false);
      expect(r.data.streams).toEqual([
        { stream: `user:${login.data.userId}`, offset: 0, epoch: expect.any(String), state: 'resynced' },
        { ...listed, state: 'gone' },
      ]);
      expect(r.data.streams[0].epoch).not.toBe(login.data.streams[0].epoch);
      b.close();
    }));
});

function notify(t: TestNode, userId: string, text: string) {
  return t.admin('POST', '/admin/notice', { userId, text });
}
