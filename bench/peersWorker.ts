/**
 * One worker thread of Foyer's peer driver (bench/peersDriver.ts): it holds a
 * share of the SDK clients (bench/peersClients.ts), so that the clients'
 * protocol work (frames read and parsed, chat lines written) runs beside the
 * harness's thread, whose timers and latency clock stay punctual.
 *
 * The main thread asks it to seat groups of clients (`join`), hands it the
 * chat lines to send in batches (`send`: pairs of client slot and the
 * harness's `t`), and gets back every chat line its clients received
 * (bench/peersLine.ts: `t`, the server's `at`, the time it was read) in one
 * Float64Array per turn of this thread's event loop (`chat`), so the driver
 * can split the harness's latency into legs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { PeerClients, type Seated } from './peersClients.js';
import { LINE } from './peersLine.js';

export type ToWorker =
  | { type: 'join'; g: number; size: number; R: number; url: string }
  | { type: 'send'; batch: Float64Array }
  | { type: 'close' };

export type FromWorker =
  | ({ type: 'joined'; g: number } & Seated)
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

function onLine(t: number, at: number, now: number): void {
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

const clients = new PeerClients({
  line: onLine,
  refused: (code) => post({ type: 'refused', code }),
  lost: (code) => post({ type: 'lost', code }),
});

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
  for (const b of batches) for (let i = 0; i < b.length; i += 2) clients.send(b[i]!, b[i + 1]!);
};

port.on('message', (m: ToWorker) => {
  if (m.type === 'send') {
    if (!loopTimer) {
      loop.enable();
      loopTimer = setInterval(postLoop, LOOP_MS);
    }
    if (toSend.push(m.batch) === 1) setImmediate(sendQueued);
  } else if (m.type === 'join') {
    void clients.join(m.g, m.size, m.R, m.url).then((seated) => post({ type: 'joined', g: m.g, ...seated }));
  } else {
    clearInterval(loopTimer);
    clients.close();
  }
});
