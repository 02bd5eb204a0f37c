import { z } from 'zod';
import { Timestamp, UserId, UserRef, text } from './common.js';
import { AttributeValue } from './games.js';

export const PartyId = text({ min: 1, max: 64 });

/** Per-member choices the party sees (character, hero level…); some queues require some of them. */
export const MemberAttributes = z
  .record(text({ min: 1, max: 32 }), AttributeValue)
  .refine((a) => Object.keys(a).length <= 16, 'at most 16 attributes');

export const PartyMember = z
  .object({
    userId: UserId,
    name: text(),
    attributes: z.record(text(), AttributeValue).describe('Set with party.setAttributes.'),
    joinedAt: Timestamp,
  })
  .meta({ id: 'PartyMember', description: 'A member of a party.' });

export const PartyInvite = z
  .object({
    userId: UserId,
    name: text(),
    invitedAt: Timestamp,
    expiresAt: Timestamp.describe('A repeat invite does not move it.'),
  })
  .meta({ id: 'PartyInvite', description: 'A pending invite, as the party sees it.' });

/** An invite as the invitee holds it (party.current). */
export const ReceivedInvite = z
  .object({ partyId: PartyId, from: UserRef, expiresAt: Timestamp })
  .meta({ id: 'ReceivedInvite', description: 'An invite one holds, from the party\'s leader; answer it with party.accept or party.decline.' });

export const PartyView = z
  .object({
    id: PartyId,
    leaderId: UserId,
    members: z.array(PartyMember).describe('In join order: the next in line leads when the leader leaves.'),
    invites: z.array(PartyInvite),
    permanent: z.boolean().describe('False while nobody but the leader has accepted (only invites): such a party ends with its last invite.'),
    queue: text().nullable().describe('The queue the party is in after party.go, or null.'),
    version: z.number().int().nonnegative(),
  })
  .meta({
    id: 'Party',
    description:
      'A party: a leader, members and pending invites. When the leader leaves, the member who joined earliest leads. When the party ends (party.ended), its pending invitees get party.ended too, and for them it also ends their invite (no separate party.inviteEnded).',
  });
export type PartyView = z.infer<typeof PartyView>;

export const PartyLeaveReason = z.enum(['left', 'kicked', 'disconnected']);
export const InviteEndReason = z.enum(['declined', 'expired', 'cancelled', 'accepted', 'partyEnded']);
export const PartyEndReason = z.enum(['disbanded', 'expired', 'empty']);
