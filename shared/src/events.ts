import { z } from 'zod';
import { Timestamp, UserId, UserRef, text } from './common.js';
import { ProfileView } from './ops.js';
import { GameEndReason, GameId, GameLeaveReason, GameSummary, GameView, PlayerView, SpectatorView } from './games.js';
import { TicketUpdate } from './matchmaking.js';
import { InviteEndReason, PartyEndReason, PartyId, PartyLeaveReason, PartyMember, PartyView, ReceivedInvite } from './parties.js';
import { FriendView, MailView, MatchResultView, Presence } from './social.js';

const inParty = { partyId: PartyId, version: z.number().int().nonnegative() };

const inGame = { gameId: GameId, version: z.number().int().nonnegative() };

export interface EventSpec<D extends z.ZodType = z.ZodType> {
  data: D;
  doc: string;
}

function event<D extends z.ZodType>(spec: EventSpec<D>): EventSpec<D> {
  return spec;
}

export const events = {
  'server.notice': event({
    doc: 'An operator\'s message to players (maintenance, news), sent through the admin API to everyone or to one user.',
    data: z.object({ text: text(), at: Timestamp }),
  }),
  'game.playerJoined': event({ doc: 'A player took a seat.', data: z.object({ ...inGame, player: PlayerView }) }),
  'game.playerLeft': event({
    doc: 'A player left (or was kicked, disconnected past the grace period, did not confirm). `ownerId` is the owner afterwards: when the owner left, the player who has been in the game longest (earliest `joinedAt`, then lowest slot).',
    data: z.object({ ...inGame, userId: UserId, reason: GameLeaveReason, ownerId: UserId }),
  }),
  'game.playerUpdated': event({ doc: 'A player changed team or ready state, lost or regained the connection, or confirmed.', data: z.object({ ...inGame, player: PlayerView }) }),
  'game.spectatorJoined': event({ doc: 'Someone started watching.', data: z.object({ ...inGame, spectator: SpectatorView }) }),
  'game.spectatorLeft': event({ doc: 'Someone stopped watching.', data: z.object({ ...inGame, userId: UserId, reason: GameLeaveReason }) }),
  'game.updated': event({ doc: 'The owner changed settings, or the game changed owner; the whole game as it is now.', data: z.object({ ...inGame, game: GameView }) }),
  'game.started': event({
    doc: 'The game started: players must confirm before `confirmBy`. Each player\'s way in (game.sessionKey) comes on their own user stream.',
    data: z.object({ ...inGame, confirmBy: Timestamp }),
  }),
  'game.sessionKey': event({
    doc: 'On one\'s own user stream only: the single-use `sessionKey` for a game that started, and the game server\'s address. Nobody else ever receives it.',
    data: z.object({ gameId: GameId, sessionKey: text(), serverAddress: text(), confirmBy: Timestamp }),
  }),
  'game.snapshot': event({ doc: 'The whole game as it is now: to one session whose game stream resynced (session.resume), in place of the events it missed.', data: z.object({ game: GameView }) }),
  'game.ended': event({ doc: 'The game is over and removed: ended by the game server, reached its maximum duration, or nobody confirmed.', data: z.object({ gameId: GameId, reason: GameEndReason }) }),
  'games.added': event({ doc: 'A game entered a subscribed list.', data: z.object({ subscriptionId: text(), game: GameSummary }) }),
  'games.updated': event({ doc: 'A game in a subscribed list changed.', data: z.object({ subscriptionId: text(), game: GameSummary }) }),
  'games.removed': event({ doc: 'A game left a subscribed list (removed, or no longer matches).', data: z.object({ subscriptionId: text(), gameId: GameId }) }),
  'games.snapshot': event({ doc: 'The first page of a subscribed list as it is now (the subscription\'s sort and limit): to one session whose list stream resynced, in place of the changes it missed.', data: z.object({ subscriptionId: text(), games: z.array(GameSummary) }) }),
  'chat.message': event({
    doc: 'A chat line in one\'s game (`gameId`) or party (`partyId`).',
    data: z.object({ channel: z.enum(['game', 'party']), gameId: GameId.optional(), partyId: PartyId.optional(), from: UserRef, text: text(), at: Timestamp }),
  }),
  'party.invited': event({
    doc: 'An invite to `userId`: to the invitee (with a snapshot of the party) and to the party\'s members.',
    data: z.object({ ...inParty, userId: UserId, from: UserRef, expiresAt: Timestamp, party: PartyView }),
  }),
  'party.inviteEnded': event({
    doc: 'An invite is over: to the invitee and the party. `accepted` comes with memberJoined.',
    data: z.object({ ...inParty, userId: UserId, reason: InviteEndReason }),
  }),
  'party.snapshot': event({ doc: 'The whole party: to a newcomer on joining, and to one session whose party stream resynced (session.resume).', data: z.object({ party: PartyView }) }),
  'party.memberJoined': event({ doc: 'To the members already there: someone accepted.', data: z.object({ ...inParty, member: PartyMember }) }),
  'party.memberLeft': event({ doc: 'A member left or was kicked. `leaderId` is the leader afterwards: when the leader left, the member who joined earliest.', data: z.object({ ...inParty, userId: UserId, reason: PartyLeaveReason, leaderId: UserId }) }),
  'party.memberUpdated': event({ doc: 'A member changed attributes.', data: z.object({ ...inParty, userId: UserId, attributes: z.record(text(), z.union([text(), z.number()])) }) }),
  'party.leaderChanged': event({ doc: 'The leader handed over leadership.', data: z.object({ ...inParty, leaderId: UserId }) }),
  'party.queueChanged': event({ doc: 'The party went into a queue (party.go) or left it (`queue: null`).', data: z.object({ ...inParty, queue: text().nullable() }) }),
  'party.ended': event({ doc: 'The party is gone: disbanded, its last invite expired (temporary), or only the leader was left. Sent to the members and to the pending invitees, for whom it also ends the invite (they get no party.inviteEnded).', data: z.object({ partyId: PartyId, reason: PartyEndReason }) }),
  'mail.received': event({ doc: 'A new message: sent live to a recipient online, and at each login or resume every unacknowledged one (the oldest 200) is sent again, so a message may arrive more than once until mail.ack — never after. mail.list returns the same.', data: z.object({ mail: MailView }) }),
  'profile.ratingChanged': event({ doc: 'A reported match result changed one\'s rating.', data: z.object({ result: MatchResultView }) }),
  'friends.changed': event({ doc: 'A friendship or request with `friend.userId` changed (requested, accepted, removed, blocked); `removed: true` when the entry is gone.', data: z.object({ friend: FriendView, removed: z.boolean() }) }),
  'presence.changed': event({ doc: 'A friend came online, went offline, joined a game or a queue, or changed activity.', data: z.object({ userId: UserId, name: text(), presence: Presence }) }),
  'friends.profileChanged': event({ doc: 'A friend\'s profile changed: name, rating (after a match), level, school, side or custom data.', data: z.object({ userId: UserId, profile: ProfileView }) }),
  'user.snapshot': event({
    doc: 'Everything personal as it is now: to one session whose user stream resynced (session.resume, or a login that took over a session), in place of what it missed. Unacknowledged mail follows as mail.received.',
    data: z.object({ friends: z.array(FriendView), invites: z.array(ReceivedInvite), ticket: TicketUpdate.nullable() }),
  }),
  'mm.status': event({ doc: 'A change of one\'s matchmaking ticket: queued → found → ready, or cancelled / timedOut / failed with a reason.', data: TicketUpdate }),
} as const satisfies Record<string, EventSpec>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventData<E extends EventName> = z.output<Events[E]['data']>;
