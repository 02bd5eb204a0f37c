import { z } from 'zod';
import { MAX_RESUME_STREAMS, StreamPosition, StreamResume } from './streams.js';
import { DisplayName, Timestamp, Token, UserId, jsonObject, list, text } from './common.js';
import { GameCreate, GameFilter, GameId, GameListQuery, GamePage, GameSettingsUpdate, GameSort, GameView, Profile } from './games.js';
import { MatchProfile, TicketUpdate } from './matchmaking.js';
import { PartyId, PartyView, ReceivedInvite } from './parties.js';
import { FriendView, MailId, MailSend, MailView, MatchResultView, Presence } from './social.js';

/**
 * One request type: its `data` schema, its reply `data` schema, whether a
 * session must be logged in to send it, and the text docs/protocol.md shows.
 */
export interface OpSpec<D extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  data: D;
  result: R;
  /** false: allowed before login (and refused with ALREADY_AUTHENTICATED after). */
  auth: boolean;
  /**
   * true: the op reads or writes storage (the database). A connection's
   * storage ops run one after another in a lane of their own, so a slow
   * database never holds back its ops that need none (docs/protocol.md,
   * "Order of replies").
   */
  storage?: boolean;
  doc: string;
}

function op<D extends z.ZodType, R extends z.ZodType>(spec: OpSpec<D, R>): OpSpec<D, R> {
  return spec;
}

/** What anyone may see of a player. */
export const ProfileView = z
  .object({
    userId: UserId,
    name: text(),
    kind: z.enum(['guest', 'named', 'external']),
    rating: z
      .object({ mu: z.number(), sigma: z.number(), ordinal: z.number() })
      .describe('OpenSkill: `ordinal` (mu − 3σ) is the conservative rating to show and sort by.'),
    level: z.number().int(),
    school: text().nullable(),
    side: text().nullable(),
    custom: z.record(text(), z.unknown()),
    role: z.enum(['player', 'moderator', 'admin']),
    createdAt: Timestamp,
  })
  .meta({ id: 'Profile', description: 'What anyone may see of a player (profile.get).' });

const Login = z
  .object({
    userId: UserId,
    name: text(),
    token: Token.optional().describe('Present when the server issued a token (auth.guest, auth.refresh).'),
    expiresAt: Timestamp.describe('When the token that authenticates this connection expires.'),
    streams: z.array(StreamPosition).optional().describe('Logins: the streams the session receives and where each stands at this reply; events after these positions follow. Keep them for session.resume.'),
  })
  .meta({ id: 'Login', description: 'Who the connection is logged in as, and until when.' });

/** A login with a token this server issued. */
const IssuedLogin = Login.required({ token: true }).meta({ id: 'IssuedLogin', description: 'A login with a token this server issued: keep it for later connections (`?token=` or auth.token) and for session.resume.' });

