import { z } from 'zod';
import { text } from './common.js';

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
  NODE_UNAVAILABLE: 'The request needs another node of the cluster (the owner of that game, party or queue) and it did not answer in time, or the cluster bus (Redis) is down. Nothing was changed here; try again shortly.',
  NODE_DRAINING: 'This node is draining: it takes no new games, joins or tickets. Reconnect (to another node) and try again.',
  INTERNAL: 'The server failed while handling the request; it was logged and nothing was changed.',
  NAME_TAKEN: 'Another account has that name (names are unique whatever their case).',
  WRONG_CREDENTIALS: 'The name and password do not match an account (or the device secret is unknown).',
  LOGIN_THROTTLED: 'Too many failed logins for this name or from this address; wait a minute.',
  BANNED: 'The account is banned; the message says until when and why.',
  NOT_A_GUEST: 'Only a guest account can be upgraded to a named one.',
  ALREADY_FRIENDS: 'You are friends already.',
  REQUEST_PENDING: 'A friend request between you is waiting for an answer.',
  NO_REQUEST: 'There is no friend request from that user to answer.',
  NOT_FRIENDS: 'That user is not your friend.',
  BLOCKED: 'One of you blocked the other.',
  FRIENDS_FULL: 'The friend list has as many entries as it may.',
  INBOX_FULL: 'The recipient\'s inbox has as many messages as it may.',
  STORAGE_UNAVAILABLE: 'The database cannot be reached; games go on, but accounts, friends and mail wait until it is back. Try again shortly.',
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
  WRONG_SESSION_KEY: 'The game-session key is not the one issued to this player (game.confirm) or to any player of a started game (the game server API).',
  SESSION_KEY_USED: 'Game server API: a game server has used this session key already; a key is good for one use.',
  SESSION_KEY_EXPIRED: 'Game server API: the game\'s confirm deadline (`confirmBy`) has passed, so its session keys are no longer good.',
  NO_GAME_FOUND: 'Quick join found no open game that fits, and no create was given.',
  CHAT_TOO_FAST: 'Chat lines come too fast; wait a moment.',
  CHAT_BANNED: 'An operator barred the player from chat for a while; the message says until when.',
  USER_NOT_FOUND: 'No such user.',
  USER_OFFLINE: 'The user is not online.',
  INVITE_SELF: 'One cannot invite oneself.',
  ALREADY_MEMBER: 'The user is a member of this party already.',
  IN_OTHER_PARTY: 'The user is a member of another (permanent) party.',
  ALREADY_IN_PARTY: 'You are a member of a permanent party; leave it first.',
  NOT_LEADER: 'Only the party leader may do this.',
  NOT_IN_PARTY: 'You are not a member of a party (an invite is not membership).',
  KICK_SELF: 'The leader cannot kick themselves; use party.leave.',
  NOT_A_MEMBER: 'That user is neither a member of the party nor invited to it.',
  PARTY_FULL: 'The party has as many members and pending invites as it may.',
  PARTY_TEMPORARY: 'Nobody has accepted an invite yet: a party of one cannot queue.',
  INVITE_NOT_FOUND: 'No such invite (never sent, or gone with a logout or the party).',
  INVITE_EXPIRED: 'The invite expired.',
  INVITE_CANCELLED: 'The leader cancelled the invite.',
  IN_MATCHMAKING: 'You, the user or the party are in matchmaking; cancel first.',
  IN_PARTY: 'You are in a party: the leader queues the whole party with party.go.',
  MISSING_ATTRIBUTES: 'A party member has not set an attribute the queue requires.',
  DUPLICATE_ATTRIBUTE: 'Two members chose the same value of the queue\'s unique attribute (e.g. the same character).',
  SIDE_CONFLICT: 'The party\'s members want different sides.',
  QUEUE_NOT_FOUND: 'No queue by that name.',
  PARTY_SIZE_NOT_ALLOWED: 'The queue does not take parties (or games) of this size.',
  NOT_QUEUED: 'You have no ticket in matchmaking.',
  NO_MATCH_FOUND: 'Accept and decline answer a found match; there is none now.',
  MATCH_STARTED: 'The match is ready; cancelling is over, only leaving the game is left.',
} as const;

export type ErrorCode = keyof typeof errorCodes;
export const ErrorCode = z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]);

/** One validation problem: where (`path` into the frame) and what. */
export const Issue = z.object({
  path: z.array(z.union([text(), z.number()])),
  message: text(),
});
export type Issue = z.infer<typeof Issue>;

export const ErrorBody = z
  .object({
    code: ErrorCode,
    message: text().describe('For humans; do not parse it.'),
    issues: z.array(Issue).optional().describe('BAD_REQUEST: where the frame failed validation.'),
    op: text().optional().describe('The op of a refused request that had no `id` (its reply has `re: null`).'),
  })
  .meta({ id: 'Error', description: 'Why a request failed: one of the error codes, a message and, for BAD_REQUEST, the issues.' });
export type ErrorBody = z.infer<typeof ErrorBody>;
