/**
 * Foyer bots: simulated players that exercise a lobby node through the
 * client SDK, the way a game client would. Each bot logs in as a guest and
 * then loops, with a random "think time" between steps:
 *
 * - quick join: `games.quickJoin` (creating a game when none fits), say a few
 *   lines in the game chat, leave;
 * - queue: `mm.join` a queue (default `duel`), accept the match it finds,
 *   confirm the match game with the session key from the `ready` status, say
 *   a few lines, leave.
 *
 * At the end it prints operations by op with latency p50/p99, errors by code,
 * matches made, games joined and chat lines sent and received.
 *
 * `runBots(options)` resolves with the summary; main.ts is the command line
 * (`npm run bots`). The bots need only the client SDK.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { LobbyClient, LobbyError, LobbyMirror } from '@foyer/client-sdk';
import type { CallArgs, EventData, LobbyErrorCode, OpName, OpResult } from '@foyer/client-sdk';

/** One's matchmaking ticket, as mm.status carries it. */
type TicketUpdate = EventData<'mm.status'>;

// ---------------------------------------------------------------- options and summary

export interface BotsOptions {
  /** Address of a Foyer node (or its load balancer). */
  url: string;
  /** How many bots, each with its own connection and guest account. Default 10. */
  count?: number;
  /** How long the bots play, from the start of the run (logins included). Default 30000. */
  durationMs?: number;
  /** Relative weights of the two behaviours; `{ quickJoin: 1, queue: 0 }` only quick-joins. Default 1:1. */
  mix?: { quickJoin?: number; queue?: number };
  /** Matchmaking queue the bots join. Default `duel`. */
  queue?: string;
  /** Game type for quick join (bots only meet games of this type). Default `bots`. */
  gameType?: string;
  /** Mean pause between steps; each pause is drawn from 0.5–1.5× this. Default 500. */
  thinkMs?: number;
  /** Chat lines a bot says per game. Default 3. */
  chatLines?: number;
  /** Give up waiting in a queue after this long (mm.cancel) and do something else. Default 20000. */
  maxQueueWaitMs?: number;
  /** Seed of every random choice and pause, to repeat a run. Default: random (reported in the summary). */
  seed?: number;
  /** Connections opened and logged in at once. Default 20. */
  loginConcurrency?: number;
  /** Stops the run early (Ctrl-C); the summary covers what happened until then. */
  signal?: AbortSignal;
  /** Progress lines (logins done, stopping). Default: none. */
  log?: (line: string) => void;
}

export interface OpStats {
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface BotsSummary {
  url: string;
  seed: number;
  bots: number;
  /** Bots that connected and logged in. */
  loggedIn: number;
  /** Wall time from start to the last client closed. */
  elapsedMs: number;
  /** Time until every bot had tried to log in. */
  loginMs: number;
  /** Per op (and `connect`, the WebSocket handshake): successes, failures, latency of both. */
  ops: Record<string, OpStats>;
  /** Every op together. */
  overall: OpStats;
  /** Failed operations by error code (server codes, and the SDK's TIMEOUT / DISCONNECTED / CLOSED). */
  errors: Record<string, number>;
  /** Distinct matches that became ready (a game with its players seated). */
  matchesMade: number;
  /** Match games a bot confirmed with its session key. */
  matchesConfirmed: number;
  /** Quick joins that took a seat in an existing game. */
  gamesJoined: number;
  /** Quick joins that found nothing and created a game. */
  gamesCreated: number;
  chatSent: number;
  /** Chat lines from other players that reached a bot. */
  chatReceived: number;
  /** Times a bot's connection dropped (the SDK reconnects and resumes on its own). */
  reconnects: number;
}

/** Thrown by runBots when nothing answers at the url, so that callers can say how to start a node. */
export class NoNodeError extends Error {
  override readonly name = 'NoNodeError';
}

// ---------------------------------------------------------------- small tools

/** A seeded PRNG (mulberry32): fast, and good enough for think times and coin flips. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Waits `ms`, or less if `signal` aborts: a bot must not sit out its think
 * time when the run is over. Resolves true if the full time passed.
 */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (full: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(full);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), Math.max(0, ms));
    signal.addEventListener('abort', onAbort);
  });
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Latencies and error codes of every operation, shared by all bots of a run. */
class Recorder {
  readonly latencies = new Map<string, number[]>();
  readonly failures = new Map<string, number>();
  readonly errors = new Map<string, number>();

