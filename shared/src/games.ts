import { z } from 'zod';
import { DisplayName, Timestamp, UserId, UserRef, list, text } from './common.js';

export const GameId = text({ min: 1, max: 64 });

/** Free-form values a game type defines (map, mode, region…), filterable in the game list. */
export const AttributeValue = z.union([text({ max: 128 }), z.number().finite()]);
export const Attributes = z
  .record(text({ min: 1, max: 32 }), AttributeValue)
  .refine((a) => Object.keys(a).length <= 16, 'at most 16 attributes');

/**
 * What a player chooses to bring into a game. Level and rating are not the
 * client's to say: the server takes them from the player's stored profile.
 */
export const Profile = z
  .object({
    school: text({ max: 32 }).optional().describe("The player's class; a game may require one (the game's `school`)."),
  })
  .meta({ id: 'JoinProfile', description: "What a player chooses to bring into a game (game.create, game.join, games.quickJoin). Level and rating are not sent: the server takes them from the player's stored profile (the rating is the OpenSkill ordinal, mu − 3σ)." });

export const StartMode = z
  .enum(['manual', 'auto'])
  .describe('`manual`: the owner starts the game with game.start. `auto`: the game starts by itself as soon as it is full and every player is ready (game.setReady).');

/** Settings the owner chooses at create and may change with game.update. */
const settingsShape = {
  name: DisplayName,
  maxPlayers: z.number().int().min(1).max(64),
  /** Plain text here only: stored hashed, compared in constant time, never sent to anyone. */
  password: text({ min: 1, max: 64 }).nullable(),
  locked: z.boolean(),
  closed: z.boolean(),
  hidden: z.boolean().describe('Not listed; joinable by id (an invite link).'),
  friendsJoinOnly: z.boolean(),
  startMode: StartMode,
  minLevel: z.number().int().min(0).max(10_000).nullable(),
  maxLevel: z.number().int().min(0).max(10_000).nullable(),
  school: text({ max: 32 }).nullable().describe('Only players of this school may join.'),
  attributes: Attributes,
};

export const GameSettingsUpdate = z
  .object(settingsShape)
  .partial()
  .refine((s) => Object.keys(s).length > 0, 'nothing to change');

export const GameCreate = z.object({
  name: DisplayName,
  gameType: text({ min: 1, max: 32 }),
  maxPlayers: settingsShape.maxPlayers.default(8),
  password: settingsShape.password.optional(),
  locked: z.boolean().default(false),
  closed: z.boolean().default(false),
  hidden: z.boolean().default(false),
  friendsJoinOnly: z.boolean().default(false),
  startMode: StartMode.default('manual'),
  teamSize: z.number().int().min(1).max(64).optional().describe('Teams of at most `teamSize` players; default: the node\'s FOYER_DEFAULT_TEAM_SIZE (4).'),
  minLevel: settingsShape.minLevel.optional(),
  maxLevel: settingsShape.maxLevel.optional(),
  school: settingsShape.school.optional(),
  attributes: Attributes.default({}),
  profile: Profile.default({}),
});

export const PlayerView = z
  .object({
    userId: UserId,
    name: text(),
    slot: z.number().int().positive().describe('Seat 1..maxPlayers; a newcomer takes the lowest free one.'),
    teamIndex: z.number().int().nonnegative(),
    level: z.number(),
    school: text().optional(),
    rating: z.number(),
    ready: z.boolean(),
    connected: z.boolean().describe("False while the player's connection is lost and the reconnect grace runs."),
    confirmed: z.boolean().describe('After game.start: whether the player confirmed with the session key.'),
    joinedAt: Timestamp.describe('When the player took a seat; the owner\'s successor is the player who has been in the game longest.'),
  })
  .meta({ id: 'Player', description: 'A player seated in a game.' });
export type PlayerView = z.infer<typeof PlayerView>;

/** Someone watching a game. */
export const SpectatorView = UserRef;

