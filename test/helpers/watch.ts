/**
 * Reads GET /admin/watch (server-sent events) with fetch, as the console
 * does: every `update` event's `{status, body}` is kept, and `next` awaits
 * the first one (arrived or to come) that matches.
 */
export class AdminWatch {
  readonly updates: { status: number; body: any }[] = [];
  private waiters: { pred: (u: { status: number; body: any }) => boolean; resolve: (u: { status: number; body: any }) => void }[] = [];
  private readonly abort = new AbortController();
  /** The response's status and content type, once the headers arrived. */
  readonly opened: Promise<{ status: number; type: string | null }>;
  /** Settles when the server ends the stream (or the connection breaks). */
  readonly ended: Promise<void>;
  private onEnded: () => void = () => {};

  constructor(httpUrl: string, token: string | undefined, path: string, intervalMs = 250) {
    const url = `${httpUrl}/admin/watch?path=${encodeURIComponent(path)}&intervalMs=${intervalMs}`;
    const res = fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: this.abort.signal });
    this.ended = new Promise((resolve) => (this.onEnded = resolve));
    this.opened = res.then((r) => {
      if (r.ok && r.body) void this.read(r.body).catch(() => {}).finally(() => this.onEnded());
      return { status: r.status, type: r.headers.get('content-type') };
    });
  }

  next(pred: (body: any) => boolean = () => true): Promise<any> {
    const hit = this.updates.find((u) => pred(u.body));
    if (hit) return Promise.resolve(hit.body);
    return new Promise((resolve) => this.waiters.push({ pred: (u) => pred(u.body), resolve: (u) => resolve(u.body) }));
  }

  close(): void {
    this.abort.abort();
  }

  private async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        if (!lines.includes('event: update')) continue;
        const u = JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as { status: number; body: any };
        this.updates.push(u);
        this.waiters = this.waiters.filter((w) => (w.pred(u) ? (w.resolve(u), false) : true));
      }
    }
  }
}