  record(op: string, ms: number, error?: unknown): void {
    let list = this.latencies.get(op);
    if (!list) this.latencies.set(op, (list = []));
    list.push(ms);
    if (error === undefined) return;
    this.failures.set(op, (this.failures.get(op) ?? 0) + 1);
    const code = codeOf(error);
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  stats(): { ops: Record<string, OpStats>; overall: OpStats } {
    const ops: Record<string, OpStats> = {};
    const all: number[] = [];
    let failed = 0;
    for (const [op, list] of [...this.latencies].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...list].sort((a, b) => a - b);
      const errors = this.failures.get(op) ?? 0;
      ops[op] = { ok: list.length - errors, errors, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
      all.push(...list);
      failed += errors;
    }
    all.sort((a, b) => a - b);
    return { ops, overall: { ok: all.length - failed, errors: failed, p50Ms: percentile(all, 50), p99Ms: percentile(all, 99) } };
  }
}

/** The error code a bot counts: the server's (or the SDK's) code, else UNEXPECTED for anything that is not a LobbyError. */
function codeOf(err: unknown): LobbyErrorCode | 'UNEXPECTED' {
  return err instanceof LobbyError ? err.code : 'UNEXPECTED';
}

/** What the bots say; the content does not matter, only that lines flow. */
const LINES = ['hi all', 'glhf', 'anyone up for another round?', 'nice one', 'brb', 'gg', 'that was close', 'one more?'];

/** Run-wide counters the bots add to. */
interface Totals {
  matchIds: Set<string>;
  matchesConfirmed: number;
  gamesJoined: number;
  gamesCreated: number;
  chatSent: number;
  chatReceived: number;
  reconnects: number;
}

interface BotConfig {
  url: string;
  queue: string;
  gameType: string;
  thinkMs: number;
  chatLines: number;
  maxQueueWaitMs: number;
  /** Probability that a cycle queues rather than quick-joins. */
  queueShare: number;
}

// ---------------------------------------------------------------- one bot

/**
 * One simulated player: a LobbyClient with the SDK's mirror of what it is
 * in, a seeded random source, and the loop that picks a behaviour per cycle.
 * Every call goes through `call`, which times it, counts its error code and
 * feeds its reply to the mirror; the behaviours then decide what a failure
 * means (mostly: this cycle is over, start the next).
 */
class Bot {
  readonly client: LobbyClient;
  /** The bot's game and ticket as the client knows them: the queue behaviour follows the ticket here. */
  private readonly mirror: LobbyMirror;
  private readonly random: () => number;
  private wakeTicket: (() => void) | undefined;
  /** Set once the client closed for good (a final close code, or the run's own close). */
  private closed = false;

  constructor(
    readonly index: number,
    private readonly cfg: BotConfig,
    private readonly rec: Recorder,
    private readonly totals: Totals,
    seed: number,
  ) {
    this.random = rng(seed);
    // reconnect stays on (the default): a real client rides out a dropped
    // connection, and the SDK resumes the session so no event is lost.
    this.client = new LobbyClient({ url: cfg.url });
    // Listeners go on before connecting, so nothing pushed after login is missed.
    this.mirror = new LobbyMirror(this.client);
    this.mirror.subscribe((next, prev) => {
      if (next.ticket.ticket !== prev.ticket.ticket) this.wakeTicket?.();
    });
    this.client.on('chat.message', (msg) => {
      // Our own lines come back too (the room includes us); count only the others'.
      if (msg.from.userId !== this.client.userId) this.totals.chatReceived++;
    });
    this.client.onState((state) => {
      if (state === 'reconnecting') this.totals.reconnects++;
      if (state === 'closed') this.closed = true;
    });
  }

  /** A client call, timed and counted. Throws the LobbyError on failure, like client.call. */
  async call<O extends OpName>(op: O, ...args: CallArgs<O>): Promise<OpResult<O>> {
    const t0 = performance.now();
    try {
      const result = await this.mirror.call(op, ...args);
      this.rec.record(op, performance.now() - t0);
      return result;
    } catch (err) {
      this.rec.record(op, performance.now() - t0, err);
      throw err;
    }
  }

  /** Same as `call`, but a failure (already counted) resolves undefined: for steps whose failure just ends a cycle. */
  async attempt<O extends OpName>(op: O, ...args: CallArgs<O>): Promise<OpResult<O> | undefined> {
    try {
      return await this.call(op, ...args);
    } catch (err) {
      if (!(err instanceof LobbyError)) throw err; // a bug in this file, not a server answer
      return undefined;
    }
  }

