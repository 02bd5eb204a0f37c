import type { CloseName, ErrorBody, ErrorCode, EventData, EventFrame, EventName, Issue, OpData, OpName, StreamPosition } from '@foyer/shared';

/**
 * Where the client is. `connected`, `resumed` and `resynced` all mean "open
 * and usable"; they differ in what happened to the session:
 * - `connecting`: connect() is opening the socket (and logging in with `token`).
 * - `connected`: connect() succeeded, or a reconnect succeeded with no session to resume.
 * - `reconnecting`: the connection dropped; waiting `info.delayMs` before attempt `info.attempt`.
 *   Emitted once per attempt.
 * - `resumed`: reconnected and the session continued; each of its streams either
 *   replays what was missed or sends its snapshot (see `onStream`).
 * - `resynced`: reconnected but the server started a fresh session: what belonged
 *   to the old one (list subscriptions) is gone; every stream sends its snapshot.
 * - `closed`: not connected and not trying (initially, after close(), or after a final close).
 */
export type LobbyState = 'connecting' | 'connected' | 'reconnecting' | 'resumed' | 'resynced' | 'closed';

/** A WebSocket close as the client saw it. */
export interface CloseInfo {
  code: number;
  /** The Foyer name for the code (shared `closeCodes`), if it has one. */
  name: CloseName | undefined;
  reason: string;
}

export interface StateInfo {
  /** The close that led to this state (`reconnecting`, `closed`). */
  close?: CloseInfo;
  /** Why the client gave up or is retrying, when it was not just a close: a refused login or resume. */
  error?: LobbyError;
  /** `reconnecting`: which attempt comes next (1-based) and how long until it. */
  attempt?: number;
  delayMs?: number;
}

export interface ReconnectOptions {
  /** Lower bound of every retry delay. Default 250. */
  minDelayMs?: number;
  /** Upper bound the exponential backoff grows to. Default 10000. */
  maxDelayMs?: number;
}

/**
 * An event handler property. Written as a method so its parameter is checked
 * both ways: the DOM's and `ws`'s handlers take their own richer event types,
 * which carry at least what the client reads.
 */
type Handler<E> = { handle(ev: E): void }['handle'];

/** The browser-compatible subset of WebSocket the client uses; `ws` and the DOM's WebSocket both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code?: number; reason?: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface LobbyClientOptions {
  /**
   * `ws://` or `wss://` address of a Foyer node or its load balancer. Or the
   * addresses of several nodes of a cluster: connect() opens the first, and
   * every reconnect attempt moves on to the next one (round robin), so a
   * client outlives the death or drain of its node without a load balancer
   * (it resumes on another node, which resyncs it).
   */
  url: string | readonly string[];
  /** Log in with this token on connect() (sent as auth.token, not on the URL, so it stays out of access logs). */
  token?: string;
  /**
   * With `token`: where this app stood in each stream (`client.positions()`
   * saved before a page reload, say). connect() then sends session.resume
   * instead of auth.token, so each stream replays what was missed or sends
   * its snapshot (state 'resumed'), or the session starts afresh ('resynced').
   */
  positions?: readonly StreamPosition[];
  /** WebSocket implementation. Default: `globalThis.WebSocket`, else the `ws` package (Node 20). */
  WebSocket?: WebSocketConstructor;
  /** How long a call waits for its reply, including any wait for a reconnection. Default 10000. */
  callTimeoutMs?: number;
  /** Reconnect after a close that is not final. Default true (250 ms to 10 s). */
  reconnect?: boolean | ReconnectOptions;
  /** Refresh the token this long before it expires (halfway through, for short-lived tokens). Default 60000. */
  refreshBeforeMs?: number;
}

export interface CallOptions {
  /** Overrides `callTimeoutMs` for this call; `Infinity` waits forever. */
  timeoutMs?: number;
}

/** `data` may be left out for ops whose data has no required field (auth.refresh, session.ping). */
export type CallArgs<O extends OpName> = {} extends OpData<O>
  ? [data?: OpData<O>, options?: CallOptions]
  : [data: OpData<O>, options?: CallOptions];

export type EventHandler<E extends EventName> = (data: EventData<E>, frame: EventFrame) => void;
export type StateListener = (state: LobbyState, info: StateInfo) => void;
/**
 * What a session.resume did with one stream: `resumed` (the missed events
 * follow), `resynced` (its snapshot event follows), `gone` (the session no
 * longer receives it: forget what it showed).
 */
export type StreamState = 'resumed' | 'resynced' | 'gone';
export type StreamListener = (stream: string, state: StreamState) => void;
/** A request sent without id (`send`) that the server refused: its op and why. */
export type RefusalListener = (op: string, error: ErrorBody) => void;

/**
 * Server error codes plus the client's own:
 * - `TIMEOUT`: no reply in time (the server uses the same code for its own limit).
 * - `DISCONNECTED`: the connection dropped while the request was in flight, or connect() failed.
 * - `CLOSED`: the client is closed (close(), a final close, or a refused resume) and will not send it.
 */
export type LobbyErrorCode = ErrorCode | 'DISCONNECTED' | 'CLOSED';

export class LobbyError extends Error {
  override readonly name = 'LobbyError';
  readonly code: LobbyErrorCode;
  /** Where a BAD_REQUEST's data was wrong. */
  readonly issues: Issue[] | undefined;
  /** The close behind a DISCONNECTED or CLOSED, when there was one. */
  readonly close: CloseInfo | undefined;

  constructor(code: LobbyErrorCode, message: string, extra: { issues?: Issue[]; close?: CloseInfo; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.issues = extra.issues;
    this.close = extra.close;
  }
}
