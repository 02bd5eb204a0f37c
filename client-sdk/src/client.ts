import { PROTOCOL_VERSION, closeCodes, closeName } from '@foyer/shared';
import type { ErrorBody, ErrorCode, EventData, EventFrame, EventName, Issue, OpData, OpName, OpResult, StreamPosition } from '@foyer/shared';
import { LobbyError } from './types.js';
import { loadWs } from './websocket.js';
import { StreamPositions } from './positions.js';
import { Listeners, report } from './listeners.js';
import { backoffDelay, reconnectPolicy, type ReconnectPolicy } from './reconnect.js';
import type { CallArgs, CloseInfo, EventHandler, LobbyClientOptions, LobbyErrorCode, LobbyState, RefusalListener, StateInfo, StateListener, StreamListener, WebSocketConstructor, WebSocketLike } from './types.js';

interface Call {
  op: string;
  data: unknown;
  // Plain callbacks, not promise resolvers: the login step must react in the same
  // tick as its reply, before any event frame that follows it is handled.
  resolve: (result: unknown) => void;
  reject: (err: LobbyError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  id: number | undefined;
  /** Sent without id (send()): no reply comes unless the server refuses it. */
  fireAndForget?: true;
}

const LOGIN_OPS: ReadonlySet<string> = new Set(['auth.guest', 'auth.register', 'auth.login', 'auth.upgrade', 'auth.token', 'auth.refresh', 'session.resume']);
/** Login or resume refusals that retrying cannot fix. */
const FINAL_LOGIN_ERRORS: ReadonlySet<LobbyErrorCode> = new Set([
  'TOKEN_INVALID', 'TOKEN_EXPIRED', 'BANNED', 'BAD_REQUEST', 'FORBIDDEN', 'UNAUTHENTICATED', 'ALREADY_AUTHENTICATED', 'ALREADY_LOGGED_IN',
]);
/** Beyond this setTimeout fires at once instead of late. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_REQUEST_ID = 2 ** 31 - 1;

/**
 * A typed connection to a Foyer lobby server: request/reply calls, pushed
 * events, token refresh, and reconnection that resumes the session.
 */
export class LobbyClient {
  readonly #urls: readonly string[];
  /** Which of #urls the current (or next) connection goes to. */
  #urlIndex = 0;
  readonly #WebSocket: WebSocketConstructor | undefined;
  readonly #callTimeoutMs: number;
  readonly #reconnect: ReconnectPolicy | undefined;
  readonly #refreshBeforeMs: number;

  #state: LobbyState = 'closed';
  #ws: WebSocketLike | undefined;
  /** Open and past the login step: app calls go out instead of waiting in #queue. */
  #ready = false;
  /** Bumped by connect() and close() so an open that awaited the `ws` import can tell it was overtaken. */
  #generation = 0;
  /** The pending connect(), settled when the first connection is usable or has failed. */
  #connecting: { promise: Promise<void>; resolve: () => void; reject: (err: LobbyError) => void } | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Call>();
  #queue: Call[] = [];
  readonly #handlers = new Map<string, Listeners<[unknown, EventFrame]>>();
  readonly #stateListeners = new Listeners<Parameters<StateListener>>();
  readonly #streamListeners = new Listeners<Parameters<StreamListener>>();
  readonly #refusalListeners = new Listeners<Parameters<RefusalListener>>();

  #token: string | undefined;
  #userId: string | undefined;
  #expiresAt: number | undefined;
  /** The server holds a session for us, so a reconnect resumes instead of starting over. */
  #loggedIn = false;
  readonly #positions: StreamPositions;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshAt = 0;
  /** The first connect resumes a session from before this client existed (options.positions). */
  #resumeOnConnect: boolean;

  constructor(options: LobbyClientOptions) {
    this.#urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.#urls.length === 0) throw new TypeError('LobbyClient: `url` must name at least one address');
    this.#WebSocket = options.WebSocket;
    this.#token = options.token;
    this.#resumeOnConnect = options.token !== undefined && options.positions !== undefined;
    this.#positions = new StreamPositions(this.#resumeOnConnect ? options.positions : []);
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
    this.#reconnect = reconnectPolicy(options.reconnect);
  }

