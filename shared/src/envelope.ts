import { z } from 'zod';
import { isCleanText, text } from './common.js';
import { ErrorBody } from './errors.js';
import { StreamName } from './streams.js';

/**
 * Request ids are chosen by the client and echoed as `re`; an int32 keeps
 * them exact in every client language.
 */
export const RequestId = z.number().int().min(0).max(2 ** 31 - 1);

/**
 * Client → server. A request without `id` wants no answer: it gets no reply
 * when it succeeds, and an error reply with `re: null` (naming the op) when
 * it is refused. Fire-and-forget suits chat lines.
 */
export const Request = z.object({
  id: RequestId.optional(),
  op: text({ min: 1, max: 64 }),
  data: z.unknown().optional(),
});
export type Request = z.infer<typeof Request>;

const MAX_REQUEST_ID = 2 ** 31 - 1;

/**
 * Accepts exactly the frames `Request` accepts (a property test holds them
 * equal), without the allocations of a zod parse: the gateway checks every
 * frame with it and asks `Request` only to explain a refusal.
 */
export function isRequest(frame: unknown): frame is Request {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return false;
  const { id, op } = frame as { id?: unknown; op?: unknown };
  return (
    (id === undefined || (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_REQUEST_ID)) &&
    typeof op === 'string' && op.length >= 1 && (op.length <= 64 || [...op].length <= 64) && isCleanText(op) // zod counts code points
  );
}

/**
 * Server → client, exactly one per request that has an `id`, and one per
 * refused request without one. `re` is null when the request had no id, or
 * the frame was so broken that none could be read from it.
 */
export const OkReply = z.object({ re: RequestId, ok: z.literal(true), data: z.unknown() });
export const ErrorReply = z.object({ re: RequestId.nullable(), ok: z.literal(false), error: ErrorBody });
export const Reply = z.discriminatedUnion('ok', [OkReply, ErrorReply]);
export type Reply = z.infer<typeof Reply>;

/**
 * Server → client, pushed: one event of one stream. `offset` grows by one per
 * event of the stream within its `epoch`; every subscriber of the stream gets
 * the same frame, byte for byte (a snapshot event goes to one session and
 * carries the stream's current position).
 */
export const EventFrame = z.object({
  ev: text(),
  stream: StreamName,
  offset: z.number().int().nonnegative(),
  epoch: text({ min: 1, max: 32 }),
  data: z.unknown(),
});
export type EventFrame = z.infer<typeof EventFrame>;

export const ServerFrame = z.union([Reply, EventFrame]);
export type ServerFrame = z.infer<typeof ServerFrame>;
