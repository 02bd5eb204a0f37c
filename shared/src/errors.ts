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
  GAME_NOT_FOUND: 'No game with that id (it may have ended).',
  GAME_FULL: 'Every seat of the game is taken.',
  GAME_LOCKED: 'The owner locked the game: nobody new may join.',
  GAME_CLOSED: 'The game is closed to new players.',
  GAME_IN_PROGRESS: 'The game has started; nobody can join it now.',
  GAME_NOT_STARTED: 'The game has not started, so there is nothing to confirm.',
  WRONG_PASSWORD: 'The game has a password and this is not it.',
  LEVEL_TOO_LOW: 'The player\'s level is below the game\'s minimum.',
  LEVEL_TOO_HIGH: 'The player\'s level is above the game\'s maximum.',
  SCHOOL_REQUIRED: 'The game admits only players of another school (class).',
  FRIENDS_ONLY: 'Only friends of the owner may join this game.',
  SPECTATORS_FULL: 'The game has as many spectators as it allows.',
  NOT_OWNER: 'Only the game\'s owner may do this.',
  NOT_IN_GAME: 'The player is not in a game (or not in this one).',
  TEAM_FULL: 'That team has as many players as the team size allows.',
  WRONG_SESSION_KEY: 'The game-session key is not the one issued to this player, or it was used already.',
  NO_GAME_FOUND: 'Quick join found no open game that fits, and no create was given.',
  CHAT_TOO_FAST: 'Chat lines come too fast; wait a moment.',
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
