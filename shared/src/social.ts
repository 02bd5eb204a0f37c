import { z } from 'zod';
import { Timestamp, UserId, list, text } from './common.js';

/** Where a player is, as friends see it; `activity` is free text a game defines ("in the shop"). */
export const PresenceStatus = z.enum(['offline', 'online', 'inGame', 'inQueue']);
export const Presence = z
  .object({
    status: PresenceStatus.describe('Follows what the player does: online, in a game, in a queue.'),
    activity: text({ max: 64 }).nullable().describe('Free text a game defines ("in the shop"), set with presence.set.'),
  })
  .meta({ id: 'Presence', description: 'Where a player is, as friends see it.' });

export const FriendState = z.enum(['friend', 'requestSent', 'requestReceived', 'blocked']);

export const FriendView = z
  .object({
    userId: UserId,
    name: text(),
    state: FriendState,
    presence: Presence.optional().describe('Only for friends: what they are doing.'),
    since: Timestamp,
  })
  .meta({ id: 'Friend', description: 'One entry of the friend list: a friend, a request either way, or a user one blocked.' });

export const MailId = text({ min: 1, max: 64 });

export const MailView = z
  .object({
    id: MailId,
    from: text().describe('`<project>:<userId>` of the sender, or `system:<project>` for operators.'),
    fromName: text(),
    body: text(),
    sentAt: Timestamp,
    expiresAt: Timestamp,
  })
  .meta({ id: 'Mail', description: 'A message in one\'s inbox, kept until mail.ack or until it expires.' });

export const MailSend = z
  .object({
    to: list(UserId, { min: 1, max: 50 }),
    body: text({ min: 1, max: 2000 }),
    clientMsgId: text({ min: 1, max: 64 }).describe("The sender's own id for this message: sending it again changes nothing."),
  })
  .meta({ id: 'MailSend', description: 'A message to send to one or more users (mail.send, mail.sendBatch).' });

/** OpenSkill rating: mean and uncertainty. */
export const Rating = z.object({ mu: z.number(), sigma: z.number() }).meta({ id: 'Rating', description: 'An OpenSkill rating: `mu` (mean skill) and `sigma` (uncertainty).' });

export const MatchResultView = z
  .object({
    matchId: text(),
    gameType: text(),
    rank: z.number().int().positive().describe('1 is best; teams that tie share a rank.'),
    teamIndex: z.number().int().nonnegative(),
    ratingBefore: Rating,
    ratingAfter: Rating,
    reportedAt: Timestamp,
  })
  .meta({ id: 'MatchResult', description: "One player's result of a match a game server reported, with the rating change." });
