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
import { parentPort } from 'node:worker_threads';
import type { LobbyClient } from '@foyer/client-sdk';
import { Errors, openClients } from './lib.js';

export type ToWorker =
  | { type: 'join'; g: number; size: number; R: number; url: string }
  | { type: 'send'; batch: Float64Array }
  | { type: 'close' };

export type FromWorker =
  | { type: 'joined'; g: number; slots: number[]; failed: { count: number; samples: [string, number][] } }
  | { type: 'chat'; ts: Float64Array; firstAt: number }
  | { type: 'refused'; code: string }
  /** A seated client's connection ended before the harness closed it (a slow reader cut off, say): its close code. */
  | { type: 'lost'; code: number };

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const clients: LobbyClient[] = [];
let closing = false;

/**
 * The `t` of chat lines received, handed over once this turn's socket reads
 * are done, or sooner when the turn runs long (a worker that fell behind
 * reads thousands of frames in one turn): a line waits at most about
 * HAND_OVER_MS here.
 */
const HAND_OVER_MS = 2;
let received = new Float64Array(4096);
let count = 0;
let firstAt = 0;
let scheduled = false;
const flush = () => {
  scheduled = false;
  if (count === 0) return;
  const ts = received.slice(0, count);
  post({ type: 'chat', ts, firstAt }, [ts.buffer as ArrayBuffer]);
  count = 0;
};

function onLine(text: string): void {
  // The harness's message is { t }; the line's text is that object as JSON (see sendQueued below).
  const t = (JSON.parse(text) as { t: number }).t;
  if (count === 0) {
    firstAt = Date.now();
    if (!scheduled) (scheduled = true), setImmediate(flush);
  }
  if (count === received.length) {
    const bigger = new Float64Array(count * 2);
    bigger.set(received);
    received = bigger;
  }
  received[count++] = t;
  if ((count & 63) === 0 && Date.now() - firstAt >= HAND_OVER_MS) flush();
}

async function join(g: number, size: number, R: number, url: string): Promise<void> {
  const errors = new Errors();
  const opened = await openClients(url, size, { concurrency: size, name: (i) => `peer-${g * R + i}` });
  errors.addAll(opened.errors);
  const [first, ...others] = opened.clients;
  const seated: LobbyClient[] = [];
  if (first) {
    try {
      const gameId = (await first.call('game.create', { name: `peers ${g}`, gameType: 'chat', maxPlayers: R })).game.id;
      seated.push(first);
      const joined = await Promise.all(
        others.map((c) =>
          c.call('game.join', { gameId }).then(
            () => c,
            (err: unknown) => (errors.add(err), void c.close(), undefined),
          ),
        ),
      );
      for (const c of joined) if (c) seated.push(c);
    } catch (err) {
      errors.add(err);
      for (const c of opened.clients) void c.close();
    }
  }
  const slots = seated.map((c) => {
    c.on('chat.message', (d) => {
      if (d.channel === 'game') onLine(d.text);
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
    if (toSend.push(m.batch) === 1) setImmediate(sendQueued);
  } else if (m.type === 'join') {
    void join(m.g, m.size, m.R, m.url);
  } else {
    closing = true;
    for (const c of clients) void c.close();
  }
});
