import { createRequire } from 'node:module';
import path from 'node:path';
import type * as UWS from 'uWebSockets.js';
import { ListenError, type Conn, type ConnHandlers, type HttpRequest, type HttpResponse, type Transport, type TransportOptions, type UpgradeInfo } from './types.js';

type Uws = typeof UWS;

/**
 * Loads the native uWebSockets.js binding itself. The package's own entry
 * point silently swaps in a slow JavaScript emulation when the binary does
 * not load; we would rather fall back to `ws` and say so.
 */
export function loadUws(): Uws {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = path.join(dir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  return require(binary) as Uws;
}

interface SocketData {
  /** Until the socket opens; then only the connection's handlers are kept. */
  info: UpgradeInfo | undefined;
  /** Named from the start (undefined until open): a property added later would cost every socket an extra property array. */
  handlers: ConnHandlers | undefined;
  closed: boolean;
}

/**
 * The socket whose frame is being handled, or that a cork() is writing to,
 * now: the frames published meanwhile to a topic it is subscribed to go to
 * it by a direct send, into the same write as its reply (see publish below).
 */
let writing: { ws: UWS.WebSocket<SocketData>; data: SocketData } | undefined;

/** Runs `fn` with `ws` as the socket being written to (restoring the one before: corks nest). */
function writingTo(ws: UWS.WebSocket<SocketData>, data: SocketData, fn: () => void): void {
  const before = writing;
  writing = { ws, data };
  try {
    fn();
  } finally {
    writing = before;
  }
}

/**
 * A topic a socket holds whenever it would otherwise have none, once it has
 * had one; nothing is published on it. This build of uWS frees a socket's
 * subscriber when it leaves its last topic, and with it the frames published
 * to it and not yet written: a player who leaves a game's topic in the tick
 * its `game.ended` was published would never get it (later uWS releases keep
 * the subscriber). Taken before the last topic is left, and let go when
 * another is taken: a seated player's socket is in its game's topic alone
 * (each topic a socket is in costs uWS's native memory). Not a stream's name:
 * those have a colon.
 */
const ANCHOR = 'anchor';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** One uWS socket as a Conn: methods on a prototype, no closures per connection. */
class UwsConn implements Conn {
  constructor(
    private readonly ws: UWS.WebSocket<SocketData>,
    private readonly data: SocketData,
  ) {}

  /** Read from the socket when asked (a login's throttle), not kept: most sessions never need it. */
  get ip(): string {
    return this.data.closed ? '' : latin1.decode(this.ws.getRemoteAddressAsText());
  }

  send(text: string): boolean {
    return !this.data.closed && this.ws.send(text, false) !== 2;
  }

  deliver(frame: string): void {
    // uWS first writes what its topics hold for this socket; then this frame, into the cork of the socket being
    // written to, else at once (a topic's frames would wait for the end of the loop's turn, as a write of their own).
    this.send(frame);
  }

  bufferedAmount(): number {
    return this.data.closed ? 0 : this.ws.getBufferedAmount();
  }

  cork(fn: () => void): void {
    if (this.data.closed) fn();
    else this.ws.cork(() => writingTo(this.ws, this.data, fn));
  }

  subscribe(topic: string): void {
    if (this.data.closed) return;
    this.ws.subscribe(topic);
    if (this.ws.isSubscribed(ANCHOR)) this.ws.unsubscribe(ANCHOR);
  }

  unsubscribe(topic: string): void {
    if (this.data.closed || !this.ws.isSubscribed(topic)) return;
    if (this.ws.getTopics().length === 1) this.ws.subscribe(ANCHOR); // about to leave its last topic (see ANCHOR)
    this.ws.unsubscribe(topic);
  }

  ping(): void {
    if (!this.data.closed) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.data.closed) return;
    this.data.closed = true;
    this.ws.end(code, reason);
  }
}

