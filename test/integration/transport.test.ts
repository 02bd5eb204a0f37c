import pino from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransport, type Conn, type ConnHandlers, type Transport } from '../../server/src/transport/index.js';
import { transport as kind } from '../helpers/node.js';

/** The transport under test alone, on a free port: each socket's Conn once it opens. */
async function start(heartbeatTimeoutMs = 10_000, handlers: Partial<ConnHandlers> = {}): Promise<{ t: Transport; url: string; opened: () => Promise<Conn> }> {
  const waiting: ((c: Conn) => void)[] = [];
  const t = createTransport(
    kind,
    {
      host: '127.0.0.1',
      port: 0,
      maxFrameBytes: 1024,
      maxBufferedBytes: 1024 * 1024,
      maxHttpBodyBytes: 1024,
      heartbeatTimeoutMs,
      onConnection: (conn) => {
        waiting.shift()?.(conn);
        return { message() {}, pong() {}, close() {}, ...handlers };
      },
      onHttp: async () => ({ status: 404 }),
    },
    pino({ level: 'silent' }),
  );
  const port = await t.listen();
  return { t, url: `ws://127.0.0.1:${port}/`, opened: () => new Promise((resolve) => waiting.push(resolve)) };
}

/** A client socket; `upTo(last)` resolves with the texts it received once one of them is `last`. */
function client(url: string): { upTo: (last: string) => Promise<string[]> } {
  const ws = new WebSocket(url);
  const texts: string[] = [];
  let wake = () => {};
  ws.on('message', (d) => (texts.push(String(d)), wake()));
  sockets.push(ws);
  return {
    upTo: (last) =>
      new Promise((resolve) => {
        wake = () => texts.includes(last) && resolve(texts);
        wake();
      }),
  };
}

const sockets: WebSocket[] = [];
let running: Transport | undefined;
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await running?.close();
  running = undefined;
});

/** The transport running, one client connected and its socket subscribed to `game:1`. */
async function connected() {
  const { t, url, opened } = await start();
  running = t;
  const c = client(url);
  const conn = await opened();
  conn.subscribe('game:1');
  return { t, c, conn };
}

describe(`transport (${kind}): topics and frames sent to one socket`, () => {
  // uWS (this build) frees a socket's subscriber, with what was published to it and not yet written, when it
  // leaves its last topic: fails on uws without the anchor topic (uws.ts), as a game's players lost game.ended.
  it('a frame published on a topic reaches a socket that leaves its only topic in the same turn', async () => {
    const { t, c, conn } = await connected();
    t.publish('game:1', 'ended');
    conn.unsubscribe('game:1');
    conn.deliver('after');
    expect(await c.upTo('after')).toEqual(['ended', 'after']);
  });

  it('a frame published on a topic reaches a socket that leaves every topic it has, or changes topics, in the same turn', async () => {
    const { t, c, conn } = await connected();
    conn.subscribe('game:2');
    t.publish('game:1', 'one');
    conn.unsubscribe('game:1');
    conn.unsubscribe('game:2');
    conn.subscribe('game:3');
    t.publish('game:3', 'three');
    conn.unsubscribe('game:3');
    conn.deliver('after');
    expect(await c.upTo('after')).toEqual(['one', 'three', 'after']);
  });

  it('frames sent to one socket and published on its topics arrive in the order they were made', async () => {
    const { t, c, conn } = await connected();
    t.publish('game:1', 'a');
    conn.deliver('b');
    t.publish('game:1', 'c');
    conn.deliver('d');
    expect(await c.upTo('d')).toEqual(['a', 'b', 'c', 'd']);
  });
});

/** The transport running with this heartbeat timeout, after one ping of a client's socket: the pongs its handlers heard. */
async function pongsHeard(heartbeatTimeoutMs: number): Promise<{ t: Transport; pongs: number }> {
  let pongs = 0;
  let got = (_text: string | null) => {};
  const { t, url, opened } = await start(heartbeatTimeoutMs, { pong: () => pongs++, message: (text) => got(text) });
  running = t;
  const ws = new WebSocket(url);
  sockets.push(ws);
  const conn = await opened();
  // The client answers the ping (ws does before emitting it), then sends a frame: the server reads them in that order.
  ws.once('ping', () => ws.send('after the pong'));
  const after = new Promise((resolve) => (got = resolve));
  conn.ping();
  expect(await after).toBe('after the pong');
  return { t, pongs };
}

describe(`transport (${kind}): silence`, () => {
  it('watches silence itself on uws (no pong reaches the handlers), and leaves it to the gateway on ws', async () => {
    const { t, pongs } = await pongsHeard(10_000);
    expect(pongs).toBe(kind === 'uws' ? 0 : 1);
    expect(t.silenceLimitMs).toBe(kind === 'uws' ? 16_000 : undefined);
  });

  it('hands pongs to the handlers on uws too where uWS cannot keep the heartbeat timeout (over 956 s)', async () => {
    const { t, pongs } = await pongsHeard(957_000);
    expect(pongs).toBe(1);
    expect(t.silenceLimitMs).toBeUndefined();
  });
});
