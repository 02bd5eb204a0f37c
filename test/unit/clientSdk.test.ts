import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { LobbyClient, LobbyError, PROTOCOL_VERSION } from '@foyer/client-sdk';
import type { LobbyClientOptions, LobbyState, StateInfo } from '@foyer/client-sdk';

// A real WebSocket server on port 0 that the test scripts frame by frame.

interface Req {
  id: number;
  op: string;
  data: unknown;
}

/** Items in arrival order; next() waits for the next one. */
class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }
  next(): Promise<T> {
    const item = this.items.shift();
    return item !== undefined ? Promise.resolve(item) : new Promise((resolve) => this.waiters.push(resolve));
  }
}

class FakeConn {
  readonly requests = new Queue<Req>();
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(
    readonly ws: WebSocket,
    readonly url: URL,
  ) {
    ws.on('message', (raw) => this.requests.push(JSON.parse(String(raw)) as Req));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }
  /** The next request, which must be `op`. */
  async expect(op: string): Promise<Req> {
    const req = await this.requests.next();
    expect(req.op).toBe(op);
    return req;
  }
  ok(re: number, data: unknown): void {
    this.ws.send(JSON.stringify({ re, ok: true, data }));
  }
  fail(re: number | null, code: string, message: string, issues?: unknown[]): void {
    this.ws.send(JSON.stringify({ re, ok: false, error: issues ? { code, message, issues } : { code, message } }));
  }
  /** A notice on the user's stream (epoch e1 unless told). */
  event(offset: number, text = `notice ${offset}`, epoch = 'e1', ev = 'server.notice'): void {
    this.ws.send(JSON.stringify({ ev, stream: 'user:u1', offset, epoch, data: { text, at: 1700000000000 } }));
  }
  close(code: number, reason = ''): void {
    this.ws.close(code, reason);
  }
}

class FakeServer {
  readonly conns = new Queue<FakeConn>();
  count = 0;
  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (ws, req) => {
      this.count++;
      this.conns.push(new FakeConn(ws, new URL(req.url ?? '/', 'ws://x')));
    });
  }
  static start(): Promise<FakeServer> {
    return new Promise((resolve) => {
      const wss: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => resolve(new FakeServer(wss)));
    });
  }
  get url(): string {
    const addr = this.wss.address();
    if (addr === null || typeof addr === 'string') throw new Error('not listening on TCP');
    return `ws://127.0.0.1:${addr.port}`;
  }
  nextConn(): Promise<FakeConn> {
    return this.conns.next();
  }
  stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

// ---- helpers ----

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  vi.restoreAllMocks();
});

async function setup(options: Partial<LobbyClientOptions> = {}): Promise<{ server: FakeServer; client: LobbyClient }> {
  const server = await FakeServer.start();
  cleanup.push(() => server.stop());
  const client = new LobbyClient({ url: server.url, reconnect: { minDelayMs: 1, maxDelayMs: 10 }, ...options });
  cleanup.push(() => client.close());
  return { server, client };
}

/** Resolves with the info of the next time the client enters `state`. */
function nextState(client: LobbyClient, state: LobbyState): Promise<StateInfo> {
  return new Promise((resolve) => {
    const off = client.onState((s, info) => {
      if (s === state) {
        off();
        resolve(info);
      }
    });
  });
}

function recordStates(client: LobbyClient): LobbyState[] {
  const states: LobbyState[] = [];
  client.onState((s) => states.push(s));
  return states;
}

/** The offset of each delivered server.notice, in order. */
function notices(client: LobbyClient): Queue<number> {
  const q = new Queue<number>();
  client.on('server.notice', (_data, frame) => q.push(frame.offset));
  return q;
}

async function rejection(p: Promise<unknown>): Promise<LobbyError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LobbyError);
  return err as LobbyError;
}

const HOUR = 3_600_000;

/** Connects and logs in as a guest; returns the server side of the connection. */
async function loginAsGuest(server: FakeServer, client: LobbyClient, token = 't1'): Promise<FakeConn> {
  await client.connect();
  const conn = await server.nextConn();
  const login = client.call('auth.guest', { name: 'Ann' });
  const req = await conn.expect('auth.guest');
  expect(req.data).toEqual({ name: 'Ann' });
  conn.ok(req.id, { userId: 'u1', name: 'Ann', token, expiresAt: Date.now() + HOUR });
  const me = await login;
  expect(me.token).toBe(token);
  return conn;
}

