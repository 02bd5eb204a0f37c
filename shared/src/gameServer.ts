import { z } from 'zod';
import { text, UserId } from './common.js';

/**
 * The game-server HTTP API (`/v1/...`, behind the server secret): what game
 * servers send and get back. docs/operations.md describes the endpoints.
 */

/** The body of POST /v1/session-keys/use. */
export const SessionKeyUseBody = z.object({ sessionKey: text({ min: 1, max: 128 }) });

/** What a game server learns from a player's session key (POST /v1/session-keys/use). */
export interface SessionKeyHolder {
  userId: string;
  /** The player's display name. */
  name: string;
  gameId: string;
  gameName: string;
  gameType: string;
  teamIndex: number;
  slot: number;
  /** The game's confirm deadline (ms since the epoch): a key is good until then. */
  confirmBy: number;
}

/** The body of POST /v1/matches/:id/results. */
export const MatchReportBody = z
  .object({
    gameType: z.string().min(1).max(32),
    teams: z
      .array(z.object({ rank: z.number().int().min(1).max(1000), players: z.array(UserId).min(1).max(64) }))
      .min(2, 'a match has at least two teams')
      .max(64),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.teams.forEach((t, i) =>
      t.players.forEach((p, j) => {
        if (seen.has(p)) ctx.addIssue({ code: 'custom', path: ['teams', i, 'players', j], message: `${p} is listed twice` });
        seen.add(p);
      }),
    );
  });

export type MatchReport = z.input<typeof MatchReportBody>;

/** An OpenSkill rating. */
interface Rating {
  mu: number;
  sigma: number;
}

/** The answer of POST /v1/matches/:id/results: each player's rating before and after. */
export interface MatchReportResult {
  matchId: string;
  /** True when this exact report was stored before (nothing changed now). */
  replayed: boolean;
  reportedAt: number;
  players: { userId: string; teamIndex: number; rank: number; ratingBefore: Rating; ratingAfter: Rating }[];
}
