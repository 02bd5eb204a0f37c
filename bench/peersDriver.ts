/**
 * Foyer's driver for the peer harness (../shared/peers, run by `npm run
 * bench:peers`): the harness imports this module (FOYER_DRIVER) and calls
 * connectAll({ port, N, R, onChat }).
 *
 * The clients (bench/peersClients.ts) live in worker threads
 * (bench/peersWorker.ts, FOYER_DRIVER_WORKERS: 2), or in the harness's own
 * thread (0), as the harness runs the peers' clients. In that thread, 2,000
 * SDK clients fell behind the harness's timers on a busy machine (lines sent
 * late, so a lighter load: the same for the peers' clients). With workers
 * the harness's thread keeps its timers and its clock: send(msg) queues the
 * line for the client's worker (one message per turn of its loop), and each
 * worker hands back the lines its clients received once per turn of its own
 * loop; the whole load goes out on time, and the line waits for its worker.
 * The 'sent' report splits every line's latency in legs (Leg) and gives the
 * event-loop delays and the server's GC pauses.
 *
 * The clients use the SDK's public API only (LobbyClient: connect, call, send, on, onRefusal, close),
 * so it keeps working when the protocol underneath changes. Each client logs
 * in as a guest; each group of R clients shares one game (the first logged in
 * creates it, the others join); a chat line carries the harness's message as
 * JSON in its text, sent without id (LobbyClient.send): refusals come back
 * through onRefusal and are counted.
 *
 * What the harness cannot see is written to stderr as lines
 * `foyer-driver {json}` (bench/peers.ts reads them): how long the server took
 * to accept connections (the harness gives up waiting for the node's READY
 * line after 8 s, and then reads its "before" RSS too early), the driver's
 * own join time (and, when the node was late, its RSS per client), failed
 * clients, and refused chat lines.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
// The modules themselves, not ./lib.js: the harness times its joins from before it imports this driver, and the
// SDK (lib/clients.js) is for the workers only.
import { Errors, pool, sleep } from './lib/format.js';
import { memOf } from './lib/machine.js';
import { metricsOf, runtimeBetween, settle } from './lib/server.js';
import { LINE } from './peersLine.js';
import type { PeerClients, Seated } from './peersClients.js';
import type { FromWorker, LoopDelay, ToWorker } from './peersWorker.js';

/** Worker threads holding the clients by default (FOYER_DRIVER_WORKERS, 2: the machine's second core; 0: the harness's own thread). */
const WORKERS = Math.max(0, Number(process.env.FOYER_DRIVER_WORKERS ?? 2));

/** One client as the harness sees it. */
export interface PeerClient {
  send(msg: unknown): void;
  close(): void;
}

export interface ConnectAllOptions {
  port: number;
  /** Clients. */
  N: number;
  /** Clients per game. */
  R: number;
  /** Called with the harness's message for every chat line any client receives. */
  onChat: (msg: unknown) => void;
  /** Clients connecting at once; the harness's other systems use 50. */
  concurrency?: number;
  /** Worker threads holding the clients (FOYER_DRIVER_WORKERS, 2); 0: the harness's own thread. */
  workers?: number;
}

/** What the driver tells bench/peers.ts through stderr. */
export type DriverReport =
  | {
      kind: 'joined';
      clients: number;
      failed: number;
      errors: string;
      /** How long the node took to accept connections after the harness stopped waiting for it (0: it was listening). */
      /** Worker threads holding the clients. */
      workers: number;
      waitedMs: number;
      /** From the first connection to the last client seated. */
      joinMs: number;
      /** Measured by the driver when the node listened late (the harness's own figure is wrong then). */
      rssPerClientKiB?: number;
    }
  | {
      kind: 'sent';
      sent: number;
      /** Deliveries those lines call for (each to every member of its game). */
      offered: number;
      /** Chat lines the clients received, all of them before the harness closed them. */
      received: number;
      refused: Record<string, number>;
      /** Clients whose connection ended before the harness closed them, by close code (4003: a slow reader cut off). */
      lost: Record<string, number>;
      /** What handing received lines from the workers to the harness's thread added to the latency (ms, whole: p50, p99, max). */
      handOverMs: Quantiles;
      /** The lines' latency before the hand-over, in two legs (Leg): the harness's `t` to the server's `at`, and on to a worker's read. */
      toServerMs: Quantiles;
      toClientMs: Quantiles;
      /** Event-loop delay over the chat: the harness's thread, and the worst of its workers (ms). */
      harnessLoop: LoopDelay;
      workerLoop: LoopDelay;
      /** The server's own view (its /metrics) from the last seat to the last reading before the close (every SERVER_READ_MS). */
      server?: ReturnType<typeof runtimeBetween>;
      /** CPU of the harness's process (its thread and the workers) from the last seat to the close, % of one core. */
      cpuPct: number;
    };