/**
 * uWS's idle timeout (seconds) for a heartbeat timeout; undefined when uWS
 * cannot keep it (its limit is 960 s), and then the gateway watches pongs.
 * uWS watches silence itself because a pong handed to JavaScript costs
 * memory that an idle node keeps: this build wraps each pong in an
 * ArrayBuffer whose native part is freed only at the next garbage
 * collection, and an idle node collects seldom (its young generation grows
 * to 32 MiB under load, --max-semi-space-size). Measured with 10,000
 * sessions pinged every 3 s: no collection in 20 s, malloc's heap growing
 * by 0.5 MiB/s, and its freed room kept as holes after the next collection,
 * about 1 KiB per session (docs/performance.md).
 * uWS checks its timers every 4 s and counts an idle timeout in those ticks
 * from the last byte received, so a silent socket is cut after between
 * idle − 4 and idle seconds: the timeout rounded up to a multiple of 4, plus
 * 4, cuts none before the timeout and each within 8 s after it.
 */
export function uwsIdleSeconds(heartbeatTimeoutMs: number): number | undefined {
  const idle = 4 * Math.ceil(heartbeatTimeoutMs / 4000) + 4;
  return idle <= 960 ? idle : undefined;
}

/** The reason uWS gives the close handler of a socket it cut for its idle timeout. */
const IDLE_CUT = 'WebSocket timed out from inactivity';


