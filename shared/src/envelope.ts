import { z } from 'zod';
import { isCleanText, text } from './common.js';
import { ErrorBody } from './errors.js';

/**
 * Request ids are chosen by the client and echoed as `re`; an int32 keeps
 * them exact in every client language.
 */
export const RequestId = z.number().int().min(0).max(2 ** 31 - 1);

/** Client → server. */
export const Request = z.object({
  id: RequestId,
  op: text({ min: 1, max: 64 }),
  data: z.unknown().optional(),
  /**
   * The `seq` of the last event the client has received. The server stops
   * keeping earlier events for replay, so a session's replay buffer holds
   * only what may not have arrived yet; a later resume must ask from `ack` or
   * after. Optional; the client SDK sends it.
   */
  ack: z.number().int().min(0).optional(),
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
  const { id, op, ack } = frame as { id?: unknown; op?: unknown; ack?: unknown };
  return (
    typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_REQUEST_ID &&
    typeof op === 'string' && op.length >= 1 && (op.length <= 64 || [...op].length <= 64) && isCleanText(op) && // zod counts code points
    (ack === undefined || (typeof ack === 'number' && Number.isSafeInteger(ack) && ack >= 0))
  );
}

/**
 * Server → client, exactly one per request. `re` is null only when the frame
 * was so broken that no request id could be read from it.
 */
export const OkReply = z.object({ re: RequestId, ok: z.literal(true), data: z.unknown() });
export const ErrorReply = z.object({ re: RequestId.nullable(), ok: z.literal(false), error: ErrorBody });
export const Reply = z.discriminatedUnion('ok', [OkReply, ErrorReply]);
export type Reply = z.infer<typeof Reply>;

/** Server → client, pushed. `seq` increases by one per event within a session. */
export const EventFrame = z.object({
  ev: text(),
  seq: z.number().int().positive(),
  data: z.unknown(),
});
export type EventFrame = z.infer<typeof EventFrame>;

export const ServerFrame = z.union([Reply, EventFrame]);
export type ServerFrame = z.infer<typeof ServerFrame>;
