import { CloseCode, jsonCodec, type ErrorBody, type Issue } from '@foyer/shared';
import type { Conn, ConnHandlers } from '../transport/index.js';
import type { Gateway } from './gateway.js';
import { TokenBucket } from './rateLimit.js';
import type { Session, SessionLink } from './session.js';
import { sentDirect, type Snapshot } from './streams.js';
import { tenths, tenthsUntil } from './tenths.js';

/**
 * How a connection catches up on one stream when it goes live: its snapshot
 * (if any) at `offset`, then every frame of the stream after `offset`.
 */
export interface CatchUp {
  epoch: string;
  offset: number;
  snapshot?: Snapshot | undefined;
}

const settled = Promise.resolve();

/**
 * One WebSocket and, once logged in, the session it carries. It is also the
 * transport's handlers for its socket. Kept small: a node holds 10,000 of
 * them, so no timers or closures of its own (the gateway's sweep checks its
 * deadlines), and what an idle connection does not need is made when needed
 * and let go at its next ping (rest()). Its times are in tenths of a
 * second (tenths.ts): small integers, where a Date.now() time costs a
 * 16-byte heap number per field.
 */
export class Connection implements SessionLink, ConnHandlers {
  session: Session | undefined;
  /** When a frame or a pong last came (tenths); pongs count only on a transport that reports them (Transport.silenceLimitMs). */
  lastSeen: number;
  /** When the next ping is due (tenths); spread over the interval from the start, so pings never come all at once. */
  nextPing: number;
  /**
   * When the connection is closed unless something happens first (tenths):
   * before login, the end of the time allowed to log in (4007); after, the
   * session's token expiry (4005).
   */
  deadline: number;
  closed = false;
  /** Events flow only once the login reply is out (see Login): until then the socket subscribes to no stream. */
  private live = false;
  /** Until live: how each stream catches up (the login's plan, and streams the session got meanwhile). */
  private catchUp: Map<string, CatchUp> | undefined;
  /** What requests need: made at the first, let go at a ping once it is as a new one would be (one field while idle, not four). */
  private busy: Busy | undefined;

  constructor(
    private readonly gw: Gateway,
    readonly conn: Conn,
  ) {
    const { config } = gw.deps;
    const now = Date.now();
    this.lastSeen = tenths(now);
    this.nextPing = tenths(now + Math.random() * config.heartbeatIntervalMs);
    this.deadline = tenthsUntil(now + config.authTimeoutMs);
  }

  /** Takes a token of the request rate limit; false when there is none. */
  take(now: number): boolean {
    const { rateLimitBurst, rateLimitPerSec } = this.gw.deps.config;
    const b = this.needs();
    return (b.bucket ??= new TokenBucket(rateLimitBurst, rateLimitPerSec, now)).take(now);
  }

  /** At each ping: lets go of what an idle connection keeps for nothing (a full rate-limit bucket, lanes with nothing to run). */
  rest(now: number): void {
    const b = this.busy;
    if (!b) return;
    if (b.bucket?.full(now)) b.bucket = undefined;
    if (b.strikes?.full(now)) b.strikes = undefined;
    if (b.main && !b.main.running()) b.main = undefined;
    if (b.storage && !b.storage.running()) b.storage = undefined;
    if (!b.bucket && !b.strikes && !b.main && !b.storage) this.busy = undefined;
  }

  private needs(): Busy {
    return (this.busy ??= { bucket: undefined, strikes: undefined, main: undefined, storage: undefined });
  }

  message(text: string | null): void {
    this.gw.received(this, text);
  }

  pong(): void {
    this.lastSeen = tenths(Date.now());
  }

  close(_code: number, silent: boolean): void {
    // Counted as the gateway counts its own heartbeat timeouts, whichever transport found the silence.
    if (silent) this.gw.deps.metrics.closes.inc({ reason: String(CloseCode.HEARTBEAT_TIMEOUT) });
    this.gw.socketClosed(this);
  }

  /** One more RATE_LIMITED reply; false once there were too many. */
  strike(now: number): boolean {
    const b = this.needs();
    return (b.strikes ??= new TokenBucket(this.gw.deps.config.rateLimitStrikes, 1, now)).take(now);
  }

  /**
   * Runs a request (or user task) in its lane. Once logged in, a request that
   * needs storage goes to the storage lane and every other one to the main
   * lane; before login everything goes to the main lane, so whatever follows
   * a login waits for it. Each lane runs its tasks one after another; the two
   * lanes run side by side, so a stuck database never holds back a ping, a
   * chat line or a game op. The storage lane starts behind what the main lane
   * holds at that moment (storage requests sent before the login reply).
   */
  enqueue(task: () => Promise<void> | undefined, storage = false): void {
    const b = this.needs();
    if (!storage || !this.session) return (b.main ??= new Lane()).run(task);
    (b.storage ??= new Lane(b.main?.running())).run(task);
  }

  /** Settles when every request taken so far has finished. */
  idle(): Promise<void> {
    return Promise.all([this.busy?.main?.tail, this.busy?.storage?.tail]).then(() => undefined);
  }

  attach(s: Session, expiresAt: number): void {
    this.session = s;
    this.catchUp = new Map();
    s.link = this;
    this.armExpiry(expiresAt);
  }

  /** Until goLive: the stream catches up from where it stands now (a stream the session got after its login reply). */
  subscribed(stream: string): void {
    if (this.live) return this.topic(stream, true);
    const st = this.gw.hub.get(stream);
    if (st && this.catchUp && !this.catchUp.has(stream)) this.catchUp.set(stream, { epoch: st.epoch, offset: st.offset });
  }

  unsubscribed(stream: string): void {
    if (!this.live) this.catchUp?.delete(stream);
    else this.topic(stream, false);
  }

