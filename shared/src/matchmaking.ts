import { z } from 'zod';
import { Timestamp, UserId, text } from './common.js';
import { GameId } from './games.js';

/** A side a player is willing to play on; queues with sides pair A against B. */
export const Side = z.enum(['A', 'B', 'any']);

/** What a player chooses to bring to a queue; the rating is the stored one, never the client's. */
export const MatchProfile = z
  .object({
    latencies: z
      .record(text({ min: 1, max: 32 }), z.number().min(0).max(60_000))
      .optional()
      .describe('Measured round trip to each region in ms, for queues with a latency limit (`maxLatencyMs`).'),
    side: Side.default('any').describe('A side the player is willing to play on; queues with `sides` pair A against B.'),
  })
  .meta({ id: 'MatchProfile', description: "What a player chooses to bring to a queue (mm.join, party.go). The rating matched on is each player's stored OpenSkill ordinal (mu − 3σ), which only match results, admin commands and game servers change." });

/**
 * A queue, as operators define it in config (FOYER_QUEUES: a JSON file path
 * or inline JSON array). Every timer is a setting so tests can shorten it.
 * Strict: a key the node does not know (a typo) stops it with an error
 * naming the key, rather than leaving a setting silently at its default.
 */
export const QueueConfig = z
  .strictObject({
    name: text({ min: 1, max: 32 }).describe('What mm.join, party.go and game.queue name; unique among the queues.'),
    teams: z.number().int().min(1).max(8).default(2).describe('Teams per match.'),
    teamSize: z.number().int().min(1).max(32).describe('Players per team.'),
    partySizes: z.array(z.number().int().min(1)).optional().describe('Party sizes that may queue as one ticket; default any size up to `teamSize`.'),
    rating: z
      .strictObject({
        initialWindow: z.number().min(0).default(100).describe('Largest gap between team mean ratings accepted at once.'),
        growthPerSec: z.number().min(0).default(25).describe("How much the accepted gap widens per second of waiting (the oldest ticket's wait)."),
        maxWindow: z.number().min(0).default(1000).describe('The accepted gap never widens beyond this.'),
      })
      .default({ initialWindow: 100, growthPerSec: 25, maxWindow: 1000 })
      .describe('How far apart team ratings may be, in OpenSkill ordinal points (mu − 3σ; a new account is at 0).'),
    maxWaitMs: z.number().int().min(1).default(300_000).describe('A ticket waiting this long leaves the queue (`timedOut`).'),
    acceptTimeoutMs: z.number().int().min(1).default(20_000).describe('How long players have to mm.accept a found match.'),
    sides: z.boolean().default(false).describe("Pair side A against side B (a ticket's players must agree on one side or `any`)."),
    maxLatencyMs: z.number().min(0).optional().describe('Players need a region with at most this latency in common.'),
    requiredAttributes: z.array(text({ min: 1, max: 32 })).default([]).describe('Member attributes every player of a party ticket must have set (e.g. "character").'),
    uniqueAttribute: text({ min: 1, max: 32 }).optional().describe('Member attribute that must not repeat within one team (e.g. "character").'),
  })
  .meta({
    id: 'QueueConfig',
    description:
      'A matchmaking queue, as operators define it in FOYER_QUEUES (a JSON array of these). Unknown keys are refused: the node does not start and the error names the key.',
  });
export type QueueConfig = z.output<typeof QueueConfig>;

export const TicketStatus = z.enum(['queued', 'found', 'ready', 'cancelled', 'timedOut', 'failed']);

export const MatchPlayer = z
  .object({ userId: UserId, name: text(), accepted: z.boolean() })
  .meta({ id: 'MatchPlayer', description: 'A player of a found match and whether they accepted it.' });

/** Every status change of a player's ticket, pushed to each of its players. */
export const TicketUpdate = z
  .object({
    ticketId: text(),
    queue: text(),
    status: TicketStatus,
    reason: text().optional().describe('cancelled / timedOut / failed: why.'),
    queuedAt: Timestamp.describe('When the ticket entered the queue; kept when it returns after a failed accept phase.'),
    match: z
      .object({
        matchId: text(),
        acceptBy: Timestamp,
        teams: z.array(z.array(MatchPlayer)),
      })
      .optional()
      .describe('found / ready: the match.'),
    gameId: GameId.optional().describe('ready: the game everyone was seated in.'),
    sessionKey: text().optional().describe("ready: this player's single-use key for the game server."),
    serverAddress: text().optional().describe('ready: the game server address.'),
  })
  .meta({
    id: 'Ticket',
    description:
      "A matchmaking ticket as its players see it (one player, a party or a game's team): every status change is pushed to each of its players as mm.status. queued → found → ready, or cancelled / timedOut / failed.",
  });
export type TicketUpdate = z.infer<typeof TicketUpdate>;