// ---- tests ----

describe('LobbyClient', () => {
  it('connects with the protocol version and logs in as a guest', async () => {
    const { server, client } = await setup();
    const states = recordStates(client);
    const conn = await loginAsGuest(server, client);
    expect(conn.url.searchParams.get('v')).toBe(String(PROTOCOL_VERSION));
    expect(conn.url.searchParams.has('token')).toBe(false);
    expect(states).toEqual(['connecting', 'connected']);
    expect(client.state).toBe('connected');
    expect(client.userId).toBe('u1');
    expect(client.token).toBe('t1');
  });

  it('matches replies to calls by id, whatever their order', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    const a = client.call('session.ping', { t: 1 });
    const b = client.call('session.ping', { t: 2 });
    const ra = await conn.expect('session.ping');
    const rb = await conn.expect('session.ping');
    expect(rb.id).toBeGreaterThan(ra.id);
    conn.ok(rb.id, { t: 2, serverTime: 20 });
    conn.ok(ra.id, { t: 1, serverTime: 10 });
    expect(await a).toEqual({ t: 1, serverTime: 10 });
    expect(await b).toEqual({ t: 2, serverTime: 20 });
  });

  it('sends {} for ops whose data can be left out', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    const p = client.call('session.ping');
    const req = await conn.expect('session.ping');
    expect(req.data).toEqual({});
    conn.ok(req.id, { serverTime: 5 });
    expect((await p).serverTime).toBe(5);
  });

  it('rejects with a typed LobbyError carrying code, message and issues', async () => {
    const { server, client } = await setup();
    await client.connect();
    const conn = await server.nextConn();
    const p = client.call('auth.guest', { name: '' });
    const req = await conn.expect('auth.guest');
    const issues = [{ path: ['data', 'name'], message: 'Too small' }];
    conn.fail(req.id, 'BAD_REQUEST', 'invalid data for auth.guest', issues);
    const err = await rejection(p);
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toBe('invalid data for auth.guest');
    expect(err.issues).toEqual(issues);
    expect(err.name).toBe('LobbyError');
    expect(client.userId).toBeUndefined();
  });

  it('times out a call, ignores its late reply, and keeps working', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    const slow = rejection(client.call('session.ping', { t: 1 }, { timeoutMs: 20 }));
    const req = await conn.expect('session.ping');
    expect((await slow).code).toBe('TIMEOUT');
    conn.ok(req.id, { t: 1, serverTime: 1 });
    const next = client.call('session.ping', { t: 2 });
    const req2 = await conn.expect('session.ping');
    conn.ok(req2.id, { t: 2, serverTime: 2 });
    expect(await next).toEqual({ t: 2, serverTime: 2 });
  });

  it('delivers events once per stream position, drops duplicates, and takes a new epoch and a snapshot as they come', async () => {
    const { server, client } = await setup();
    const seqs = notices(client);
    const texts: string[] = [];
    client.on('server.notice', (data) => texts.push(data.text));
    const conn = await loginAsGuest(server, client);
    conn.event(1);
    conn.event(2);
    conn.event(2);
    conn.event(1);
    conn.event(3);
    expect([await seqs.next(), await seqs.next(), await seqs.next()]).toEqual([1, 2, 3]);
    expect(texts).toEqual(['notice 1', 'notice 2', 'notice 3']);
    expect(client.positions()).toEqual([{ stream: 'user:u1', offset: 3, epoch: 'e1' }]);
    // Another epoch numbers anew: offset 1 there is new.
    conn.event(1, 'renumbered', 'e2');
    expect(await seqs.next()).toBe(1);
    expect(client.positions()).toEqual([{ stream: 'user:u1', offset: 1, epoch: 'e2' }]);
    // A snapshot stands for the state at its offset: it applies even at an offset already seen, and sets the position.
    const snaps: number[] = [];
    client.on('user.snapshot', (_d, f) => snaps.push(f.offset));
    conn.event(1, 'snap', 'e2', 'user.snapshot');
    conn.event(1, 'again', 'e2');
    conn.event(3, 'after', 'e2');
    expect(await seqs.next()).toBe(3);
    expect(snaps).toEqual([1]);
    expect(texts.slice(3)).toEqual(['renumbered', 'after']);
  });

  it('keeps delivering to other handlers when one throws, and unsubscribes', async () => {
    const { server, client } = await setup();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const off = client.on('server.notice', () => {
      throw new Error('app bug');
    });
    const seqs = notices(client);
    const conn = await loginAsGuest(server, client);
    conn.event(1);
    expect(await seqs.next()).toBe(1);
    expect(errors).toHaveBeenCalledTimes(1);
    off();
    conn.event(2);
    expect(await seqs.next()).toBe(2);
    expect(errors).toHaveBeenCalledTimes(1);
  });

  it('ignores frames it cannot read', async () => {
    const { server, client } = await setup();
    const seqs = notices(client);
    const conn = await loginAsGuest(server, client);
    conn.ws.send('not json');
    conn.ws.send('null');
    conn.ws.send(JSON.stringify({ ev: 'server.notice', stream: 'user:u1', offset: 'x', epoch: 'e1', data: {} }));
    conn.ws.send(JSON.stringify({ ev: 'server.notice', offset: 1, epoch: 'e1', data: {} }));
    conn.fail(null, 'BAD_REQUEST', 'frame is not valid JSON');
    conn.event(1);
    expect(await seqs.next()).toBe(1);
    expect(client.state).toBe('connected');
  });

  it('reconnects after 1001 and resumes from its positions; calls made meanwhile wait; stream states are told', async () => {
    const { server, client } = await setup();
    const seqs = notices(client);
    const conn = await loginAsGuest(server, client);
    conn.event(1);
    conn.event(2);
    conn.event(3);
    for (let i = 0; i < 3; i++) await seqs.next();
    const states = recordStates(client);

    const reconnecting = nextState(client, 'reconnecting');
    conn.close(1001, 'server shutting down');
    const info = await reconnecting;
    expect(info.close).toEqual({ code: 1001, name: 'GOING_AWAY', reason: 'server shutting down' });
    expect(info.attempt).toBe(1);
    const waiting = client.call('session.ping', { t: 7 });

    const conn2 = await server.nextConn();
    const resume = await conn2.expect('session.resume');
    expect(resume.data).toEqual({ token: 't1', streams: [{ stream: 'user:u1', offset: 3, epoch: 'e1' }] });
    const resumed = nextState(client, 'resumed');
    const told: [string, string][] = [];
    client.onStream((stream, st) => told.push([stream, st]));
    conn2.ok(resume.id, {
      userId: 'u1', name: 'Ann', token: 't2', expiresAt: Date.now() + HOUR, resumed: true,
      streams: [{ stream: 'user:u1', offset: 5, epoch: 'e1', state: 'resumed' }, { stream: 'game:g1', offset: 2, epoch: 'e9', state: 'gone' }],
    });
    conn2.event(3); // already seen: must not be delivered again
    conn2.event(4);
    conn2.event(5);
    await resumed;
    expect(await seqs.next()).toBe(4);
    expect(await seqs.next()).toBe(5);
    expect(told).toEqual([['user:u1', 'resumed'], ['game:g1', 'gone']]);
    expect(client.positions()).toEqual([{ stream: 'user:u1', offset: 5, epoch: 'e1' }]);
    expect(client.token).toBe('t2');

    const ping = await conn2.expect('session.ping');
    expect(ping.data).toEqual({ t: 7 });
    conn2.ok(ping.id, { t: 7, serverTime: 1 });
    expect(await waiting).toEqual({ t: 7, serverTime: 1 });
    expect(states).toEqual(['reconnecting', 'resumed']);
  });

  it('keeps retrying when a reconnect attempt drops before the resume reply', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    conn.close(4004, 'draining');
    const conn2 = await server.nextConn();
    await conn2.expect('session.resume');
    const second = nextState(client, 'reconnecting');
    conn2.close(1001);
    expect((await second).attempt).toBe(2);
    const conn3 = await server.nextConn();
    const resume = await conn3.expect('session.resume');
    const resumed = nextState(client, 'resumed');
    conn3.ok(resume.id, { userId: 'u1', name: 'Ann', expiresAt: Date.now() + HOUR, resumed: true, streams: [] });
    await resumed;
  });

  it('resyncs when the server could not resume: positions start from the reply', async () => {
    const { server, client } = await setup();
    const seqs = notices(client);
    const conn = await loginAsGuest(server, client);
    conn.event(1);
    conn.event(2);
    await seqs.next();
    await seqs.next();
    conn.close(4006, 'heartbeat timeout');
    const conn2 = await server.nextConn();
    const resume = await conn2.expect('session.resume');
    expect(resume.data).toEqual({ token: 't1', streams: [{ stream: 'user:u1', offset: 2, epoch: 'e1' }] });
    const resynced = nextState(client, 'resynced');
    conn2.ok(resume.id, { userId: 'u1', name: 'Ann', expiresAt: Date.now() + HOUR, resumed: false, streams: [{ stream: 'user:u1', offset: 0, epoch: 'e5', state: 'resynced' }] });
    await resynced;
    expect(client.positions()).toEqual([{ stream: 'user:u1', offset: 0, epoch: 'e5' }]);
    conn2.event(1, 'fresh', 'e5');
    expect(await seqs.next()).toBe(1);
  });

  it('closes for good when the resume is refused, failing waiting calls', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    conn.close(1001);
    await nextState(client, 'reconnecting');
    const waiting = rejection(client.call('session.ping', {}));
    const conn2 = await server.nextConn();
    const resume = await conn2.expect('session.resume');
    const closed = nextState(client, 'closed');
    conn2.fail(resume.id, 'TOKEN_EXPIRED', 'The token has expired; log in again.');
    const info = await closed;
    expect(info.error?.code).toBe('TOKEN_EXPIRED');
    expect((await waiting).code).toBe('CLOSED');
    expect(client.token).toBeUndefined();
    expect((await conn2.closed).code).toBe(1000);
  });

  it('treats 4001 REPLACED as final: closed with the close info, in-flight calls DISCONNECTED', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    const inFlight = rejection(client.call('session.ping', {}));
    await conn.expect('session.ping');
    const closed = nextState(client, 'closed');
    conn.close(4001, 'logged in elsewhere');
    const info = await closed;
    expect(info.close).toEqual({ code: 4001, name: 'REPLACED', reason: 'logged in elsewhere' });
    expect((await inFlight).code).toBe('DISCONNECTED');
    expect(client.state).toBe('closed');
    expect((await rejection(client.call('session.ping', {}))).code).toBe('CLOSED');
    expect(server.count).toBe(1);
  });

  it('does not reconnect when reconnect is off', async () => {
    const { server, client } = await setup({ reconnect: false });
    const conn = await loginAsGuest(server, client);
    const closed = nextState(client, 'closed');
    conn.close(1001, 'bye');
    expect((await closed).close?.name).toBe('GOING_AWAY');
  });

  it('close() rejects pending calls with CLOSED and closes with 1000', async () => {
    const { server, client } = await setup();
    const conn = await loginAsGuest(server, client);
    const inFlight = rejection(client.call('session.ping', {}));
    await conn.expect('session.ping');
    const states = recordStates(client);
    await client.close();
    expect((await inFlight).code).toBe('CLOSED');
    expect((await conn.closed).code).toBe(1000);
    expect(states).toEqual(['closed']);
    expect(client.token).toBe('t1');
  });

  it('close() while reconnecting stops and fails the waiting calls', async () => {
    const { server, client } = await setup({ reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } });
    const conn = await loginAsGuest(server, client);
    const reconnecting = nextState(client, 'reconnecting');
    conn.close(1001);
    await reconnecting;
    const waiting = rejection(client.call('session.ping', {}));
    await client.close();
    expect((await waiting).code).toBe('CLOSED');
    expect(client.state).toBe('closed');
  });

  it('logs in with the token from options as the first frame, not on the URL', async () => {
    const { server, client } = await setup({ token: 'saved' });
    const connected = client.connect();
    const conn = await server.nextConn();
    expect(conn.url.searchParams.has('token')).toBe(false);
    const req = await conn.expect('auth.token');
    expect(req.data).toEqual({ token: 'saved' });
    expect(client.state).toBe('connecting');
    conn.ok(req.id, { userId: 'ext:7', name: 'Bo', expiresAt: Date.now() + HOUR });
    await connected;
    expect(client.state).toBe('connected');
    expect(client.userId).toBe('ext:7');
    expect(client.token).toBe('saved');
  });

  it('rejects connect() and forgets the token when the server refuses it', async () => {
    const { server, client } = await setup({ token: 'stale' });
    const connected = rejection(client.connect());
    const conn = await server.nextConn();
    const req = await conn.expect('auth.token');
    conn.fail(req.id, 'TOKEN_EXPIRED', 'The token has expired; log in again.');
    expect((await connected).code).toBe('TOKEN_EXPIRED');
    expect(client.state).toBe('closed');
    expect(client.token).toBeUndefined();
    // Connecting again opens a logged-out connection to log in another way.
    await loginAsGuest(server, client);
  });

  it('rejects connect() when the server cannot be reached', async () => {
    const server = await FakeServer.start();
    const url = server.url;
    await server.stop();
    const client = new LobbyClient({ url });
    const err = await rejection(client.connect());
    expect(err.code).toBe('DISCONNECTED');
    expect(err.close?.code).toBe(1006);
    expect(client.state).toBe('closed');
  });

  it('with several urls, moves to the next node on each reconnect attempt, round robin', async () => {
    const [s1, s2, s3] = await Promise.all([FakeServer.start(), FakeServer.start(), FakeServer.start()]);
    const dead = s2.url;
    await s2.stop(); // a node that died: attempts on it fail at once
    cleanup.push(() => s1.stop(), () => s3.stop());
    const client = new LobbyClient({ url: [s1.url, dead, s3.url], reconnect: { minDelayMs: 1, maxDelayMs: 10 } });
    cleanup.push(() => client.close());
    expect(client.url).toBe(s1.url);
    const conn = await loginAsGuest(s1, client);
    const attempts: (number | undefined)[] = [];
    client.onState((s, info) => s === 'reconnecting' && attempts.push(info.attempt));

    // s1's node goes away: attempt 1 goes to the dead address, attempt 2 to s3, where the session resyncs.
    conn.close(1001, 'node gone');
    const conn3 = await s3.nextConn();
    const resume = await conn3.expect('session.resume');
    expect(resume.data).toEqual({ token: 't1', streams: [] });
    expect(conn3.url.searchParams.get('v')).toBe(String(PROTOCOL_VERSION));
    const resynced = nextState(client, 'resynced');
    conn3.ok(resume.id, { userId: 'u1', name: 'Ann', expiresAt: Date.now() + HOUR, resumed: false, streams: [] });
    await resynced;
    expect(attempts).toEqual([1, 2]);
    expect(client.url).toBe(s3.url);
    expect(s1.count).toBe(1);

    // Draining s3: the next attempt wraps around to s1.
    conn3.close(4004, 'draining');
    const back = await s1.nextConn();
    const resume2 = await back.expect('session.resume');
    expect(resume2.data).toEqual({ token: 't1', streams: [] });
    const resumed = nextState(client, 'resumed');
    back.ok(resume2.id, { userId: 'u1', name: 'Ann', expiresAt: Date.now() + HOUR, resumed: true, streams: [] });
    await resumed;
    expect(client.url).toBe(s1.url);
    const ping = client.call('session.ping', {});
    const req = await back.expect('session.ping');
    back.ok(req.id, { serverTime: 1 });
    await ping;
  });

  it('connect() makes one attempt on the current url, even with several', async () => {
    const s1 = await FakeServer.start();
    const s2 = await FakeServer.start();
    cleanup.push(() => s2.stop());
    const url1 = s1.url;
    await s1.stop();
    const client = new LobbyClient({ url: [url1, s2.url] });
    const err = await rejection(client.connect());
    expect(err.code).toBe('DISCONNECTED');
    expect(client.state).toBe('closed');
    expect(s2.count).toBe(0);
    expect(() => new LobbyClient({ url: [] })).toThrow(TypeError);
  });

  it('refreshes a short-lived token halfway through its life', async () => {
    const { server, client } = await setup();
    await client.connect();
    const conn = await server.nextConn();
    const login = client.call('auth.guest', { name: 'Ann' });
    const req = await conn.expect('auth.guest');
    conn.ok(req.id, { userId: 'u1', name: 'Ann', token: 'short', expiresAt: Date.now() + 200 });
    await login;
    const refresh = await conn.expect('auth.refresh');
    expect(refresh.data).toEqual({});
    conn.ok(refresh.id, { userId: 'u1', name: 'Ann', token: 'fresh', expiresAt: Date.now() + HOUR });
    const ping = client.call('session.ping', {});
    const req2 = await conn.expect('session.ping');
    conn.ok(req2.id, { serverTime: 1 });
    await ping;
    expect(client.token).toBe('fresh');
    expect(client.expiresAt).toBeGreaterThan(Date.now() + HOUR / 2);
  });
});
