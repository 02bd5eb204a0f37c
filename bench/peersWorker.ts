/**
 * One worker thread of Foyer's peer driver (bench/peersDriver.ts): it holds a
 * share of the SDK clients, so that the clients' protocol work (frames read
 * and parsed, chat lines written) runs beside the harness's thread, whose
 * timers and latency clock must stay punctual. It uses the SDK's public API
 * only, as a studio's client would.
 *
 * The main thread asks it to seat groups of clients (`join`), hands it the
 * chat lines to send in batches (`send`: pairs of client slot and the
 * harness's `t`), and gets back the `t` of every chat line its clients
 * received, in one Float64Array per turn of this thread's event loop
 * (`chat`), with the time the batch's first line arrived, so the driver can
 * say how much the hand-over adds to the harness's latency.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { LobbyClient } from '@foyer/client-sdk';
import { socketClass } from './lib/clients.js';
import { Errors } from './lib/format.js';
import { LINE } from './peersLine.js';

export type ToWorker =
  | { type: 'join'; g: number; size: number; R: number; url: string }
  | { type: 'send'; batch: Float64Array }
  | { type: 'close' };

export type FromWorker =
  | { type: 'joined'; g: number; slots: number[]; failed: { count: number; samples: [string, number][] } }
  /** Lines received, LINE numbers each (bench/peersLine.ts). */
  | { type: 'chat'; lines: Float64Array }
  /** This thread's event-loop delay since the first line sent, posted every LOOP_MS. */
  | { type: 'loop'; loop: LoopDelay }
  | { type: 'refused'; code: string }
  /** A seated client's connection ended before the harness closed it (a slow reader cut off, say): its close code. */
  | { type: 'lost'; code: number };

/** An event loop's delay (monitorEventLoopDelay, 10 ms resolution: only the upper percentiles mean much), ms. */
export interface LoopDelay {
  p99: number;
  max: number;
}
const LOOP_MS = 250;

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const clients: LobbyClient[] = [];
let closing = false;

/**
 * The chat lines received (LINE numbers each), handed over once this turn's socket reads
 * are done, or sooner when the turn runs long (a worker that fell behind
 * reads thousands of frames in one turn): a line waits at most about
 * HAND_OVER_MS here.
 */
const HAND_OVER_MS = 2;
let received = new Float64Array(4096 * LINE);
let count = 0;
let firstAt = 0;
let scheduled = false;
const flush = () => {
  scheduled = false;
  if (count === 0) return;
  const lines = received.slice(0, count);
  post({ type: 'chat', lines }, [lines.buffer as ArrayBuffer]);
  count = 0;
};

const loop = monitorEventLoopDelay({ resolution: 10 });
let loopTimer: NodeJS.Timeout | undefined;
const postLoop = () => post({ type: 'loop', loop: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 } });

function onLine(text: string, at: number): void {
  // The harness's message is { t }; the line's text is that object as JSON (see sendQueued below).
  const t = (JSON.parse(text) as { t: number }).t;
  const now = Date.now();
  if (count === 0) {
    firstAt = now;
    if (!scheduled) (scheduled = true), setImmediate(flush);
  }
  if (count === received.length) {
    const bigger = new Float64Array(count * 2);
    bigger.set(received);
    received = bigger;
  }
  received[count++] = t;
  received[count++] = at;
  received[count++] = now;
  if (count % (64 * LINE) === 0 && now - firstAt >= HAND_OVER_MS) flush();
}

const Socket = socketClass();

/**
 * Seats a group of clients in one game: each logs in as a guest; the first
 * of them logged in creates the game and each other one joins it once both
 * its login and the game are done (a group waits for no straggler's login
 * before its game exists).
 */
async function join(g: number, size: number, R: number, url: string): Promise<void> {
  const errors = new Errors();
  let created: Promise<string> | undefined;
  const seat = async (i: number): Promise<LobbyClient | undefined> => {
    const c = new LobbyClient({ url, WebSocket: Socket, reconnect: false, callTimeoutMs: 30_000 });
    try {
      await c.connect();
      await c.call('auth.guest', { name: `peer-${g * R + i}` });
      if (created) await c.call('game.join', { gameId: await created });
      else await (created = c.call('game.create', { name: `peers ${g}`, gameType: 'chat', maxPlayers: R }).then((r) => r.game.id));
      return c;
    } catch (err) {
      errors.add(err);
      void c.close();
      return undefined;
    }
  };
  const seated = (await Promise.all(Array.from({ length: size }, (_, i) => seat(i)))).filter((c) => c !== undefined);
  const slots = seated.map((c) => {
    c.on('chat.message', (d) => {
      if (d.channel === 'game') onLine(d.text, d.at);
    });
    c.onRefusal((_op, err) => post({ type: 'refused', code: err.code }));
    c.onState((state, info) => state === 'closed' && !closing && post({ type: 'lost', code: info.close?.code ?? 0 }));
    return clients.push(c) - 1;
  });
  post({ type: 'joined', g, slots, failed: { count: errors.count, samples: [...errors.samples] } });
}

/**
 * Batches of lines to send, sent after this turn's socket reads. Node hands a
 * worker up to 1,000 queued messages in one go: sending in the message
 * handler let a worker that fell behind send for seconds without reading its
 * sockets (nothing received, then everything late).
 */
let toSend: Float64Array[] = [];
const sendQueued = () => {
  const batches = toSend;
  toSend = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i += 2) {
      // Without id, as a game's chat would: no reply unless refused (onRefusal above).
      clients[b[i]!]!.send('chat.send', { channel: 'game', text: JSON.stringify({ t: b[i + 1] }) });
    }
  }
};

port.on('message', (m: ToWorker) => {
  if (m.type === 'send') {
    if (!loopTimer) {
      loop.enable();
      loopTimer = setInterval(postLoop, LOOP_MS);
    }
    if (toSend.push(m.batch) === 1) setImmediate(sendQueued);
  } else if (m.type === 'join') {
    void join(m.g, m.size, m.R, m.url);
  } else {
    closing = true;
    clearInterval(loopTimer);
    for (const c of clients) void c.close();
  }
});
