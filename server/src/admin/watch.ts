import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../transport/index.js';
import { json, parseQuery } from './httpKit.js';

/**
 * GET /admin/watch?path=<an admin GET path with its query>: server-sent
 * events. The node answers `path` as a GET at once and then every
 * `intervalMs`, and pushes the answer (`event: update`, data
 * `{status, body}`) only when it changed; a comment line every 15 s keeps
 * proxies from closing an idle stream. Read with fetch(), so the admin
 * token travels in the Authorization header, never in a URL.
 */
const WatchQuery = z.object({
  // Checked once normalized (no `..` or `.` segments left), so it names what will be answered.
  path: z
    .string()
    .max(2000)
    .transform((p) => new URL(p, 'http://x'))
    .refine((u) => u.pathname.startsWith('/admin/') && u.pathname !== '/admin/watch', 'an admin GET path other than /admin/watch'),
  intervalMs: z.coerce.number().int().min(250).max(60_000).default(1000),
});

const KEEPALIVE_MS = 15_000;
/** Open watches per node: a console opens a handful; more is a runaway client. */
const MAX_WATCHES = 64;

export function createWatch(answer: (req: HttpRequest) => Promise<HttpResponse>): (req: HttpRequest) => HttpResponse {
  let open = 0;
  return (req) => {
    const q = parseQuery(req, WatchQuery);
    if (!q.ok) return q.res;
    if (open >= MAX_WATCHES) return json(503, { error: `too many open watches (${MAX_WATCHES})` });
    const url = q.data.path;
    const get: HttpRequest = { ...req, method: 'GET', path: url.pathname, query: url.searchParams, body: Buffer.alloc(0) };
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      stream: (out) => {
        open++;
        let last: string | undefined;
        let busy = false;
        let stopped = false;
        const poll = async () => {
          if (busy || stopped) return;
          busy = true;
          try {
            const r = await answer(get);
            const text = `{"status":${r.status},"body":${typeof r.body === 'string' ? r.body : JSON.stringify(String(r.body ?? ''))}}`;
            if (text !== last && !stopped) {
              last = text;
              if (!out.write(`event: update\ndata: ${text}\n\n`)) stop();
            }
          } catch {
            if (!stopped) out.write(`event: error\ndata: {"error":"the view failed"}\n\n`);
          } finally {
            busy = false;
          }
        };
        const timer = setInterval(() => void poll(), q.data.intervalMs);
        const keepalive = setInterval(() => out.write(': keepalive\n\n') || stop(), KEEPALIVE_MS);
        const stop = () => {
          if (stopped) return;
          stopped = true;
          open--;
          clearInterval(timer);
          clearInterval(keepalive);
        };
        void poll();
        return stop;
      },
    };
  };
}
