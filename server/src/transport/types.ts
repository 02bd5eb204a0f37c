/**
 * The one small interface both WebSocket implementations sit behind. The
 * gateway sees connections that send text, report backpressure and close;
 * it never learns which library is underneath.
 */
export interface Conn {
  /** The peer's address while the socket is open. */
  readonly ip: string;
  /**
   * Queues a text frame; false when the connection is already closed. The
   * caller checks bufferedAmount() afterwards to catch slow readers.
   */
  send(text: string): boolean;
  /**
   * A stream's frame to this socket alone, written as published frames are:
   * in order with those due to it, batched with them where the library can.
   * Slow readers are the caller's to find, as for publish.
   */
  deliver(frame: string): void;
  /** Bytes queued for this client but not yet written to the socket. */
  bufferedAmount(): number;
  /** Runs `fn` with writes batched into one syscall where the library can. */
  cork(fn: () => void): void;
  /** From now on this socket receives what is published on `topic` (a stream), until unsubscribed or closed. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  ping(): void;
  close(code: number, reason: string): void;
}

export interface ConnHandlers {
  /** `null`: a binary or non-UTF-8 frame, which the protocol does not allow. */
  message(text: string | null): void;
  /** A pong came; never called on a transport that watches silence itself (Transport.silenceLimitMs). */
  pong(): void;
  /** `silent`: the transport cut it for silence (Transport.silenceLimitMs). */
  close(code: number, silent: boolean): void;
}

export interface UpgradeInfo {
  url: string;
  query: URLSearchParams;
}

export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  ip: string;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * A body written over time instead of `body` (server-sent events): called
   * once the headers are out; returns what to call when the client goes
   * away or the transport closes.
   */
  stream?: (out: HttpStream) => () => void;
}

export interface HttpStream {
  /** False once the response is over. */
  write(text: string): boolean;
  end(): void;
}

export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;

export interface TransportOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  /** Largest HTTP request body read; a larger one gets 413. */
  maxHttpBodyBytes: number;
  /** A connection from which nothing came (no frame, no pong) for this long is closed: by the gateway, or by the transport itself (`silenceLimitMs`). */
  heartbeatTimeoutMs: number;
  /** Called once per WebSocket; the returned handlers receive its frames. */
  onConnection(conn: Conn, info: UpgradeInfo): ConnHandlers;
  onHttp: HttpHandler;
}

export interface Transport {
  readonly name: 'uws' | 'ws';
  /**
   * Set when the library itself closes a connection silent for about the
   * heartbeat timeout (uWS's idle timeout, without a close frame): pongs then
   * never reach the handlers, and this is the longest a silent connection
   * stays open. Unset: the gateway finds the silent ones (ConnHandlers.pong).
   */
  readonly silenceLimitMs: number | undefined;
  /** Resolves with the port actually bound (useful with port 0). */
  listen(): Promise<number>;
  /** Stops accepting connections; open ones stay up. */
  stopListening(): void;
  /**
   * Closes everything that is left: on ws every socket; on uws the streamed
   * responses, WebSockets being their connections' to close (Gateway.shutdown).
   */
  close(): Promise<void>;
  /**
   * Sends one frame to every socket subscribed to `topic`: the same bytes to
   * each, made once (uWS fans out natively). Slow readers are the caller's
   * to find (Conn.bufferedAmount).
   */
  publish(topic: string, frame: string): void;
}

/** The node could not take its port: the one line an operator needs, naming the address. */
export class ListenError extends Error {
  constructor(host: string, port: number, why: string) {
    super(`cannot listen on ${host}:${port}: ${why}`);
    this.name = 'ListenError';
  }
}