  /** Connects and logs in as a guest. Throws the first failure (already counted). */
  async login(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.client.connect();
      this.rec.record('connect', performance.now() - t0);
    } catch (err) {
      this.rec.record('connect', performance.now() - t0, err);
      throw err;
    }
    await this.call('auth.guest', { name: `bot-${this.index}` });
  }

  /** A think time: 0.5–1.5× the mean, so bots drift apart instead of acting in lockstep. */
  think(signal: AbortSignal): Promise<boolean> {
    return pause(this.cfg.thinkMs * (0.5 + this.random()), signal);
  }

  /** Plays cycles until `signal` aborts or the client closes for good. */
  async run(signal: AbortSignal): Promise<void> {
    // A first pause spreads the bots' first actions out.
    await this.think(signal);
    while (!signal.aborted && !this.closed) {
      if (this.random() < this.cfg.queueShare) await this.queueCycle(signal);
      else await this.quickJoinCycle(signal);
      await this.think(signal);
    }
  }

  // ---- behaviour 1: quick join, chat, leave

  private async quickJoinCycle(signal: AbortSignal): Promise<void> {
    const joined = await this.attempt('games.quickJoin', {
      gameType: this.cfg.gameType,
      // Without `create`, an empty lobby answers NO_GAME_FOUND; with it, the
      // first bot opens a game and the next ones find it.
      create: { name: `bot-${this.index}'s game`, maxPlayers: 4 },
    });
    if (!joined) return; // GAME_FULL races are retried by the server; anything left is counted, move on
    if (joined.created) this.totals.gamesCreated++;
    else this.totals.gamesJoined++;
    await this.chatAndLeave(signal);
  }

  /** Says a few lines in the current game with think time between them, then leaves it. */
  private async chatAndLeave(signal: AbortSignal): Promise<void> {
    for (let i = 0; i < this.cfg.chatLines && !signal.aborted; i++) {
      if (!(await this.think(signal))) break;
      const text = LINES[Math.floor(this.random() * LINES.length)]!;
      try {
        await this.call('chat.send', { channel: 'game', text });
        this.totals.chatSent++;
      } catch (err) {
        if (!(err instanceof LobbyError)) throw err;
        // NOT_IN_GAME: the game ended under us, nothing left to say or leave.
        if (err.code === 'NOT_IN_GAME' || err.code === 'CLOSED') return;
        // CHAT_TOO_FAST: the server's per-user chat bucket refills at a few
        // lines a second; skip this line and let it refill, as a polite client would.
        if (err.code === 'CHAT_TOO_FAST') await pause(1000, signal);
      }
    }
    // NOT_IN_GAME here means the game ended first; counted, and harmless.
    await this.attempt('game.leave', {});
  }

  // ---- behaviour 2: queue, accept, confirm, chat, leave

  private async queueCycle(signal: AbortSignal): Promise<void> {
    // The queue matches on the stored ratings: new accounts all start at the
    // same one, so the initial rating window pairs bots at once.
    const ticket = await this.attempt('mm.join', { queue: this.cfg.queue });
    if (!ticket) return; // IN_MATCHMAKING, QUEUE_NOT_FOUND…: counted; try again next cycle
    const giveUpAt = Date.now() + this.cfg.maxQueueWaitMs;
    /** Matches accepted already: `found` is re-sent as each player accepts, and accepting twice is an error. */
    const accepted = new Set<string>();

    let seen: TicketUpdate = ticket;
    for (;;) {
      const status = await this.nextTicket(ticket.ticketId, seen, giveUpAt - Date.now(), signal);
      if (!status) {
        // The run is over or we waited long enough: leave the queue.
        try {
          await this.call('mm.cancel', {});
        } catch (err) {
          if (!(err instanceof LobbyError)) throw err;
          // Counted. NOT_QUEUED: the ticket ended meanwhile, nothing to do.
          // MATCH_STARTED: it became ready just now; the server sent `ready`
          // before this reply, so the mirror has it: see the match through.
          if (err.code !== 'MATCH_STARTED') return;
          const ready = await this.nextTicket(ticket.ticketId, seen, 0, new AbortController().signal, 'ready');
          if (ready) await this.playMatch(ready, signal);
        }
        return;
      }
      seen = status;
      switch (status.status) {
        case 'queued':
          continue; // still waiting, or back in the queue after someone else declined or timed out
        case 'found': {
          const matchId = status.match?.matchId;
          if (!matchId || accepted.has(matchId)) continue;
          accepted.add(matchId);
          // A human glances at the dialog before clicking; stay well inside acceptBy.
          const left = (status.match?.acceptBy ?? Date.now()) - Date.now();
          await pause(Math.min(this.cfg.thinkMs * this.random(), left / 2), signal);
          // NO_MATCH_FOUND: the match fell through before our accept (someone
          // declined or timed out); the ticket goes back to `queued`. Keep waiting.
          await this.attempt('mm.accept', {});
          continue;
        }
        case 'ready':
          await this.playMatch(status, signal);
          return;
        default:
          return; // cancelled, timedOut, failed: this ticket is over
      }
    }
  }

