import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../transport/index.js';

/** What every HTTP route of the node answers with: JSON, checked bodies and queries, %-decoded path parts. */

export const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const invalid = (error: z.ZodError) => json(400, { error: 'invalid request', issues: error.issues.map((i) => ({ path: i.path, message: i.message })) });

export type Parsed<T> = { ok: true; data: T } | { ok: false; res: HttpResponse };

/** The JSON body checked against `schema`, or the 400 to answer. */
export function parseBody<S extends z.ZodType>(req: HttpRequest, schema: S): Parsed<z.output<S>> {
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8') || 'null');
  } catch {
    return { ok: false, res: json(400, { error: 'body is not JSON', issues: [] }) };
  }
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, res: invalid(parsed.error) };
}

export function parseQuery<S extends z.ZodType>(req: HttpRequest, schema: S): Parsed<z.output<S>> {
  const parsed = schema.safeParse(Object.fromEntries(req.query));
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, res: invalid(parsed.error) };
}

/** A path segment, %-decoded when it can be. */
export function decodePart(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
