import WebSocket from 'ws';

/**
 * A bare WebSocket for tests about the wire itself (bad frames, version,
 * close codes), where the SDK would get in the way.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: any[] = [];
  private waiters: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private nextId = 1;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {}); // a test that expects a refusal awaits `closed` instead
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
  }

  /** Sends now, or as soon as the socket opens (in order). */
  send(frame: unknown): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    if (this.ws.readyState === WebSocket.CONNECTING) this.opened.then(() => this.ws.send(text), () => {});
    else this.ws.send(text);
  }

  /** Sends a request and resolves with its reply. */
  request(op: string, data?: unknown): Promise<any> {
    const id = this.nextId++;
    this.send({ id, op, data });
    return this.next((f) => f.re === id);
  }

  /** The first frame (already received or still to come) matching `pred`. */
  next(pred: (f: any) => boolean): Promise<any> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /**
   * Writes one masked text frame with these bytes straight to the socket,
   * bypassing the library's own checks (e.g. invalid UTF-8).
   */
  sendRawText(payload: Buffer): void {
    if (payload.length > 125) throw new Error('sendRawText writes short frames only');
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const masked = payload.map((b, i) => b ^ mask[i % 4]!);
    const socket = (this.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  }

  close(): void {
    this.ws.terminate();
  }
}