/** A game as its players and spectators see it. */
export const GameView = z
  .object({
    id: GameId,
    name: text(),
    gameType: text(),
    ownerId: UserId,
    maxPlayers: z.number().int(),
    teamSize: z.number().int(),
    hasPassword: z.boolean(),
    locked: z.boolean(),
    closed: z.boolean(),
    hidden: z.boolean(),
    inProgress: z.boolean(),
    friendsJoinOnly: z.boolean().describe('Only friends of the owner may join or watch.'),
    matchmade: z.boolean().describe('Made by the matchmaker: nobody may kick the players it seated or hand the ownership over (FORBIDDEN).'),
    startMode: StartMode,
    minLevel: z.number().nullable(),
    maxLevel: z.number().nullable(),
    school: text().nullable(),
    attributes: z.record(text(), AttributeValue),
    players: z.array(PlayerView),
    spectators: z.array(SpectatorView),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    confirmBy: Timestamp.nullable().describe('While players confirm after game.start.'),
    version: z.number().int().nonnegative().describe('Increases with every change; events carry it.'),
  })
  .meta({
    id: 'Game',
    description:
      'A game as its players and spectators see it. When the owner leaves (or is removed), the player who has been in the game longest (earliest `joinedAt`, then lowest slot) becomes the owner; game.playerLeft names the new owner. The last player leaving ends the game.',
  });
export type GameView = z.infer<typeof GameView>;

/** A game as the game list shows it. */
export const GameSummary = z
  .object({
    id: GameId,
    name: text(),
    gameType: text(),
    ownerId: UserId,
    ownerName: text(),
    players: z.number().int(),
    maxPlayers: z.number().int(),
    freeSeats: z.number().int(),
    spectators: z.number().int(),
    hasPassword: z.boolean(),
    locked: z.boolean(),
    closed: z.boolean(),
    inProgress: z.boolean(),
    friendsJoinOnly: z.boolean(),
    startMode: StartMode,
    minLevel: z.number().nullable(),
    maxLevel: z.number().nullable(),
    school: text().nullable(),
    attributes: z.record(text(), AttributeValue),
    meanLevel: z.number().describe('Mean level of the seated players (quick join compares it).'),
    meanRating: z.number().describe('Mean rating of the seated players (quick join compares it).'),
    createdAt: Timestamp,
    version: z.number().int().nonnegative(),
  })
  .meta({ id: 'GameSummary', description: 'A game as the game list shows it (games.list, games.subscribe and its events). Hidden games are never listed.' });
export type GameSummary = z.infer<typeof GameSummary>;

export const AttributeFilter = z
  .discriminatedUnion('op', [
    z.object({ key: text({ min: 1, max: 32 }), op: z.enum(['eq', 'ne']), value: AttributeValue }),
    z.object({ key: text({ min: 1, max: 32 }), op: z.enum(['lt', 'le', 'gt', 'ge']), value: z.number().finite() }),
    z.object({ key: text({ min: 1, max: 32 }), op: z.literal('in'), value: list(AttributeValue, { min: 1, max: 32 }) }),
  ])
  .meta({ id: 'AttributeFilter', description: "A condition on one of a game's `attributes`." });

export const GameFilter = z
  .object({
    gameType: text({ max: 32 }).optional(),
    status: z.enum(['open', 'inProgress', 'any']).default('any').describe('`open`: not started and not closed.'),
    hasFreeSeats: z.boolean().optional(),
    hasPassword: z.boolean().optional(),
    nameContains: text({ min: 1, max: 32 }).optional().describe('Case-insensitive substring of the name.'),
    level: z.number().int().min(0).max(10_000).optional().describe('Only games whose level bounds admit this level.'),
    attributes: list(AttributeFilter, { max: 8 }).optional(),
  })
  .meta({ id: 'GameFilter', description: 'Which games a game list shows; every condition given must hold.' });
export type GameFilter = z.output<typeof GameFilter>;

export const GameSort = z
  .object({
    by: z.enum(['created', 'players', 'freeSeats']).default('created'),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .meta({ id: 'GameSort', description: 'The order of a game list.' });
export type GameSort = z.output<typeof GameSort>;

export const GameListQuery = z.object({
  filter: GameFilter.default({ status: 'any' }),
  sort: GameSort.default({ by: 'created', order: 'desc' }),
  limit: z.number().int().min(1).max(100).default(20),
  /** From the previous page's reply; keeps its place while games come and go. */
  cursor: text({ max: 256 }).optional(),
});

export const GamePage = z.object({
  games: z.array(GameSummary),
  cursor: text().optional().describe('Absent on the last page; a page may be short (each query examines a bounded number of games) and still have one.'),
});

export const GameLeaveReason = z.enum(['left', 'kicked', 'disconnected', 'unconfirmed', 'joinedAnother']);
export const GameEndReason = z.enum(['ended', 'maxDuration', 'unconfirmed', 'empty']);