export function createUwsTransport(uws: Uws, opts: TransportOptions): Transport {
  const app = uws.App();
  const idle = uwsIdleSeconds(opts.heartbeatTimeoutMs);
  let listenSocket: UWS.us_listen_socket | undefined;
  /** Streamed responses still open: close() ends them, or they would keep the process alive. */
  const streams = new Set<() => void>();

  /** Runs a streamed body on `res` (headers already written); returns what stops it when the client goes away. */
  function openStream(res: UWS.HttpResponse, produce: NonNullable<HttpResponse['stream']>, gone: () => boolean): () => void {
    let open = true;
    let stop: (() => void) | undefined;
    const finish = () => {
      if (!open) return;
      open = false;
      streams.delete(finish);
      stop?.();
      if (!gone()) res.cork(() => res.end());
    };
    stop = produce({
      write: (text) => open && !gone() && (res.cork(() => res.write(text)), true),
      end: finish,
    });
    streams.add(finish);
    return () => {
      if (!open) return;
      open = false;
      streams.delete(finish);
      stop?.();
    };
  }

  app.ws<SocketData>('/*', {
    // uWS drops an oversize frame's connection without a close frame; a
    // margin lets us send 1009 like ws does, up to a hard cap that bounds memory.
    maxPayloadLength: opts.maxFrameBytes * 4,
    // Above this uWS drops frames; the gateway disconnects the slow reader first. Published frames reach the
    // sockets as uWS drains its topics, a moment after the gateway looked: the margin keeps room for what a
    // burst adds meanwhile, and for the close frame (4003) that must follow it.
    maxBackpressure: opts.maxBufferedBytes * 2 + 1024 * 1024,
    // The gateway pings (every heartbeat interval, as on ws); uWS closes a socket from which nothing came
    // (no frame, no pong) for idleTimeout, natively, and JavaScript hears of no pong (see uwsIdleSeconds).
    idleTimeout: idle ?? 0,
    sendPingsAutomatically: false,
    compression: uws.DISABLED,
    upgrade(res, req, context) {
      const url = req.getUrl();
      const q = req.getQuery() ?? '';
      const info: UpgradeInfo = {
        url: q ? `${url}?${q}` : url,
        query: new URLSearchParams(q),
      };
      res.upgrade<SocketData>(
        { info, handlers: undefined, closed: false },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      const data = ws.getUserData();
      const info = data.info!;
      data.info = undefined;
      data.handlers = opts.onConnection(new UwsConn(ws, data), info);
    },
    message(ws, message, isBinary) {
      const data = ws.getUserData();
      const h = data.handlers!;
      if (message.byteLength > opts.maxFrameBytes) {
        data.closed = true;
        return ws.end(1009, 'frame too large');
      }
      if (isBinary) return h.message(null);
      let text: string;
      try {
        text = utf8.decode(message);
      } catch {
        return h.message(null);
      }
      // uWS corks the socket for this callback: what the frame makes (its reply, its events) leaves in one write.
      writingTo(ws, data, () => h.message(text));
    },
    // Only where uWS cannot keep the heartbeat timeout: the gateway watches pongs itself.
    ...(idle === undefined ? { pong: (ws: UWS.WebSocket<SocketData>) => ws.getUserData().handlers?.pong() } : {}),
    close(ws, code, message) {
      const data = ws.getUserData();
      const silent = !data.closed && code === 1006 && message.byteLength === IDLE_CUT.length && latin1.decode(message) === IDLE_CUT;
      data.closed = true;
      data.handlers?.close(code, silent);
    },
  });

  app.any('/*', (res, req) => {
    let aborted = false;
    let stopStream: (() => void) | undefined;
    res.onAborted(() => {
      aborted = true;
      stopStream?.();
    });
    const headers: Record<string, string> = {};
    req.forEach((k, v) => (headers[k] = v));
    const q = req.getQuery() ?? '';
    const request: HttpRequest = {
      method: req.getMethod().toUpperCase(),
      path: req.getUrl(),
      query: new URLSearchParams(q),
      headers,
      body: Buffer.alloc(0),
      ip: latin1.decode(res.getRemoteAddressAsText()),
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > opts.maxHttpBodyBytes) {
        tooLarge = true;
        if (!aborted) res.cork(() => res.writeStatus('413 Payload Too Large').end('request body too large', true));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // the ArrayBuffer is reused after this callback
      if (!isLast) return;
      request.body = Buffer.concat(chunks);
      opts.onHttp(request).then(
        (r) => {
          if (aborted) return;
          res.cork(() => {
            res.writeStatus(String(r.status));
            for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
            if (!r.stream) res.end(r.body ?? '');
          });
          if (r.stream) stopStream = openStream(res, r.stream, () => aborted);
        },
        () => !aborted && res.cork(() => res.writeStatus('500').end('internal error')),
      );
    });
  });

  return {
    name: 'uws',
    silenceLimitMs: idle === undefined ? undefined : idle * 1000,
    publish(topic, frame) {
      // A frame for the socket being written to goes into its cork by a direct send, and to the topic's other
      // subscribers through ws.publish, which skips the sender. app.publish would leave this socket's copy to
      // uWS's topic drain, a write of its own after the reply. (A direct send first writes what the topics
      // still hold for the socket, so the order within each stream stays the same for every subscriber.)
      const w = writing;
      if (w && !w.data.closed && w.ws.isSubscribed(topic)) {
        w.ws.publish(topic, frame, false);
        w.ws.send(frame, false);
      } else app.publish(topic, frame, false);
    },
    listen: () =>
      new Promise((resolve, reject) => {
        // Exclusive: by default uWS sets SO_REUSEPORT, and a second node on the same port would
        // start and silently share the players with the first.
        // (The binding takes host, port, options and exports the option; its typings know neither.)
        const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (token: UWS.us_listen_socket | false) => void) => void;
        const exclusive = (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
        listen.call(app, opts.host, opts.port, exclusive, (token) => {
          if (!token) return reject(new ListenError(opts.host, opts.port, 'the port is in use (or the address is not allowed)'));
          listenSocket = token;
          resolve(uws.us_socket_local_port(token));
        });
      }),
    stopListening() {
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    },
    async close() {
      this.stopListening();
      for (const end of [...streams]) end();
      // WebSockets are closed by their connections (the gateway closes every one before the transport, and any
      // opened meanwhile at once): no set of sockets kept for a last sweep, whose table a node of 10,000 sessions
      // would hold for nothing. (app.close() would also cut the HTTP responses still going out, a drain's 202.)
    },
  };
}
