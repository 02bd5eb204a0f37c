import { z } from 'zod';

/**
 * Every error a reply can carry. Closed: a client can switch on it
 * exhaustively. Each code's text is what docs/protocol.md shows.
 */
export const errorCodes = {
  BAD_REQUEST: 'The frame is not valid JSON, names an unknown op, or its data failed validation; `issues` says where.',
  UNAUTHENTICATED: 'The op needs a logged-in session; send auth.guest, auth.token or session.resume first.',
  ALREADY_AUTHENTICATED: 'This connection is logged in already; open a new connection to log in as someone else.',
  TOKEN_INVALID: 'The token is malformed, has a bad signature, or comes from an issuer this server does not trust.',
  TOKEN_EXPIRED: 'The token has expired; log in again.',
  ALREADY_LOGGED_IN: 'The account has a live session and the login policy is "refuse".',
  RATE_LIMITED: 'Too many requests; slow down. Sustained abuse closes the connection (close code 4002).',
  FORBIDDEN: 'The session is not allowed to do this.',
  SHUTTING_DOWN: 'The node is shutting down and takes no new requests; reconnect to another node.',
  TIMEOUT: 'The request did not complete in time.',
  INTERNAL: 'The server failed while handling the request; it was logged and nothing was changed.',
} as const;

export type ErrorCode = keyof typeof errorCodes;
export const ErrorCode = z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]);

/** One validation problem: where (`path` into the frame) and what. */
export const Issue = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
});
export type Issue = z.infer<typeof Issue>;

export const ErrorBody = z.object({
  code: ErrorCode,
  message: z.string(),
  issues: z.array(Issue).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
