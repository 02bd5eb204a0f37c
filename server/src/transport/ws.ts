import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { ListenError, type Conn, type ConnHandlers, type HttpRequest, type Transport, type TransportOptions } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Topic → the sockets subscribed to it (uWS keeps this natively). */
type Topics = Map<string, Set<WsConn>>;

/**
 * Writes stream frames as uWS does for its topics: a socket written to is
 * corked until the end of this turn of the event loop, so that the frames
 * due to it in one turn leave in one write.
 */
class TurnWriter {
  private corked: import('node:net').Socket[] = [];
  private readonly uncorkAll = () => {
    const all = this.corked;
    this.corked = [];
    for (const raw of all) raw.uncork();
  };

  /** `data`: a string, or one Buffer made for every subscriber (ws frames it without copying or encoding it again). */
  write(ws: WebSocket, data: string | Buffer): void {
    if (ws.readyState !== ws.OPEN) return;
    const raw = (ws as unknown as { _socket?: import('node:net').Socket })._socket;
    if (raw && !raw.writableCorked) {
      raw.cork();
      if (this.corked.push(raw) === 1) setImmediate(this.uncorkAll);
    }
    ws.send(data, TEXT);
  }
}
/** A text frame from a Buffer: ws would otherwise send a Buffer as binary. */
const TEXT = { binary: false } as const;
/** How long a closing peer gets to answer our close frame. */
const CLOSE_HANDSHAKE_MS = 2000;

/**
 * One `ws` socket as a Conn. A class rather than closures in the upgrade
 * callback, which would keep the upgrade's IncomingMessage alive as long as
 * the connection.
 */
class WsConn implements Conn {
  /** The topics this socket is subscribed to, made at the first: dropped from `topics` when it closes. */
  subscribed: Set<string> | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly topics: Topics,
    private readonly writer: TurnWriter,
  ) {}

  subscribe(topic: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    (this.subscribed ??= new Set()).add(topic);
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(this);
  }

  unsubscribe(topic: string): void {
    if (!this.subscribed?.delete(topic)) return;
    const set = this.topics.get(topic);
    set?.delete(this);
    if (set && !set.size) this.topics.delete(topic);
  }

  /** The socket closed: it leaves every topic. */
  unsubscribeAll(): void {
    if (this.subscribed) for (const t of [...this.subscribed]) this.unsubscribe(t);
  }

  send(text: string): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  deliver(frame: string): void {
    this.writer.write(this.ws, frame);
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  cork(fn: () => void): void {
    // ws writes straight to the net.Socket; cork it so a burst leaves in one write.
    const raw = (this.ws as unknown as { _socket?: import('node:net').Socket })._socket;
    raw?.cork();
    try {
      fn();
    } finally {
      if (raw) process.nextTick(() => raw.uncork());
    }
  }

  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  close(code: number, reason: string): void {
    // The close frame goes out after the backlog, so a slow reader that
    // catches up learns why (4003), as on uws. Not waiting for its answer
    // beyond CLOSE_HANDSHAKE_MS bounds how long a dead one holds the backlog
    // (ws itself would wait 30 s).
    this.ws.close(code, reason);
    endClosing(this.ws, this.ws.bufferedAmount);
  }
}

/**
 * Ends a closing socket once its peer stops reading: every CLOSE_HANDSHAKE_MS
 * the backlog must have shrunk (a slow reader catching up), else it goes.
 */
function endClosing(ws: WebSocket, lastBuffered: number): void {
  setTimeout(() => {
    if (ws.readyState === ws.CLOSED) return;
    const buffered = ws.bufferedAmount;
    if (buffered > 0 && buffered < lastBuffered) endClosing(ws, buffered);
    else ws.terminate();
  }, CLOSE_HANDSHAKE_MS).unref();
}

/** Wires a socket's frames to its connection's handlers (outside the upgrade callback's scope, for the same reason). */
function wire(conn: WsConn, handlers: ConnHandlers, sockets: Set<WebSocket>): void {
  const ws = conn.ws;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return handlers.message(null);
    let text: string;
    try {
      text = utf8.decode(data as Buffer);
    } catch {
      return handlers.message(null);
    }
    handlers.message(text);
  });
  ws.on('pong', () => handlers.pong());
  ws.on('close', (code) => {
    sockets.delete(ws);
    conn.unsubscribeAll();
    handlers.close(code, false);
  });
  ws.on('error', () => ws.terminate());
}

/** The portable transport: Node's http server with the `ws` library. */
export function createWsTransport(opts: TransportOptions): Transport {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxHttpBodyBytes) {
        res.writeHead(413).end('request body too large');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const request: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks),
        ip: req.socket.remoteAddress ?? '',
      };
      opts.onHttp(request).then(
        (r) => {
          if (!r.stream) return void res.writeHead(r.status, r.headers).end(r.body);
          res.writeHead(r.status, r.headers).flushHeaders();
          const stop = r.stream({ write: (text) => !res.writableEnded && (res.write(text), true), end: () => void res.end() });
          res.on('close', stop);
        },
        () => res.writeHead(500).end('internal error'),
      );
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  const topics: Topics = new Map();
  const writer = new TurnWriter();

  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const url = new URL(req.url ?? '/', 'http://x');
      const ip = req.socket.remoteAddress ?? '';
      const conn = new WsConn(ws, ip, topics, writer);
      wire(conn, opts.onConnection(conn, { url: req.url ?? '/', query: url.searchParams }), sockets);
    });
  });

  return {
    name: 'ws',
    silenceLimitMs: undefined, // the gateway finds silent connections by their pongs
    publish(topic, frame) {
      const set = topics.get(topic);
      if (!set) return;
      const bytes = Buffer.from(frame);
      for (const c of set) writer.write(c.ws, bytes);
    },
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(err.code === 'EADDRINUSE' ? new ListenError(opts.host, opts.port, 'the port is in use') : err.code === 'EACCES' ? new ListenError(opts.host, opts.port, 'the address is not allowed') : err),
        );
        server.listen(opts.port, opts.host, () => resolve((server.address() as import('node:net').AddressInfo).port));
      }),
    stopListening: () => server.close(),
    async close() {
      for (const ws of sockets) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
    },
  };
}