  /** The transport's topic of a stream, but for a stream sent to the socket directly (`deliver`). */
  private topic(stream: string, on: boolean): void {
    if (sentDirect(stream)) return;
    if (on) this.conn.subscribe(stream);
    else this.conn.unsubscribe(stream);
  }

  /** Like a topic's frames, only once live (until then the login's plan catches the stream up) and counted by the hub's slow-reader check. */
  deliver(frame: string): void {
    if (this.live && !this.closed) this.conn.deliver(frame);
  }

  /** The login's plan: how each stream the reply names catches up. */
  plan(catchUp: Map<string, CatchUp>): void {
    if (!this.catchUp) return;
    for (const [name, p] of catchUp) this.catchUp.set(name, p);
  }

  /**
   * Right after the login reply, in the same tick: each stream's snapshot or
   * the frames it missed, then the socket subscribes to the session's streams
   * and live events follow — no gap, no duplicate.
   */
  goLive(): void {
    const s = this.session;
    if (!s || this.closed || this.live) return;
    const plan = this.catchUp;
    this.catchUp = undefined;
    const hub = this.gw.hub;
    this.conn.cork(() => {
      if (plan) {
        for (const [name, p] of plan) {
          const st = s.streams.includes(name) ? hub.get(name) : undefined;
          if (!st || st.epoch !== p.epoch) continue;
          if (p.snapshot) {
            const frame = hub.snapshotFrame(name, p.offset, p.snapshot);
            if (frame) this.send(frame);
          }
          // Events published since the plan was made (the reply went out after it).
          if (st.covers(p.epoch, p.offset)) for (const f of st.since(p.offset)) this.send(f);
        }
      }
      this.live = true;
      for (const name of s.streams) this.topic(name, true);
    });
  }


  /** The session's token expires at `expiresAt` (ms). */
  armExpiry(expiresAt: number): void {
    this.deadline = tenthsUntil(expiresAt);
    if (expiresAt <= Date.now()) this.closeWith(CloseCode.AUTH_EXPIRED, 'token expired');
  }

  /** Frames published to this connection's topics may have filled its buffer. */
  checkSlow(): void {
    if (this.live && !this.closed && this.conn.bufferedAmount() > this.gw.deps.config.maxBufferedBytes) this.closeWith(CloseCode.TOO_SLOW, 'client reads too slowly');
  }

  /** A request's answer: nothing for a request without id that succeeded; a refusal without id names its op (`re: null`). */
  reply(re: number | undefined, data: unknown, error?: ErrorBody, op?: string): void {
    if (re !== undefined) this.send(error ? jsonCodec.errorReply(re, error) : jsonCodec.okReply(re, data));
    else if (error) this.send(jsonCodec.errorReply(null, op === undefined ? error : { ...error, op }));
  }

  replyError(re: number | null, code: ErrorBody['code'], message: string, issues?: Issue[], op?: string): void {
    const body: ErrorBody = issues ? { code, message, issues } : { code, message };
    if (op !== undefined) body.op = op;
    this.send(jsonCodec.errorReply(re, body));
  }

  private send(frame: string): void {
    if (this.closed) return;
    this.conn.send(frame);
    if (this.conn.bufferedAmount() > this.gw.deps.config.maxBufferedBytes) this.closeWith(CloseCode.TOO_SLOW, 'client reads too slowly');
  }

  /** Another connection took the session over: this one closes without touching it. */
  evict(code: number, reason: string): void {
    this.session = undefined;
    this.closeWith(code, reason);
  }

  closeWith(code: number, reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.gw.deps.metrics.closes.inc({ reason: String(code) });
      this.conn.close(code, reason);
    }
    this.detach();
  }

  /** The connection is gone: its session waits out the grace period for a resume. */
  detach(): void {
    this.closed = true;
    this.live = false;
    this.catchUp = undefined;
    const s = this.session;
    this.session = undefined;
    if (s && s.link === this) {
      s.link = undefined;
      this.gw.sessionLost(s);
    }
  }
}


/** A connection's rate limits and request lanes (Connection.busy). */
interface Busy {
  /** The request rate limit (a full bucket and none are the same). */
  bucket: TokenBucket | undefined;
  /** RATE_LIMITED replies allowed before the connection is closed; one comes back per second. */
  strikes: TokenBucket | undefined;
  /** Requests that need no storage (and, before login, every request). */
  main: Lane | undefined;
  /** Requests that need storage, and user tasks. */
  storage: Lane | undefined;
}

/** Tasks that run one after another. With nothing in progress a task starts at once, in the same tick; a task must never reject. */
class Lane {
  /** Tasks taken and not finished; `tail` settles when the last of them has. */
  private busy = 0;
  tail: Promise<void> = settled;

  /** `after`: the lane starts behind it, as if it were the lane's first task. */
  constructor(after?: Promise<void>) {
    if (after) {
      this.busy = 1;
      this.tail = after.then(() => this.finished());
    }
  }

  /** What is in progress, if anything. */
  running(): Promise<void> | undefined {
    return this.busy > 0 ? this.tail : undefined;
  }

  run(task: () => Promise<void> | undefined): void {
    if (this.busy++ > 0) {
      this.tail = this.tail.then(task).then(() => this.finished());
      return;
    }
    const before = this.tail;
    const running = task();
    if (!running) return void this.busy--; // the common case: nothing allocated
    // A task queued by this one's synchronous part (which it may be waiting for) chained on `before`; idle() waits for both.
    this.tail = (this.tail === before ? running : Promise.all([this.tail, running])).then(() => this.finished());
  }

  /** A task finished; with none left, the lane lets go of its last promise (10,000 idle connections would each keep one). */
  private finished(): void {
    if (--this.busy === 0) this.tail = settled;
  }
}