  /** The match is ready and we are seated in its game: confirm with our key, chat, leave. */
  private async playMatch(ready: TicketUpdate, signal: AbortSignal): Promise<void> {
    if (ready.match) this.totals.matchIds.add(ready.match.matchId);
    // Only players get a key; without one there is nothing to confirm.
    if (ready.sessionKey) {
      // A real client would hand the key and serverAddress to its game server;
      // confirming tells the lobby we made it (unconfirmed players are removed).
      const confirmed = await this.attempt('game.confirm', { sessionKey: ready.sessionKey });
      if (confirmed) this.totals.matchesConfirmed++;
    }
    await this.chatAndLeave(signal);
  }

  /**
   * The ticket `ticketId` as the mirror has it once it is no longer `seen`
   * (or once it has status `only`), or undefined after `timeoutMs` or when
   * `signal` aborts. Statuses that came in quick succession are passed over:
   * the bot acts on the newest.
   */
  private async nextTicket(ticketId: string, seen: TicketUpdate, timeoutMs: number, signal: AbortSignal, only?: TicketUpdate['status']): Promise<TicketUpdate | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Once the run is over, what the ticket became does not matter: the caller cancels.
      if (signal.aborted || this.closed) return undefined;
      const t = this.mirror.state.ticket.ticket;
      if (t && t.ticketId === ticketId && (only ? t.status === only : t !== seen)) return t;
      if (Date.now() >= deadline) return undefined;
      // Sleep until the ticket changes, the deadline passes or the run stops.
      const timeout = new AbortController();
      const stop = () => timeout.abort();
      signal.addEventListener('abort', stop);
      this.wakeTicket = stop;
      await pause(deadline - Date.now(), timeout.signal);
      this.wakeTicket = undefined;
      signal.removeEventListener('abort', stop);
    }
  }
}

// ---------------------------------------------------------------- the run

/**
 * Runs `count` bots against `url` for `durationMs` and resolves with what
 * they did. Throws NoNodeError when the first connection finds nothing
 * listening. Every client is closed before it resolves.
 */
