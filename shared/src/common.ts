import { z } from 'zod';

/** A UTF-16 surrogate that is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string can be kept and passed on as it is: no NUL and no lone
 * surrogate. Postgres text and jsonb refuse both, and neither is text anyone
 * means to send.
 */
export function isCleanText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

const CLEAN_TEXT = 'must not contain NUL or unpaired surrogate characters';

/*
 * zod runs a length check on any input that has a `length`, even after the
 * type check failed: `{"length":{"toString":1}}` then makes it throw while
 * comparing. These guards run each length check only on what it measures
 * (`when` is a check setting zod reads at run time; its typings leave it out).
 */
type LengthParams = { error?: string };
const onStrings = { when: (p: { value: unknown }) => typeof p.value === 'string' } as LengthParams;
const onArrays = { when: (p: { value: unknown }) => Array.isArray(p.value) } as LengthParams;

/**
 * Every string field of the protocol: at most `max` code points (and at
 * least `min`), trimmed first with `trim`, and clean text (see isCleanText).
 */
export function text(bounds: { min?: number; max?: number; trim?: boolean } = {}) {
  let s = z.string();
  if (bounds.trim) s = s.trim();
  if (bounds.min !== undefined) s = s.min(bounds.min, onStrings);
  if (bounds.max !== undefined) s = s.max(bounds.max, onStrings);
  return s.refine(isCleanText, CLEAN_TEXT);
}

/** Every array field of the protocol: `min`..`max` items of `item`. */
export function list<T extends z.ZodType>(item: T, bounds: { min?: number; max: number }) {
  const a = z.array(item);
  return (bounds.min === undefined ? a : a.min(bounds.min, onArrays)).max(bounds.max, onArrays);
}

/** How deep free-form JSON data may nest. */
const MAX_JSON_DEPTH = 16;

/** Why a free-form JSON value cannot be stored, or undefined: too deep, or a key or string that is not clean text. */
function jsonProblem(value: unknown, depth: number): string | undefined {
  if (typeof value === 'string') return isCleanText(value) ? undefined : CLEAN_TEXT;
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_JSON_DEPTH) return `must not nest deeper than ${MAX_JSON_DEPTH} levels`;
  for (const [k, v] of Object.entries(value)) {
    const problem = (isCleanText(k) ? undefined : CLEAN_TEXT) ?? jsonProblem(v, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * A free-form JSON object a client may store (custom profile data): clean
 * text in every key and string, bounded depth, and at most `maxBytes` as JSON.
 */
export function jsonObject(maxBytes: number) {
  return z.record(text(), z.unknown()).superRefine((o, ctx) => {
    const problem = jsonProblem(o, 0);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    // Measured only once the depth is known to be small: JSON.stringify recurses.
    else if (JSON.stringify(o).length > maxBytes) ctx.addIssue({ code: 'custom', message: `limited to ${maxBytes / 1024} KiB` });
  });
}

/** Opaque user id, assigned by the server (or the external issuer's subject). */
export const UserId = text({ min: 1, max: 128 });

/** A name people see: trimmed, 1–32 characters, no control characters. */
export const DisplayName = text({ trim: true, min: 1, max: 32 }).regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control or format characters');

/** Milliseconds since the Unix epoch. */
export const Timestamp = z.number().int().nonnegative();

/** A token as sent by clients; the bound keeps absurd frames cheap to reject. */
export const Token = text({ min: 1, max: 8192 });

/** A user as others see them. */
export const UserRef = z.object({ userId: UserId, name: text() }).meta({ id: 'UserRef', description: 'A user as others see them: id and display name.' });
