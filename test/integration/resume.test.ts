import type { LobbyClient } from '@foyer/client-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { startTestNode, withNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { RawClient } from '../helpers/raw.js';

function notices(c: LobbyClient): { text: string; seq: number }[] {
  const seen: { text: string; seq: number }[] = [];
  c.on('server.notice', (data, frame) => seen.push({ text: data.text, seq: frame.seq }));
  return seen;
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

  /** Cuts the connection, sends more events than a replay buffer of 3 keeps, then lets the client reconnect. */
  async function overflow(c: LobbyClient): Promise<void> {
    proxy.block(true);
    proxy.cut();
    await until(async () => (await t.admin('GET', '/admin/stats')).body.connections === 0);
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


  it('replays exactly the events missed while disconnected, in order', async () => {
    const c = await setup();
    const seen = notices(c);
    await notify(t, c.userId!, 'one');
    await notify(t, c.userId!, 'two');
    await until(() => seen.length === 2);

    proxy.block(true);
    proxy.cut();
    await state(c, 'reconnecting');
    await until(async () => (await t.admin('GET', '/admin/stats')).body.connections === 0);
    await notify(t, c.userId!, 'three');
    await notify(t, c.userId!, 'four');
    proxy.block(false);
    await state(c, 'resumed');
    await until(() => seen.length === 4);

    expect(seen).toEqual([
      { text: 'one', seq: 1 },
      { text: 'two', seq: 2 },
      { text: 'three', seq: 3 },
      { text: 'four', seq: 4 },
    ]);
    expect(c.lastSeq).toBe(4);
    await notify(t, c.userId!, 'five');
    await until(() => seen.length === 5);
    expect(seen[4]).toEqual({ text: 'five', seq: 5 });
  });

  it('resyncs when the grace period has passed: numbering restarts', async () => {
    const c = await setup({ reconnectGraceMs: 100 });
    const seen = notices(c);
    await notify(t, c.userId!, 'before');
    await until(() => seen.length === 1);
    proxy.block(true);
    proxy.cut();
    await until(async () => (await t.admin('GET', '/admin/stats')).body.sessions === 0);
    proxy.block(false);
    await state(c, 'resynced');
    expect(c.lastSeq).toBe(0);
    await notify(t, c.userId!, 'after');
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual({ text: 'after', seq: 1 });
  });

  it('resyncs when the missed events overflowed the replay buffer', async () => {
    const c = await setup({ resumeBufferEvents: 3 });
    const seen = notices(c);
    await overflow(c);
    await state(c, 'resynced');
    expect(seen).toEqual([]);
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
    const c = await setup({ resumeBufferEvents: 3 });
    const old = await c.call('games.subscribe', {});
    await overflow(c);
    await state(c, 'resynced');
    // Its events were lost with the replay buffer: the old subscription is over, not half alive.
    await expect(c.call('games.unsubscribe', { subscriptionId: old.subscriptionId })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const other = await t.guest('Gus');
    const { game } = await other.call('game.create', { name: 'After the resync', gameType: 'chess', maxPlayers: 2 });
    const fresh = await c.call('games.subscribe', {});
    expect(fresh.games.map((g) => g.id)).toEqual([game.id]);
  });
});

describe('resuming in a new client (a page reload)', () => {
  it('a client created with token and lastSeq resumes the session and gets what it missed', () =>
    withNode({}, async (t) => {
      const first = await t.guest('Reloader', { reconnect: false });
      const seen = notices(first);
      await notify(t, first.userId!, 'before');
      await until(() => seen.length === 1);
      const saved = { token: first.token!, lastSeq: first.lastSeq };
      await first.close();
      await notify(t, first.userId!, 'while away');

      const second = t.client({ token: saved.token, lastSeq: saved.lastSeq });
      const again = notices(second);
      await second.connect();
      expect(second.state).toBe('resumed');
      await until(() => again.length === 1);
      expect(again).toEqual([{ text: 'while away', seq: 2 }]);
      expect(second.userId).toBe(first.userId);
    }));
});

describe('session.resume on the wire', () => {
  it('answers resumed:false for a lastSeq from the future, and the connection is logged in', () =>
    withNode({}, async (t) => {
      const a = new RawClient(`${t.url}/?v=2`);
      const login = await a.request('auth.guest', { name: 'Nia' });
      a.close();
      const b = new RawClient(`${t.url}/?v=2`);
      const r = await b.request('session.resume', { token: login.data.token, lastSeq: 999 });
      expect(r.data).toMatchObject({ resumed: false, seq: 0, userId: login.data.userId });
      expect((await b.request('session.ping', {})).ok).toBe(true);
      b.close();
    }));

  it('a resume takes the session over from a connection that is still open', () =>
    withNode({}, async (t) => {
      const a = new RawClient(`${t.url}/?v=2`);
      const login = await a.request('auth.guest', { name: 'Oz' });
      await notify(t, login.data.userId, 'hi');
      await a.next((f) => f.ev === 'server.notice');
      const b = new RawClient(`${t.url}/?v=2`);
      const r = await b.request('session.resume', { token: login.data.token, lastSeq: 0 });
      expect(r.data).toMatchObject({ resumed: true, seq: 1 });
      const replayed = await b.next((f) => f.ev === 'server.notice');
      expect(replayed).toMatchObject({ seq: 1, data: { text: 'hi' } });
      expect((await a.closed).code).toBe(4001);
      b.close();
    }));
});

describe('acknowledged events', () => {
  /** A raw session that received three notices and acknowledged with `acks`, one request each, then lost its connection. */
  async function acked(t: TestNode, acks: number[]): Promise<string> {
    const a = new RawClient(`${t.url}/?v=2`);
    const login = await a.request('auth.guest', { name: 'Ack' });
    for (const text of ['one', 'two', 'three']) await notify(t, login.data.userId, text);
    await a.next((f) => f.seq === 3);
    for (const [i, ack] of acks.entries()) a.send({ id: 50 + i, op: 'session.ping', data: {}, ack });
    await a.next((f) => f.re === 50 + acks.length - 1);
    a.close();
    return login.data.token;
  }

  async function resume(t: TestNode, token: string, lastSeq: number) {
    const b = new RawClient(`${t.url}/?v=2`);
    const r = await b.request('session.resume', { token, lastSeq });
    return { b, data: r.data };
  }

  it('are not replayed: a resume from the ack gets only what came after it; an ack beyond the last event is ignored', () =>
    withNode({}, async (t) => {
      const token = await acked(t, [99, 2]); // 99: more than was sent
      const { b, data } = await resume(t, token, 2);
      expect(data).toMatchObject({ resumed: true, seq: 3 });
      expect(await b.next((f) => f.ev === 'server.notice')).toMatchObject({ seq: 3, data: { text: 'three' } });
      b.close();
    }));

  it('are gone: a resume from before the ack resyncs', () =>
    withNode({}, async (t) => {
      const token = await acked(t, [2]);
      const { b, data } = await resume(t, token, 1);
      expect(data).toMatchObject({ resumed: false, seq: 0 });
      b.close();
    }));

  it('the SDK acknowledges on its next request, and by itself when it only listens', () =>
    withNode({}, async (t) => {
      const talker = await t.guest('Talker');
      const seen = notices(talker);
      await notify(t, talker.userId!, 'one');
      await until(() => seen.length === 1);
      await talker.call('session.ping', {}); // carries ack: 1
      await talker.close();
      const r1 = await resume(t, talker.token!, 0);
      expect(r1.data).toMatchObject({ resumed: false });
      r1.b.close();

      const listener = await t.guest('Listener');
      const heard = notices(listener);
      await notify(t, listener.userId!, 'one');
      await until(() => heard.length === 1);
      // No call from the app: the SDK pings with the ack within a few seconds.
      await until(async () => pings(await (await fetch(`${t.httpUrl}/metrics`)).text()) >= 2);
      await listener.close();
      const r2 = await resume(t, listener.token!, 0);
      expect(r2.data).toMatchObject({ resumed: false });
      r2.b.close();
    }));
});

function notify(t: TestNode, userId: string, text: string) {
  return t.admin('POST', '/admin/notice', { userId, text });
}

function pings(metrics: string): number {
  return Number(/foyer_requests_total\{op="session.ping",outcome="ok"\} (\d+)/.exec(metrics)?.[1] ?? 0);
}