export async function runBots(options: BotsOptions): Promise<BotsSummary> {
  const count = options.count ?? 10;
  const durationMs = options.durationMs ?? 30_000;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const quickJoinWeight = Math.max(0, options.mix?.quickJoin ?? 1);
  const queueWeight = Math.max(0, options.mix?.queue ?? 1);
  const cfg: BotConfig = {
    url: options.url,
    queue: options.queue ?? 'duel',
    gameType: options.gameType ?? 'bots',
    thinkMs: Math.max(0, options.thinkMs ?? 500),
    chatLines: Math.max(0, options.chatLines ?? 3),
    maxQueueWaitMs: options.maxQueueWaitMs ?? 20_000,
    queueShare: quickJoinWeight + queueWeight > 0 ? queueWeight / (quickJoinWeight + queueWeight) : 0.5,
  };
  const log = options.log ?? (() => {});
  const rec = new Recorder();
  const totals: Totals = { matchIds: new Set(), matchesConfirmed: 0, gamesJoined: 0, gamesCreated: 0, chatSent: 0, chatReceived: 0, reconnects: 0 };

  // One signal ends the run: the duration, or the caller's (Ctrl-C).
  const stop = new AbortController();
  // Every bot waits on this signal (a couple of listeners each): not a leak.
  setMaxListeners(0, stop.signal);
  const endRun = () => stop.abort();
  const timer = setTimeout(endRun, durationMs);
  options.signal?.addEventListener('abort', endRun);
  if (options.signal?.aborted) endRun();

  const t0 = performance.now();
  // Each bot gets its own stream, derived from the run's seed, so that one
  // bot's choices do not shift when another bot's timing changes.
  const bots = Array.from({ length: count }, (_, i) => new Bot(i, cfg, rec, totals, (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));
  const loops: Promise<void>[] = [];
  let loggedIn = 0;
  let loginMs = 0;

  try {
    // The first bot logs in alone: if nothing listens at the url, say so
    // plainly instead of reporting `count` identical failures.
    const first = bots[0];
    if (first) {
      try {
        await first.login();
      } catch (err) {
        if (err instanceof LobbyError && err.code === 'DISCONNECTED') throw new NoNodeError(`no Foyer node answers at ${options.url}: ${err.message}`);
        throw err;
      }
      loggedIn++;
      loops.push(first.run(stop.signal));
    }
    // The rest log in a few at a time: the server limits requests per
    // connection, not connections per second, but hundreds of handshakes at
    // once would measure the herd rather than the lobby. Each bot starts
    // playing as soon as it is in.
    let next = 1;
    const concurrency = Math.max(1, options.loginConcurrency ?? 20);
    const loginWorker = async () => {
      while (next < bots.length && !stop.signal.aborted) {
        const bot = bots[next++]!;
        try {
          await bot.login();
          loggedIn++;
          loops.push(bot.run(stop.signal));
        } catch (err) {
          if (!(err instanceof LobbyError)) throw err; // counted by login(); the bot sits this run out
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, bots.length) }, loginWorker));
    loginMs = performance.now() - t0;
    log(`${loggedIn}/${count} bots logged in in ${(loginMs / 1000).toFixed(1)} s; playing until ${(durationMs / 1000).toFixed(0)} s`);

    // Bots notice the stop at their next wait, cancel or leave what they are
    // in, and return; their last calls are bounded by the SDK's call timeout.
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve())));
    log('time is up: bots are leaving their games and queues');
    await Promise.all(loops);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', endRun);
    stop.abort(); // on an early throw, so that running loops wind down
    await Promise.allSettled(loops);
    // close() ends each connection cleanly (code 1000) and stops the SDK from
    // reconnecting. The server still keeps each session for its reconnect
    // grace period, which is why the bots left their games and queues first:
    // nobody is left waiting on a bot that is gone.
    await Promise.all(bots.map((b) => b.client.close()));
  }

  const { ops, overall } = rec.stats();
  return {
    url: options.url,
    seed,
    bots: count,
    loggedIn,
    elapsedMs: performance.now() - t0,
    loginMs,
    ops,
    overall,
    errors: Object.fromEntries([...rec.errors].sort((a, b) => b[1] - a[1])),
    matchesMade: totals.matchIds.size,
    matchesConfirmed: totals.matchesConfirmed,
    gamesJoined: totals.gamesJoined,
    gamesCreated: totals.gamesCreated,
    chatSent: totals.chatSent,
    chatReceived: totals.chatReceived,
    reconnects: totals.reconnects,
  };
}

// ---------------------------------------------------------------- printing

/** A plain-text table, numbers right-aligned. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');

/** The summary as the CLI prints it. */
export function formatSummary(s: BotsSummary): string {
  const secs = s.elapsedMs / 1000;
  const row = (name: string, o: OpStats) => [name, String(o.ok + o.errors), String(o.errors), (o.ok / secs).toFixed(1), ms(o.p50Ms), ms(o.p99Ms)];
  const opRows = Object.entries(s.ops).map(([op, o]) => row(op, o));
  const out = [
    `${s.loggedIn}/${s.bots} bots against ${s.url}, ${secs.toFixed(1)} s (logins took ${(s.loginMs / 1000).toFixed(1)} s), seed ${s.seed}`,
    '',
    table(['op', 'calls', 'errors', 'ok/s', 'p50 ms', 'p99 ms'], [...opRows, row('all', s.overall)]),
    '',
  ];
  const errors = Object.entries(s.errors);
  out.push(errors.length ? table(['error code', 'count'], errors.map(([code, n]) => [code, String(n)])) : 'no errors');
  out.push(
    '',
    `matches made ${s.matchesMade} (confirmed by ${s.matchesConfirmed} players); quick join: ${s.gamesJoined} games joined, ${s.gamesCreated} created`,
    `chat lines sent ${s.chatSent}, received ${s.chatReceived}; reconnects ${s.reconnects}`,
  );
  return out.join('\n');
}
