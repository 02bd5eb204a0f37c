/**
 * The console's only way to the node: the admin HTTP API documented in
 * docs/operations.md, with the operator's token as a bearer. Live views read
 * GET /admin/watch (server-sent events) through fetch, so the token goes in
 * the Authorization header and never into a URL.
 */

export interface Answer<T = any> {
  status: number;
  body: T;
}

export class AdminApi {
  constructor(
    private readonly token: string,
    /** Called when the node refuses the token (401): the console forgets it. */
    private readonly refused: () => void,
  ) {}

  private headers(json: boolean): HeadersInit {
    return { authorization: `Bearer ${this.token}`, ...(json && { 'content-type': 'application/json' }) };
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const res = await fetch(path, { method, headers: this.headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401) this.refused();
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: text };
    }
    return { status: res.status, body: parsed as T };
  }

  /**
   * Follows `path` live: `update` gets the node's answer at once and again
   * whenever it changes. A dropped stream is opened again after a second.
   * Returns what stops it.
   */
  watch(path: string, update: (a: Answer) => void, intervalMs = 1000): () => void {
    let stopped = false;
    let abort = new AbortController();
    const open = async () => {
      while (!stopped) {
        abort = new AbortController();
        try {
          const res = await fetch(`/admin/watch?path=${encodeURIComponent(path)}&intervalMs=${intervalMs}`, { headers: this.headers(false), signal: abort.signal });
          if (res.status === 401) return this.refused();
          if (res.ok && res.body) await readEvents(res.body, update);
          else update({ status: res.status, body: await res.json().catch(() => null) });
        } catch {
          if (stopped) return;
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void open();
    return () => {
      stopped = true;
      abort.abort();
    };
  }
}

/** Parses a text/event-stream body: each `update` event's data is one answer. */
async function readEvents(body: ReadableStream<Uint8Array>, update: (a: Answer) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      if (!lines.includes('event: update')) continue;
      update(JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as Answer);
    }
  }
}