  get state(): LobbyState {
    return this.#state;
  }
  /** The address of the current connection (or of the next attempt while reconnecting); one of the `url` option's. */
  get url(): string {
    return this.#urls[this.#urlIndex]!;
  }
  /** The user of the last login, once there was one. */
  get userId(): string | undefined {
    return this.#userId;
  }
  /** The newest token: the one given in options, then each one a login or refresh returned. Persist it to log in again later. */
  get token(): string | undefined {
    return this.#token;
  }
  /** When the current token expires (ms since the epoch, server clock); refreshed automatically before then. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }
  /** Where the client stands in each stream of the session; session.resume asks for what came after. Save them (with `token`) to resume after a page reload. */
  positions(): StreamPosition[] {
    return this.#positions.list();
  }

  /**
   * Opens the connection and, if a token is known, logs in with it (auth.token).
   * Resolves once usable; rejects with a LobbyError and leaves the client
   * `closed` if that fails. It makes one attempt: reconnection only starts
   * after a connection succeeded. A token the server refused as expired or
   * invalid is forgotten, so calling connect() again opens a logged-out
   * connection (to log in with auth.guest, say). Does nothing if the client
   * is not closed.
   */
  connect(): Promise<void> {
    if (this.#state !== 'closed') return this.#connecting?.promise ?? Promise.resolve();
    let resolve!: () => void;
    let reject!: (err: LobbyError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.#connecting = { promise, resolve, reject };
    this.#attempt = 0;
    this.#setState('connecting', {});
    void this.#open();
    return promise;
  }

  /**
   * Sends a request and resolves with its reply's data, or rejects with a
   * LobbyError carrying the server's code. Calls made before the connection is
   * usable (connecting, reconnecting, resuming) wait for it, within their
   * timeout. A call that was already sent when the connection dropped rejects
   * with DISCONNECTED: the server may or may not have carried it out, so only
   * retry what is safe to do twice (or check first).
   */
  call<O extends OpName>(op: O, ...args: CallArgs<O>): Promise<OpResult<O>> {
    const [data, options] = args;
    return new Promise((resolve, reject) => {
      if (this.#state === 'closed') {
        reject(new LobbyError('CLOSED', `${op}: the client is closed; connect() first`));
        return;
      }
      const call = this.#makeCall(op, data ?? {}, options?.timeoutMs ?? this.#callTimeoutMs, resolve as (r: unknown) => void, reject);
      if (this.#ready) this.#send(call);
      else this.#queue.push(call);
    });
  }

  /**
   * Sends a request without id (fire-and-forget: chat lines): nothing comes
   * back when it succeeds; a refusal goes to the `onRefusal` listeners. Waits
   * for the connection like call(), within `callTimeoutMs` (else a TIMEOUT refusal).
   */
  send<O extends OpName>(op: O, ...args: {} extends OpData<O> ? [data?: OpData<O>] : [data: OpData<O>]): void {
    if (this.#state === 'closed') throw new LobbyError('CLOSED', `${op}: the client is closed; connect() first`);
    const call = this.#makeCall(op, args[0] ?? {}, this.#ready ? Infinity : this.#callTimeoutMs /* sent at once when ready: no timer */, () => {}, (err) => this.#refusalListeners.emit(op, { code: err.code === 'DISCONNECTED' || err.code === 'CLOSED' ? 'TIMEOUT' : err.code, message: err.message }));
    call.fireAndForget = true;
    if (this.#ready) this.#send(call);
    else this.#queue.push(call);
  }

  /** Calls `listener` for each refused request that was sent without id (send()). Returns the unsubscribe function. */
  onRefusal(listener: RefusalListener): () => void {
    return this.#refusalListeners.add(listener);
  }

  /**
   * Calls `listener` for each stream a session.resume named: `resumed` (the
   * missed events follow), `resynced` (its snapshot event follows) or `gone`
   * (forget what it showed). Returns the unsubscribe function.
   */
  onStream(listener: StreamListener): () => void {
    return this.#streamListeners.add(listener);
  }

  /** Calls `handler` for each `event` pushed by the server, in order within its stream and at most once. Returns the unsubscribe function. */
  on<E extends EventName>(event: E, handler: EventHandler<E>): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Listeners()));
    return set.add((data, frame) => handler(data as EventData<E>, frame));
  }

  /** Calls `listener` on every state change (and on each reconnect attempt). Returns the unsubscribe function. */
  onState(listener: StateListener): () => void {
    return this.#stateListeners.add(listener);
  }

  /**
   * Closes the connection (code 1000) and stops reconnecting. Calls waiting or
   * in flight reject with CLOSED. The token and userId are kept, so connect()
   * logs in again with the token. Resolves when the socket has closed.
   */
  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    const ws = this.#ws;
    const closed = new Promise<void>((resolve) => {
      if (!ws || ws.readyState === 3) return resolve();
      ws.onopen = ws.onmessage = null;
      ws.onerror = () => {};
      ws.onclose = () => resolve();
      try {
        ws.close(1000, 'client closed');
      } catch {
        resolve();
      }
    });
    this.#detach((op) => new LobbyError('CLOSED', `${op}: the client was closed before the reply; the server may or may not have done it`));
    const close: CloseInfo = { code: 1000, name: closeName(1000), reason: 'client closed' };
    this.#giveUp(new LobbyError('CLOSED', 'the client was closed', { close }), { close });
    return closed;
  }

  /** Logs out (session.logout): the server ends the session at once and closes the connection. The client forgets its token and user either way and ends `closed`; it rejects when the server could not be told (the session then ends after the reconnect grace period). */
  async logout(): Promise<void> {
    try {
      await this.call('session.logout', {});
    } finally {
      this.#token = this.#userId = this.#expiresAt = undefined;
      this.#positions.clear();
      this.#resumeOnConnect = false;
      await this.close();
    }
  }

  // ---- connection lifecycle ----

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    let WebSocket: WebSocketConstructor;
    let ws: WebSocketLike;
    try {
      WebSocket = this.#WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined) ?? (await loadWs());
      if (generation !== this.#generation) return;
      const url = new URL(this.url);
      url.searchParams.set('v', String(PROTOCOL_VERSION));
      ws = new WebSocket(url.toString());
    } catch (err) {
      if (generation !== this.#generation) return;
      const error = new LobbyError('DISCONNECTED', `cannot open ${this.url}: ${String(err)}`, { cause: err });
      return this.#lost(undefined, error);
    }
    this.#ws = ws;
    ws.onopen = () => ws === this.#ws && this.#onOpen(ws);
    ws.onmessage = (ev: { data: unknown }) => {
      if (ws !== this.#ws) return;
      try {
        this.#onMessage(ev.data);
      } catch (err) {
        // Only a bug could get here; the socket must keep reading regardless.
        report(err);
      }
    };
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (ws !== this.#ws) return;
      const code = ev.code ?? 1006;
      this.#detach();
      this.#lost({ code, name: closeName(code), reason: ev.reason ?? '' });
    };
    // An error is always followed by a close, which is where it is handled.
    ws.onerror = () => {};
  }

  #onOpen(ws: WebSocketLike): void {
    const reconnecting = this.#state === 'reconnecting';
    const resumeSaved = this.#resumeOnConnect && !!this.#token;
    this.#resumeOnConnect = false;
    if ((reconnecting && this.#loggedIn && this.#token) || resumeSaved) {
      this.#login(ws, 'session.resume', { token: this.#token, streams: this.positions() });
    } else if (!reconnecting && this.#token) {
      this.#login(ws, 'auth.token', { token: this.#token });
    } else {
      this.#becomeReady('connected');
    }
  }

  /** The first request on a new socket, sent ahead of any queued app call. */
  #login(ws: WebSocketLike, op: 'auth.token' | 'session.resume', data: unknown): void {
    const onResult = (result: unknown) => {
      if (ws !== this.#ws) return;
      const resumed = op === 'session.resume' ? (result as { resumed?: unknown }).resumed === true : undefined;
      this.#becomeReady(resumed === undefined ? 'connected' : resumed ? 'resumed' : 'resynced');
    };
    const onError = (error: LobbyError) => {
      // A dropped socket was handled by its close already.
      if (ws !== this.#ws) return;
      if (error.code === 'TOKEN_EXPIRED' || error.code === 'TOKEN_INVALID') this.#token = undefined;
      this.#abandon(ws);
      this.#lost(undefined, error, FINAL_LOGIN_ERRORS.has(error.code));
    };
    this.#send(this.#makeCall(op, data, this.#callTimeoutMs, onResult, onError));
  }

  #becomeReady(state: LobbyState): void {
    this.#ready = true;
    this.#attempt = 0;
    const queued = this.#queue;
    this.#queue = [];
    // Before the state listeners run, so calls they make go out after the ones that waited.
    for (const call of queued) this.#send(call);
    this.#setState(state, {});
    const connecting = this.#connecting;
    this.#connecting = undefined;
    connecting?.resolve();
  }

  /** Forgets the current socket: its in-flight calls fail, timers stop. */
  #detach(
    error = (op: string) => new LobbyError('DISCONNECTED', `${op}: the connection dropped before the reply; the server may or may not have done it`),
  ): void {
    this.#ws = undefined;
    this.#ready = false;
    clearTimeout(this.#refreshTimer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) {
      clearTimeout(call.timer);
      call.reject(error(call.op));
    }
  }

  /** Closes a socket the client no longer wants, without its close being handled as a drop. */
  #abandon(ws: WebSocketLike): void {
    this.#detach();
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    try {
      ws.close(1000);
    } catch {
      // Already closing.
    }
  }

  /** The socket is gone (or never came up): retry, or give up for good. */
  #lost(close: CloseInfo | undefined, error?: LobbyError, final = false): void {
    const info: StateInfo = {};
    if (close) info.close = close;
    if (error) info.error = error;
    const finalClose = close !== undefined && close.name !== undefined && !closeCodes[close.name].reconnect;
    if (final || finalClose || !this.#reconnect || this.#state === 'connecting') {
      const why = error ?? new LobbyError('DISCONNECTED', close ? `connection closed (${describe(close)})` : 'connection failed', close ? { close } : {});
      return this.#giveUp(why, info);
    }
    const delayMs = backoffDelay(this.#reconnect, this.#attempt);
    this.#attempt++;
    // With several addresses, each attempt tries the next node: the one just lost may be gone for good.
    this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
    this.#setState('reconnecting', { ...info, attempt: this.#attempt, delayMs });
    this.#reconnectTimer = setTimeout(() => void this.#open(), delayMs);
  }

  #giveUp(error: LobbyError, info: StateInfo): void {
    this.#generation++;
    this.#loggedIn = false;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    const queued = this.#queue;
    this.#queue = [];
    const notSent = error.code === 'CLOSED' ? error : new LobbyError('CLOSED', `the client closed: ${error.message}`, { cause: error, ...(error.close ? { close: error.close } : {}) });
    for (const call of queued) {
      clearTimeout(call.timer);
      call.reject(notSent);
    }
    const connecting = this.#connecting;
    this.#connecting = undefined;
    this.#setState('closed', info);
    connecting?.reject(error);
  }

