import { z } from 'zod';
import { Timestamp, UserId, text } from './common.js';
import { AttributeValue } from './games.js';

export const PartyId = text({ min: 1, max: 64 });

/** Per-member choices the party sees (character, hero level…); some queues require some of them. */
export const MemberAttributes = z
  .record(text({ min: 1, max: 32 }), AttributeValue)
  .refine((a) => Object.keys(a).length <= 16, 'at most 16 attributes');

export const PartyMember = z.object({
  userId: UserId,
  name: text(),
  attributes: z.record(text(), AttributeValue),
  joinedAt: Timestamp,
});

export const PartyInvite = z.object({
  userId: UserId,
  name: text(),
  invitedAt: Timestamp,
  /** A repeat invite does not move it. */
  expiresAt: Timestamp,
});

export const PartyView = z.object({
  id: PartyId,
  leaderId: UserId,
  /** In join order: the next in line leads when the leader leaves. */
  members: z.array(PartyMember),
  invites: z.array(PartyInvite),
  /** False while nobody but the leader has accepted (only invites): such a party ends with its last invite. */
  permanent: z.boolean(),
  /** The queue the party is in after party.go, or null. */
  queue: text().nullable(),
  version: z.number().int().nonnegative(),
});
export type PartyView = z.infer<typeof PartyView>;

export const PartyLeaveReason = z.enum(['left', 'kicked', 'disconnected']);
export const InviteEndReason = z.enum(['declined', 'expired', 'cancelled', 'accepted', 'partyEnded']);
export const PartyEndReason = z.enum(['disbanded', 'expired', 'empty']);
