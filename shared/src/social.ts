import { z } from 'zod';
import { Timestamp, UserId, list, text } from './common.js';

/** Where a player is, as friends see it; `activity` is free text a game defines ("in the shop"). */
export const PresenceStatus = z.enum(['offline', 'online', 'inGame', 'inQueue']);
export const Presence = z.object({
  status: PresenceStatus,
  activity: text({ max: 64 }).nullable(),
});

export const FriendState = z.enum(['friend', 'requestSent', 'requestReceived', 'blocked']);

export const FriendView = z.object({
  userId: UserId,
  name: text(),
  state: FriendState,
  /** Only for friends: what they are doing. */
  presence: Presence.optional(),
  since: Timestamp,
});

export const MailId = text({ min: 1, max: 64 });

export const MailView = z.object({
  id: MailId,
  /** `<project>:<userId>` of the sender, or `system:<project>` for operators. */
  from: text(),
  fromName: text(),
  body: text(),
  sentAt: Timestamp,
  expiresAt: Timestamp,
});

export const MailSend = z.object({
  to: list(UserId, { min: 1, max: 50 }),
  body: text({ min: 1, max: 2000 }),
  /** The sender's own id for this message: sending it again changes nothing. */
  clientMsgId: text({ min: 1, max: 64 }),
});

export const MatchResultView = z.object({
  matchId: text(),
  gameType: text(),
  /** 1 is best; teams that tie share a rank. */
  rank: z.number().int().positive(),
  teamIndex: z.number().int().nonnegative(),
  ratingBefore: z.object({ mu: z.number(), sigma: z.number() }),
  ratingAfter: z.object({ mu: z.number(), sigma: z.number() }),
  reportedAt: Timestamp,
});