  // ---- requests and replies ----

  #makeCall(op: string, data: unknown, timeoutMs: number, resolve: Call['resolve'], reject: Call['reject']): Call {
    const call: Call = { op, data, resolve, reject, timer: undefined, id: undefined };
    if (timeoutMs < MAX_TIMER_MS) {
      call.timer = setTimeout(() => {
        if (call.id === undefined) this.#queue = this.#queue.filter((c) => c !== call);
        else this.#pending.delete(call.id);
        reject(new LobbyError('TIMEOUT', `${op}: no reply within ${timeoutMs} ms`));
      }, Math.max(0, timeoutMs));
    }
    return call;
  }

  #send(call: Call): void {
    const ws = this.#ws;
    if (!ws) return void this.#queue.push(call);
    const id = this.#nextId;
    let frame: string;
    try {
      frame = JSON.stringify(call.fireAndForget ? { op: call.op, data: call.data } : { id, op: call.op, data: call.data });
    } catch (err) {
      clearTimeout(call.timer);
      return call.reject(new LobbyError('BAD_REQUEST', `${call.op}: data cannot be sent as JSON: ${String(err)}`, { cause: err }));
    }
    if (call.fireAndForget) {
      clearTimeout(call.timer);
      ws.send(frame);
      return call.resolve(undefined);
    }
    this.#nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
    call.id = id;
    this.#pending.set(id, call);
    // A send on a closing socket is dropped silently; its close rejects the call.
    ws.send(frame);
  }

  #onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as Record<string, unknown>;
    if (typeof f.ev === 'string') this.#onEvent(f.ev, f, frame as EventFrame);
    else if (typeof f.ok === 'boolean') this.#onReply(f);
  }

  #onReply(f: Record<string, unknown>): void {
    // A reply with re: null answers a request sent without id (its op is named), or a frame the server could not read.
    if (typeof f.re !== 'number') {
      const e = f.ok === false && typeof f.error === 'object' && f.error !== null ? (f.error as ErrorBody) : undefined;
      if (e && typeof e.op === 'string') this.#refusalListeners.emit(e.op, e);
      return;
    }
    const call = this.#pending.get(f.re);
    if (!call) return; // Timed out already.
    this.#pending.delete(f.re);
    clearTimeout(call.timer);
    if (f.ok) {
      if (LOGIN_OPS.has(call.op) && typeof f.data === 'object' && f.data !== null) this.#onLogin(call.op, f.data as Record<string, unknown>);
      call.resolve(f.data);
      return;
    }
    const e = (typeof f.error === 'object' && f.error !== null ? f.error : {}) as Record<string, unknown>;
    const code = typeof e.code === 'string' ? (e.code as ErrorCode) : 'INTERNAL';
    const message = typeof e.message === 'string' ? e.message : 'malformed error reply';
    call.reject(new LobbyError(code, message, Array.isArray(e.issues) ? { issues: e.issues as Issue[] } : {}));
  }

  #onLogin(op: string, r: Record<string, unknown>): void {
    if (typeof r.userId === 'string') this.#userId = r.userId;
    if (typeof r.token === 'string') this.#token = r.token;
    this.#loggedIn = true;
    // A fresh login, or a resume that found no session, starts from the positions of the reply.
    if (op === 'auth.guest' || op === 'auth.register' || op === 'auth.login' || op === 'auth.token' || (op === 'session.resume' && r.resumed !== true)) this.#positions.clear();
    if (Array.isArray(r.streams)) this.#onStreams(op === 'session.resume', r.streams as Record<string, unknown>[]);
    if (typeof r.expiresAt === 'number') {
      this.#expiresAt = r.expiresAt;
      const left = r.expiresAt - Date.now();
      this.#refreshAt = Date.now() + Math.max(left - this.#refreshBeforeMs, left / 2);
      this.#armRefresh();
    }
  }

  #onStreams(resume: boolean, streams: Record<string, unknown>[]): void {
    for (const [stream, state] of this.#positions.fromLogin(resume, streams)) this.#streamListeners.emit(stream, state);
  }

  #armRefresh(): void {
    clearTimeout(this.#refreshTimer);
    const delay = this.#refreshAt - Date.now();
    this.#refreshTimer = setTimeout(() => {
      if (Date.now() < this.#refreshAt) return this.#armRefresh();
      if (!this.#ready || !this.#loggedIn) return; // The next login or resume reply re-arms it.
      const call = this.#makeCall('auth.refresh', {}, this.#callTimeoutMs, () => {}, (err) => {
        // Retry transient failures while the token lasts; an expired one ends in a 4000 close.
        const left = (this.#expiresAt ?? 0) - Date.now();
        if (err.code === 'DISCONNECTED' || err.code === 'TOKEN_EXPIRED' || err.code === 'TOKEN_INVALID' || left <= 1000) return;
        this.#refreshAt = Date.now() + Math.max(1000, left / 2);
        if (this.#ready) this.#armRefresh();
      });
      this.#send(call);
    }, Math.min(Math.max(0, delay), MAX_TIMER_MS));
  }

  // ---- events ----

  #onEvent(ev: string, f: Record<string, unknown>, frame: EventFrame): void {
    const { stream, offset, epoch, data } = f;
    if (typeof stream !== 'string' || typeof epoch !== 'string' || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return;
    if (!this.#positions.accept(ev, stream, offset, epoch)) return;
    this.#handlers.get(ev)?.emit(data, frame);
  }

  #setState(state: LobbyState, info: StateInfo): void {
    this.#state = state;
    this.#stateListeners.emit(state, info);
  }
}

function describe(close: CloseInfo): string {
  return `${close.code}${close.name ? ` ${close.name}` : ''}${close.reason ? `: ${close.reason}` : ''}`;
}
