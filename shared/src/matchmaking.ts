import { z } from 'zod';
import { Timestamp, UserId, text } from './common.js';
import { GameId } from './games.js';

/** A side a player is willing to play on; queues with sides pair A against B. */
export const Side = z.enum(['A', 'B', 'any']);

/** What a player brings to a queue. */
export const MatchProfile = z.object({
  rating: z.number().finite().min(-100_000).max(100_000).default(1000),
  /** Measured round trip to each region, for queues with a latency limit. */
  latencies: z.record(text({ min: 1, max: 32 }), z.number().min(0).max(60_000)).optional(),
  side: Side.default('any'),
});

/**
 * A queue, as operators define it in config (FOYER_QUEUES: a JSON file path
 * or inline JSON array). Every timer is a setting so tests can shorten it.
 */
export const QueueConfig = z.object({
  name: text({ min: 1, max: 32 }),
  teams: z.number().int().min(1).max(8).default(2),
  teamSize: z.number().int().min(1).max(32),
  /** Party sizes that may queue as one ticket; default any size up to teamSize. */
  partySizes: z.array(z.number().int().min(1)).optional(),
  rating: z
    .object({
      /** Largest gap between team mean ratings accepted at once. */
      initialWindow: z.number().min(0).default(100),
      /** How much the accepted gap widens per second of waiting (oldest ticket's wait). */
      growthPerSec: z.number().min(0).default(25),
      maxWindow: z.number().min(0).default(1000),
    })
    .default({ initialWindow: 100, growthPerSec: 25, maxWindow: 1000 }),
  maxWaitMs: z.number().int().min(1).default(300_000),
  acceptTimeoutMs: z.number().int().min(1).default(20_000),
  /** Pair side A against side B (a ticket's players must agree on one side or `any`). */
  sides: z.boolean().default(false),
  /** Players need a region with at most this latency in common. */
  maxLatencyMs: z.number().min(0).optional(),
  /** Member attributes every player of a party ticket must have set (e.g. "character"). */
  requiredAttributes: z.array(text({ min: 1, max: 32 })).default([]),
  /** Member attribute that must not repeat within one team (e.g. "character"). */
  uniqueAttribute: text({ min: 1, max: 32 }).optional(),
});
export type QueueConfig = z.output<typeof QueueConfig>;

export const TicketStatus = z.enum(['queued', 'found', 'ready', 'cancelled', 'timedOut', 'failed']);

export const MatchPlayer = z.object({ userId: UserId, name: text(), accepted: z.boolean() });

/** Every status change of a player's ticket, pushed to each of its players. */
export const TicketUpdate = z.object({
  ticketId: text(),
  queue: text(),
  status: TicketStatus,
  /** cancelled / timedOut / failed: why. */
  reason: text().optional(),
  /** When the ticket entered the queue; kept when it returns after a failed accept phase. */
  queuedAt: Timestamp,
  /** found / ready: the match. */
  match: z
    .object({
      matchId: text(),
      acceptBy: Timestamp,
      teams: z.array(z.array(MatchPlayer)),
    })
    .optional(),
  /** ready: the game everyone was seated in, and this player's single-use key. */
  gameId: GameId.optional(),
  sessionKey: text().optional(),
  serverAddress: text().optional(),
});
export type TicketUpdate = z.infer<typeof TicketUpdate>;