export type Quantiles = { p50: number; p99: number; max: number };

export const REPORT_PREFIX = 'foyer-driver ';

/**
 * How often the driver reads the server's /metrics during the chat: its GC
 * pauses and event-loop delay (prom-client resets the delay at each read, so
 * the report gives the worst window's p99 and max).
 */
export const SERVER_READ_MS = 3000;

const report = (r: DriverReport) => void process.stderr.write(REPORT_PREFIX + JSON.stringify(r) + '\n');

/** Resolves once 127.0.0.1:port accepts a TCP connection; returns how long that took (0: at the first try). */
async function waitForListener(port: number, maxMs = 180_000): Promise<number> {
  const t0 = performance.now();
  for (let attempt = 0; ; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (up) return attempt === 0 ? 0 : performance.now() - t0;
    if (performance.now() - t0 > maxMs) throw new Error(`foyer-driver: nothing listens on port ${port} after ${maxMs / 1000} s`);
    await sleep(100);
  }
}

/** The harness's server: the one child of this process (the harness runs this module in its own process). */
function serverPid(): number | undefined {
  try {
    const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return pids.length === 1 ? Number(pids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server's RSS before the clients, for a node that listened only after
 * the harness read it: once the node is quiet (its embedded database keeps
 * working for a while after it listens), after two full GCs when the
 * harness's gcpre.mjs is preloaded (it runs them on SIGUSR2), as the harness
 * does for a node that is ready in time.
 */
async function lateBaseline(pid: number): Promise<number> {
  await settle({ pid }, 30_000);
  if (/gcpre\.mjs/.test(process.env.NODE_OPTIONS ?? '')) {
    process.kill(pid, 'SIGUSR2');
    await sleep(1000);
  }
  return memOf(pid).rss;
}

export async function connectAll({ port, N, R, onChat, concurrency = 50, workers: threads = WORKERS }: ConnectAllOptions): Promise<PeerClient[]> {
  // In the harness's thread, the SDK is loaded only then (the workers load it in theirs).
  const workers: Holder[] = threads ? Array.from({ length: threads }, () => new DriverWorker(onChat)) : [new InThread(onChat, (await import('./peersClients.js')).PeerClients)];
  const waitedMs = await waitForListener(port);
  const pid = waitedMs > 0 ? serverPid() : undefined;
  const rss0 = pid ? await lateBaseline(pid) : NaN;
  const url = `ws://127.0.0.1:${port}/`;
  const t0 = performance.now();
  const groups = Math.ceil(N / R);
  const seated: [Holder, number][][] = new Array(groups);
  const errors = new Errors();
  // A group's clients connect together, so about `concurrency` clients are in flight at once, across the workers.
  await pool(groups, Math.max(1, Math.floor(concurrency / R)), async (g) => {
    const worker = workers.reduce((a, b) => (b.joining < a.joining ? b : a));
    const { slots, failed } = await worker.join(g, Math.min(R, N - g * R), R, url);
    errors.addAll(Errors.from(failed));
    seated[g] = slots.map((slot) => [worker, slot]);
  });
  const joinMs = performance.now() - t0;
  const clients = seated.flat().filter(Boolean);
  const seatedIn = seated.flatMap((group) => (group ?? []).map(() => group.length));
  const rssPerClientKiB = pid ? (memOf(pid).rss - rss0) / clients.length / 1024 : undefined;
  report({ kind: 'joined', clients: clients.length, failed: N - clients.length, errors: errors.toString(), workers: threads, waitedMs, joinMs, rssPerClientKiB });

  const cpu0 = process.cpuUsage();
  const chatT0 = performance.now();
  const harnessLoop = monitorEventLoopDelay({ resolution: 10 });
  harnessLoop.enable();
  const server = watchServer(port);
  let sent = 0;
  /** Deliveries the lines sent call for: one per member of the sender's game, the sender too. */
  let offered = 0;
  let open = clients.length;
  return clients.map(([worker, slot], i) => ({
    send(msg: unknown) {
      sent++;
      offered += seatedIn[i]!;
      worker.send(slot, (msg as { t: number }).t);
    },
    close() {
      // The harness closes every client and exits at once: report while it still can (stderr is synchronous on a pipe).
      if (--open > 0) return;
      const refused: Record<string, number> = {};
      const lost: Record<string, number> = {};
      for (const w of workers) {
        for (const [code, n] of w.refused) refused[code] = (refused[code] ?? 0) + n;
        for (const [code, n] of w.lost) lost[code] = (lost[code] ?? 0) + n;
      }
      const received = workers.reduce((n, w) => n + w.received, 0);
      const cpu = process.cpuUsage(cpu0);
      const cpuPct = (100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - chatT0);
      const ms = (ns: number) => ns / 1e6;
      report({
        kind: 'sent',
        sent,
        offered,
        received,
        refused,
        lost,
        handOverMs: quantiles(workers.map((w) => w.legs.handOver)),
        toServerMs: quantiles(workers.map((w) => w.legs.toServer)),
        toClientMs: quantiles(workers.map((w) => w.legs.toClient)),
        harnessLoop: { p99: ms(harnessLoop.percentile(99)), max: ms(harnessLoop.max) },
        workerLoop: { p99: Math.max(...workers.map((w) => w.loop?.p99 ?? NaN)), max: Math.max(...workers.map((w) => w.loop?.max ?? NaN)) },
        server: server.stop(),
        cpuPct,
      });
      for (const w of workers) w.close();
    },
  }));
}

/**
 * Where a share of the clients runs, as the harness's thread sees it: what
 * they received, refused and lost, and each received line's legs.
 */
abstract class Holder {
  /** Groups it is seating now. */
  joining = 0;
  readonly refused = new Map<string, number>();
  /** Clients whose connection ended before the harness closed them, by close code. */
  readonly lost = new Map<number, number>();
  /** Chat lines its clients received. */
  received = 0;
  /** Its event-loop delay (a worker's, as it last posted it; none: the harness's thread, reported apart). */
  loop: LoopDelay | undefined;
  /** Chat lines per ms of each leg of their way (whole ms, the last bucket: this many or more), Leg. */
  readonly legs: Record<Leg, Float64Array> = { toServer: leg(), toClient: leg(), handOver: leg() };

  constructor(protected readonly onChat: (msg: unknown) => void) {}

  abstract join(g: number, size: number, R: number, url: string): Promise<Seated>;
  abstract send(slot: number, t: number): void;
  abstract close(): void;

  /** One line received, handed to the harness (`now`: when its thread took it). */
  protected line(t: number, at: number, read: number, now: number): void {
    this.onChat({ t });
    this.received++;
    this.legs.toServer[bucket(at - t)]!++;
    this.legs.toClient[bucket(read - at)]!++;
    this.legs.handOver[bucket(now - read)]!++;
  }

  protected refuse(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  protected lose(code: number): void {
    this.lost.set(code, (this.lost.get(code) ?? 0) + 1);
  }
}

/**
 * The clients in the harness's own thread (FOYER_DRIVER_WORKERS=0), as the
 * harness runs the peers' clients: a line is sent in the harness's timer and
 * taken as its socket is read, nothing handed over.
 */
class InThread extends Holder {
  readonly #clients: PeerClients;

  constructor(onChat: (msg: unknown) => void, Clients: typeof PeerClients) {
    super(onChat);
    this.#clients = new Clients({ line: (t, at, read) => this.line(t, at, read, read), refused: (code) => this.refuse(code), lost: (code) => this.lose(code) });
  }

  async join(g: number, size: number, R: number, url: string): Promise<Seated> {
    this.joining++;
    try {
      return await this.#clients.join(g, size, R, url);
    } finally {
      this.joining--;
    }
  }

  send(slot: number, t: number): void {
    this.#clients.send(slot, t);
  }

  close(): void {
    this.#clients.close();
  }
}

/** The main thread's side of one worker (bench/peersWorker.ts). */
class DriverWorker extends Holder {
  readonly #worker = new Worker(new URL('./peersWorker.js', import.meta.url));
  readonly #joins = new Map<number, { resolve: (r: Seated) => void; reject: (err: unknown) => void }>();
  #batch = new Float64Array(1024);
  #length = 0;

  constructor(onChat: (msg: unknown) => void) {
    super(onChat);
    this.#worker.on('message', (m: FromWorker) => {
      if (m.type === 'chat') {
        const lines = m.lines;
        const now = Date.now();
        for (let i = 0; i < lines.length; i += LINE) this.line(lines[i]!, lines[i + 1]!, lines[i + 2]!, now);
      } else if (m.type === 'loop') {
        this.loop = m.loop;
      } else if (m.type === 'joined') {
        this.joining--;
        this.#joins.get(m.g)!.resolve(m);
        this.#joins.delete(m.g);
      } else if (m.type === 'lost') {
        this.lose(m.code);
      } else {
        this.refuse(m.code);
      }
    });
    // A worker that dies fails the joins it was running (the harness's run fails, rather than waiting for ever).
    this.#worker.on('error', (err) => {
      process.stderr.write(`foyer-driver: worker failed: ${String(err)}\n`);
      for (const j of this.#joins.values()) j.reject(err);
      this.#joins.clear();
    });
  }

  join(g: number, size: number, R: number, url: string): Promise<Seated> {
    this.joining++;
    return new Promise((resolve, reject) => {
      this.#joins.set(g, { resolve, reject });
      this.#post({ type: 'join', g, size, R, url });
    });
  }

  /** Queues a chat line; the lines queued in one turn of the harness's loop (its timers) go to the worker together. */
  send(slot: number, t: number): void {
    if (this.#length === 0) setImmediate(this.#flush);
    if (this.#length === this.#batch.length) {
      const bigger = new Float64Array(this.#length * 2);
      bigger.set(this.#batch);
      this.#batch = bigger;
    }
    this.#batch[this.#length++] = slot;
    this.#batch[this.#length++] = t;
  }

  readonly #flush = () => {
    const batch = this.#batch.slice(0, this.#length);
    this.#length = 0;
    this.#post({ type: 'send', batch }, [batch.buffer]);
  };

  close(): void {
    this.#post({ type: 'close' });
    this.#worker.unref();
  }

  #post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }
}

/**
 * The legs of a chat line's way, from the harness's `t` to the harness's
 * thread taking the line (the latency it measures), at the server's `at` and
 * the worker's read (bench/peersLine.ts): `toServer`, the harness's thread,
 * the hand-over to a worker, its send, the socket and the server's read;
 * `toClient`, the server's publish and write, the socket and the worker's
 * read; `handOver`, the worker's batch and the harness's thread taking it.
 */
type Leg = 'toServer' | 'toClient' | 'handOver';
/** Whole ms up to 10 s: a loaded machine's tail is seconds long. */
const LEG_BUCKETS = 10_001;
const leg = () => new Float64Array(LEG_BUCKETS);
const bucket = (ms: number) => Math.min(LEG_BUCKETS - 1, Math.max(0, ms));

/** p50, p99 and max of histograms of whole ms (summed; each bucket one ms, the last: this many or more). */
function quantiles(hists: Float64Array[]): Quantiles {
  const hist = new Float64Array(LEG_BUCKETS);
  for (const h of hists) for (let i = 0; i < hist.length; i++) hist[i]! += h[i]!;
  const total = hist.reduce((a, b) => a + b, 0);
  const at = (q: number) => {
    let seen = 0;
    for (let i = 0; i < hist.length; i++) if ((seen += hist[i]!) >= q * total) return i;
    return hist.length - 1;
  };
  let max = 0;
  for (let i = 0; i < hist.length; i++) if (hist[i]) max = i;
  return { p50: at(0.5), p99: at(0.99), max };
}

/**
 * Reads the server's /metrics now and every SERVER_READ_MS; stop() gives its
 * GC pauses between the first reading and the last, and the worst window's
 * event-loop delay. Synchronous at the end (the harness exits right after
 * closing the clients): the last window is the last reading's.
 */
function watchServer(port: number): { stop(): ReturnType<typeof runtimeBetween> | undefined } {
  let first: Map<string, number> | undefined;
  let last: Map<string, number> | undefined;
  let lagP99Ms = 0;
  let lagMaxMs = 0;
  const read = async () => {
    const m = await metricsOf(port);
    if (!m.size) return;
    if (!first) return void (first = m);
    const r = runtimeBetween(first, m);
    lagP99Ms = Math.max(lagP99Ms, r.lagP99Ms);
    lagMaxMs = Math.max(lagMaxMs, r.lagMaxMs);
    last = m;
  };
  void read();
  const timer = setInterval(() => void read(), SERVER_READ_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return first && last ? { ...runtimeBetween(first, last), lagP99Ms, lagMaxMs } : undefined;
    },
  };
}