export const ops = {
  'auth.guest': op({
    auth: false,
    doc: 'Log in as a guest. A new guest gets a `deviceSecret` (returned once): keep it on the device and send it next time to be the same guest again, with the same id, rating and friends. Returns a token for later connections (`?token=` or auth.token) and for session.resume.',
    data: z.object({ name: DisplayName, deviceSecret: text({ min: 16, max: 128 }).optional() }),
    result: IssuedLogin.extend({ deviceSecret: text().optional() }),
  }),
  'auth.register': op({
    auth: false,
    doc: 'Create a named account and log in. Names are unique whatever their case (NAME_TAKEN). The password is stored as an scrypt hash only.',
    data: z.object({ name: DisplayName, password: text({ min: 8, max: 200 }) }),
    result: IssuedLogin,
  }),
  'auth.login': op({
    auth: false,
    doc: 'Log in to a named account. WRONG_CREDENTIALS does not say which part was wrong; repeated failures per name and per address get LOGIN_THROTTLED.',
    data: z.object({ name: DisplayName, password: text({ min: 1, max: 200 }) }),
    result: IssuedLogin,
  }),
  'auth.upgrade': op({
    auth: true, storage: true,
    doc: 'Turn the guest account one is logged in with into a named one, keeping its id, rating and friends.',
    data: z.object({ name: DisplayName, password: text({ min: 8, max: 200 }) }),
    result: IssuedLogin,
  }),
  'profile.get': op({
    auth: true, storage: true,
    doc: 'A player\'s profile (one\'s own without `userId`).',
    data: z.object({ userId: UserId.optional() }),
    result: z.object({ profile: ProfileView }),
  }),
  'profile.update': op({
    auth: true, storage: true,
    doc: 'Change one\'s own school, side or custom data (JSON, at most 4 KiB). Level and rating are not the player\'s to change: match results, admin commands and game servers set them.',
    data: z.object({
      school: text({ max: 32 }).nullable().optional(),
      side: text({ max: 32 }).nullable().optional(),
      custom: jsonObject(4096).optional(),
    }),
    result: z.object({ profile: ProfileView }),
  }),
  'auth.token': op({
    auth: false,
    doc: 'Log in with a token: one this server issued, or one from the configured external issuer (a game\'s own account system).',
    data: z.object({ token: Token }),
    result: Login,
  }),
  'auth.refresh': op({
    auth: true,
    doc: 'Get a fresh token before the current one expires (the connection is closed with 4000 AUTH_EXPIRED at `expiresAt`). Sessions logged in with an external token get one issued by this server.',
    data: z.object({}),
    result: IssuedLogin,
  }),
  'session.resume': op({
    auth: false,
    doc: 'On a new connection, take back a session that lost its connection within the reconnect grace period, stream by stream. `streams` lists where the client stands in each stream it received. For each stream the session receives now, the reply says `resumed` (the events after the client\'s position follow this reply, in order), `resynced` (the history no longer covers that position, its epoch changed, or the client did not list it: the stream\'s snapshot event follows instead) or `gone` (listed by the client, but the session no longer receives it: forget it). `resumed: false`: the session itself was gone and this is a new one (every stream resyncs; list subscriptions are gone). Either way the connection is logged in.',
    data: z.object({ token: Token, streams: list(StreamPosition, { max: MAX_RESUME_STREAMS }).default([]) }),
    result: Login.extend({
      resumed: z.boolean().describe('The session was still held: it goes on (its subscriptions too).'),
      streams: z.array(StreamResume),
    }),
  }),
  'session.logout': op({
    auth: true,
    doc: 'Log out: the session ends at once, with no reconnect grace. Friends see the user offline, and the user leaves their game, party and matchmaking queue as when a session ends. After the reply the server closes the connection with 4010 LOGGED_OUT; the token can no longer resume the session (session.resume with it answers `resumed: false`, a new session). Requests still running on the connection get no reply.',
    data: z.object({}),
    result: z.object({}),
  }),
  'session.ping': op({
    auth: true,
    doc: 'Application-level round trip: echoes `t` with the server clock, for latency and clock-offset estimates.',
    data: z.object({ t: z.number().optional() }),
    result: z.object({ t: z.number().optional(), serverTime: Timestamp }),
  }),

  'game.create': op({
    auth: true,
    doc: 'Create a game and take its first seat as owner. A player already in a game leaves it first (the others are told).',
    data: GameCreate,
    result: z.object({ game: GameView }),
  }),
  'game.join': op({
    auth: true,
    doc: 'Join a game by id, or watch it with `spectate: true`. A player in another game leaves it first. Refusals, checked in this order: GAME_NOT_FOUND, SCHOOL_REQUIRED, FRIENDS_ONLY, WRONG_PASSWORD, LEVEL_TOO_LOW, LEVEL_TOO_HIGH, GAME_FULL, GAME_LOCKED, GAME_CLOSED, GAME_IN_PROGRESS; a spectator: GAME_NOT_FOUND, FRIENDS_ONLY (a friends-only game is watched by the owner\'s friends only), WRONG_PASSWORD, SPECTATORS_FULL. The level checked is the stored one. Joining the game one is in already changes nothing.',
    data: z.object({
      gameId: GameId,
      password: text({ max: 64 }).optional(),
      spectate: z.boolean().default(false),
      profile: Profile.default({}),
      /** Party leader: the whole party joins if every member fits, or nobody does. */
      withParty: z.boolean().default(false),
    }),
    result: z.object({ game: GameView }),
  }),
  'game.current': op({
    auth: true,
    doc: 'The game one plays in or watches, or null: what a client fetches after a resync.',
    data: z.object({}),
    result: z.object({ game: GameView.nullable(), spectating: z.boolean() }),
  }),
  'game.leave': op({ auth: true, doc: 'Leave the game (or stop watching it).', data: z.object({}), result: z.object({ gameId: GameId }) }),
  'game.kick': op({ auth: true, doc: 'Owner: remove a player or spectator from the game. In a game the matchmaker made (`matchmade`), nobody may kick: FORBIDDEN.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'game.update': op({
    auth: true,
    doc: 'Owner: change settings. `password: null` removes the password. `maxPlayers` cannot go below the players seated.',
    data: GameSettingsUpdate,
    result: z.object({ game: GameView }),
  }),
  'game.setTeam': op({ auth: true, doc: 'Move to another team (0-based); refused with TEAM_FULL when it has `teamSize` players.', data: z.object({ teamIndex: z.number().int().min(0).max(63) }), result: z.object({}) }),
  'game.setReady': op({ auth: true, doc: 'Mark oneself ready or not. A game with `startMode: "auto"` starts when it is full and everyone is ready.', data: z.object({ ready: z.boolean() }), result: z.object({}) }),
  'game.setOwner': op({ auth: true, doc: 'Owner: hand ownership to another player of the game. In a game the matchmaker made (`matchmade`), ownership is not handed over: FORBIDDEN (it passes on only when the owner leaves).', data: z.object({ userId: UserId }), result: z.object({}) }),
  'game.start': op({
    auth: true,
    doc: 'Owner: start the game. Nobody can join from then on; every player gets game.started with a single-use session key and the game server address, and must send game.confirm before `confirmBy`.',
    data: z.object({}),
    result: z.object({ confirmBy: Timestamp }),
  }),
  'game.confirm': op({ auth: true, doc: 'Confirm a started game with the session key from game.started. Players who do not confirm in time are removed. Confirming leaves the key good for the game server (which spends it, see docs/operations.md); confirming again changes nothing.', data: z.object({ sessionKey: text({ min: 1, max: 128 }) }), result: z.object({}) }),
  'games.list': op({
    auth: true,
    doc: 'One page of the game list, filtered and sorted. Hidden games are never listed. A very selective filter can return fewer than `limit` games (even none) with a `cursor`: keep paging until the cursor is absent.',
    data: GameListQuery,
    result: GamePage,
  }),
  'games.subscribe': op({
    auth: true,
    doc: 'The first page of a filtered list, then games.added / games.updated / games.removed events as games enter, change in or leave the filter. The subscription starts before the page is read, so no change is missed between them. `subscriptionId` is the list\'s stream (`games:<key>`): every session subscribed to the same filter shares it, and subscribing to a filter one already has returns the same id. It belongs to the session: a session that starts afresh (session.resume answering `resumed: false`, or a login) has no subscription and subscribes again.',
    data: z.object({ filter: GameFilter.default({ status: 'any' }), sort: GameSort.default({ by: 'created', order: 'desc' }), limit: z.number().int().min(1).max(100).default(20) }),
    result: GamePage.extend({ subscriptionId: text() }),
  }),
  'games.unsubscribe': op({ auth: true, doc: 'Stop a games.subscribe of this session; an id the session does not hold is refused (BAD_REQUEST).', data: z.object({ subscriptionId: text({ max: 64 }) }), result: z.object({}) }),
  'games.quickJoin': op({
    auth: true,
    doc: 'Join the open game of this type that fits best (closest to one\'s stored level and rating, then fullest, then oldest). When none fits: with `create`, create one (auto create); without, NO_GAME_FOUND.',
    data: z.object({ gameType: text({ min: 1, max: 32 }), profile: Profile.default({}), create: GameCreate.omit({ gameType: true, profile: true }).optional() }),
    result: z.object({ game: GameView, created: z.boolean() }),
  }),
  'chat.send': op({
    auth: true,
    doc: 'Say something to the players and spectators of one\'s game (`channel: "game"`) or to one\'s party (`"party"`).',
    data: z.object({ channel: z.enum(['game', 'party']), text: text({ trim: true, min: 1, max: 500 }) }),
    result: z.object({}),
  }),

  'party.invite': op({
    auth: true, storage: true,
    doc: 'Invite a user to one\'s party; the first invite creates the party with the inviter as leader. Refusals: USER_NOT_FOUND, USER_OFFLINE, INVITE_SELF, NOT_LEADER, ALREADY_MEMBER, IN_OTHER_PARTY, PARTY_FULL (members and pending invites count), IN_MATCHMAKING. Inviting someone invited already refreshes nothing: the invite keeps its expiry.',
    data: z.object({ userId: UserId }),
    result: z.object({ party: PartyView }),
  }),
  'party.accept': op({
    auth: true,
    doc: 'Accept an invite and join the party. Allowed while leading one\'s own temporary party (it ends). Refusals: INVITE_NOT_FOUND, INVITE_EXPIRED, INVITE_CANCELLED, ALREADY_IN_PARTY, IN_MATCHMAKING, PARTY_FULL.',
    data: z.object({ partyId: PartyId }),
    result: z.object({ party: PartyView }),
  }),
  'party.decline': op({ auth: true, doc: 'Decline an invite. Refusals as for accept.', data: z.object({ partyId: PartyId }), result: z.object({}) }),
  'party.leave': op({ auth: true, doc: 'Leave the party (the leader\'s leaving passes leadership on). A queued party\'s ticket is cancelled for everybody.', data: z.object({}), result: z.object({}) }),
  'party.kick': op({ auth: true, doc: 'Leader: remove a member, or cancel a pending invite. A queued party\'s ticket is cancelled for everybody.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'party.promote': op({ auth: true, doc: 'Leader: hand leadership to another member.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'party.setAttributes': op({
    auth: true,
    doc: 'Set one\'s own member attributes (character, hero level…), merged into what was set; `null` removes a key. Seen by the whole party. Frozen while the party is queued.',
    data: z.object({ attributes: z.record(text({ min: 1, max: 32 }), z.union([text({ max: 128 }), z.number().finite(), z.null()])) }),
    result: z.object({ party: PartyView }),
  }),
  'party.go': op({
    auth: true,
    doc: 'Leader: queue the whole party as one ticket; each member counts with their stored OpenSkill ordinal (mu − 3σ). Drops pending invites. Checks in order: NOT_IN_PARTY (one is in no party: queue alone with mm.join), QUEUE_NOT_FOUND, NOT_LEADER, PARTY_TEMPORARY, IN_MATCHMAKING (a member queued already), MISSING_ATTRIBUTES, PARTY_SIZE_NOT_ALLOWED, DUPLICATE_ATTRIBUTE, SIDE_CONFLICT.',
    data: z.object({ queue: text({ min: 1, max: 32 }), profile: MatchProfile.default({ side: 'any' }) }),
    result: TicketUpdate,
  }),
  'party.current': op({ auth: true, doc: 'One\'s party and the invites one holds: what a client fetches after a resync.', data: z.object({}), result: z.object({ party: PartyView.nullable(), invites: z.array(ReceivedInvite) }) }),

  'mm.join': op({
    auth: true,
    doc: 'Queue alone. The rating matched on is one\'s stored OpenSkill ordinal (mu − 3σ, `rating.ordinal` of profile.get), which match results move; the client does not send one. Refusals: QUEUE_NOT_FOUND, IN_PARTY (the leader queues a party with party.go), IN_MATCHMAKING, PARTY_SIZE_NOT_ALLOWED.',
    data: z.object({ queue: text({ min: 1, max: 32 }), profile: MatchProfile.default({ side: 'any' }) }),
    result: TicketUpdate,
  }),
  'game.queue': op({
    auth: true,
    doc: 'Game owner: put the whole game\'s players in a queue as one team (PvP). Players may still leave; a team no longer of a size the queue takes drops out and the game is open again.',
    data: z.object({ queue: text({ min: 1, max: 32 }) }),
    result: TicketUpdate,
  }),
  'mm.cancel': op({ auth: true, doc: 'Cancel one\'s ticket (for the whole party or game team) until the match is ready; MATCH_STARTED after that.', data: z.object({}), result: z.object({}) }),
  'mm.accept': op({ auth: true, doc: 'Accept the found match before `acceptBy`.', data: z.object({}), result: z.object({}) }),
  'mm.decline': op({ auth: true, doc: 'Decline the found match: one\'s ticket is cancelled; the others return to the queue.', data: z.object({}), result: z.object({}) }),
  'mm.current': op({ auth: true, doc: 'One\'s ticket, or null: what a client fetches after a resync.', data: z.object({}), result: z.object({ ticket: TicketUpdate.nullable() }) }),

  'mail.send': op({
    auth: true, storage: true,
    doc: 'Send a message to users online or offline: online recipients get mail.received now, the others at their next login. Sending the same `clientMsgId` again sends nothing new. Refusals per recipient come back in `failed` (USER_NOT_FOUND, BLOCKED, INBOX_FULL).',
    data: MailSend,
    result: z.object({ sent: z.array(z.object({ to: UserId, id: MailId })), failed: z.array(z.object({ to: UserId, code: text() })) }),
  }),
  'mail.sendBatch': op({
    auth: true, storage: true,
    doc: 'Several messages at once, each keyed by its `clientMsgId`; returns the ids that failed and why.',
    data: z.object({ messages: list(MailSend, { min: 1, max: 50 }) }),
    result: z.object({ failed: z.array(z.object({ clientMsgId: text(), to: UserId, code: text() })) }),
  }),
  'mail.list': op({ auth: true, storage: true, doc: 'One\'s unacknowledged, unexpired messages, oldest first.', data: z.object({ limit: z.number().int().min(1).max(200).default(50) }), result: z.object({ mail: z.array(MailView) }) }),
  'mail.ack': op({ auth: true, storage: true, doc: 'Acknowledge messages after processing them: they are deleted from storage, and are never delivered again.', data: z.object({ ids: list(MailId, { min: 1, max: 200 }) }), result: z.object({ deleted: z.number().int() }) }),

  'profile.matches': op({ auth: true, storage: true, doc: 'A player\'s match history, newest first.', data: z.object({ userId: UserId.optional(), limit: z.number().int().min(1).max(100).default(20) }), result: z.object({ matches: z.array(MatchResultView) }) }),

  'friends.request': op({ auth: true, storage: true, doc: 'Ask a user to be friends; they get friends.changed. Refusals: USER_NOT_FOUND, BAD_REQUEST (oneself), ALREADY_FRIENDS, REQUEST_PENDING (one already sent; if they asked you first, this accepts), BLOCKED, FRIENDS_FULL.', data: z.object({ userId: UserId }), result: z.object({ friend: FriendView }) }),
  'friends.accept': op({ auth: true, storage: true, doc: 'Accept a friend request (NO_REQUEST if there is none).', data: z.object({ userId: UserId }), result: z.object({ friend: FriendView }) }),
  'friends.decline': op({ auth: true, storage: true, doc: 'Decline a friend request, or withdraw one you sent (NO_REQUEST if there is none).', data: z.object({ userId: UserId }), result: z.object({}) }),
  'friends.remove': op({ auth: true, storage: true, doc: 'End a friendship (NOT_FRIENDS if there is none); both sides see it go.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'friends.block': op({ auth: true, storage: true, doc: 'Block a user: any friendship or request ends; they cannot request, mail or invite you to a party.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'friends.unblock': op({ auth: true, storage: true, doc: 'Lift a block you set.', data: z.object({ userId: UserId }), result: z.object({}) }),
  'friends.list': op({ auth: true, storage: true, doc: 'Friends (with presence), requests both ways, and whom you blocked.', data: z.object({}), result: z.object({ friends: z.array(FriendView) }) }),
  'presence.set': op({ auth: true, doc: 'Set the game-defined activity text friends see (null clears it). The status (online, in game, in queue) follows what you do.', data: z.object({ activity: text({ max: 64 }).nullable() }), result: z.object({ presence: Presence }) }),
} as const satisfies Record<string, OpSpec>;

export type Ops = typeof ops;
export type OpName = keyof Ops;
/** What a client sends as `data` for an op (zod input: defaults may be omitted). */
export type OpData<O extends OpName> = z.input<Ops[O]['data']>;
/** What the server's handler receives (zod output: defaults applied). */
export type OpParsed<O extends OpName> = z.output<Ops[O]['data']>;
/** The `data` of a successful reply. */
export type OpResult<O extends OpName> = z.output<Ops[O]['result']>;

export function isOpName(name: string): name is OpName {
  return Object.hasOwn(ops, name);
}
