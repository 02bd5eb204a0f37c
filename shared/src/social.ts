import { z } from 'zod';
import { Timestamp, UserId } from './common.js';

/** Where a player is, as friends see it; `activity` is free text a game defines ("in the shop"). */
export const PresenceStatus = z.enum(['offline', 'online', 'inGame', 'inQueue']);
export const Presence = z.object({
  status: PresenceStatus,
  activity: z.string().max(64).nullable(),
});

export const FriendState = z.enum(['friend', 'requestSent', 'requestReceived', 'blocked']);

export const FriendView = z.object({
  userId: UserId,
  name: z.string(),
  state: FriendState,
  /** Only for friends: what they are doing. */
  presence: Presence.optional(),
  since: Timestamp,
});

export const MailId = z.string().min(1).max(64);

export const MailView = z.object({
  id: MailId,
  /** `<project>:<userId>` of the sender, or `system:<project>` for operators. */
  from: z.string(),
  fromName: z.string(),
  body: z.string(),
  sentAt: Timestamp,
  expiresAt: Timestamp,
});

export const MailSend = z.object({
  to: z.array(UserId).min(1).max(50),
  body: z.string().min(1).max(2000),
  /** The sender's own id for this message: sending it again changes nothing. */
  clientMsgId: z.string().min(1).max(64),
});

export const MatchResultView = z.object({
  matchId: z.string(),
  gameType: z.string(),
  /** 1 is best; teams that tie share a rank. */
  rank: z.number().int().positive(),
  teamIndex: z.number().int().nonnegative(),
  ratingBefore: z.object({ mu: z.number(), sigma: z.number() }),
  ratingAfter: z.object({ mu: z.number(), sigma: z.number() }),
  reportedAt: Timestamp,
});
