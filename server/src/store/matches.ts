import { rate } from 'openskill';
import type { Db } from './db.js';

/** What a game server reports: every team's rank (1 is best; ties share a rank) and players. */
export interface MatchReport {
  gameType: string;
  teams: { rank: number; players: string[] }[];
}

/** One player's line of a stored result (MatchResultView). */
export interface PlayerResult {
  matchId: string;
  userId: string;
  gameType: string;
  rank: number;
  teamIndex: number;
  ratingBefore: { mu: number; sigma: number };
  ratingAfter: { mu: number; sigma: number };
  reportedAt: number;
}

export type ReportOutcome =
  | { status: 'stored' | 'replayed'; matchId: string; reportedAt: number; players: PlayerResult[] }
  /** The match id has a stored result with a different report. */
  | { status: 'conflict'; matchId: string }
  /** Some players have no account: nothing was stored. */
  | { status: 'unknownPlayers'; userIds: string[] };

interface PlayerRow {
  match_id: string;
  user_id: string;
  game_type: string;
  team_index: number;
  rank: number;
  mu_before: number;
  sigma_before: number;
  mu_after: number;
  sigma_after: number;
  reported_at: Date;
}

const resultOf = (r: PlayerRow): PlayerResult => ({
  matchId: r.match_id,
  userId: r.user_id,
  gameType: r.game_type,
  rank: r.rank,
  teamIndex: r.team_index,
  ratingBefore: { mu: r.mu_before, sigma: r.sigma_before },
  ratingAfter: { mu: r.mu_after, sigma: r.sigma_after },
  reportedAt: r.reported_at.getTime(),
});

const PLAYER_SELECT = `select p.match_id, p.user_id, m.game_type, p.team_index, p.rank, p.mu_before, p.sigma_before, p.mu_after, p.sigma_after, p.reported_at
  from match_players p join match_results m on m.match_id = p.match_id`;

/**
 * Match results and the ratings they move. One report is one transaction:
 * the result row, every player's rating (OpenSkill, Plackett-Luce) and a
 * per-player row with the rating before and after. The match id is the key:
 * the same report again changes nothing and returns what was stored; another
 * report for the same id is a conflict.
 */
export class Matches {
  constructor(private readonly db: Db) {}

  async report(matchId: string, report: MatchReport): Promise<ReportOutcome> {
    const canonical = JSON.stringify({ gameType: report.gameType, teams: report.teams.map((t) => ({ rank: t.rank, players: t.players })) });
    return this.db.transaction(async (tx): Promise<ReportOutcome> => {
      // A concurrent report of the same id waits here for the first one's commit, then sees its row.
      const inserted = await tx.query<{ reported_at: Date }>(
        'insert into match_results (match_id, game_type, report) values ($1, $2, $3::jsonb) on conflict (match_id) do nothing returning reported_at',
        [matchId, report.gameType, canonical],
      );
      if (!inserted.rows[0]) {
        const existing = await tx.query<{ same: boolean; reported_at: Date }>('select report = $2::jsonb as same, reported_at from match_results where match_id = $1', [matchId, canonical]);
        if (!existing.rows[0]?.same) return { status: 'conflict', matchId };
        const players = await tx.query<PlayerRow>(`${PLAYER_SELECT} where p.match_id = $1 order by p.team_index, p.user_id`, [matchId]);
        return { status: 'replayed', matchId, reportedAt: existing.rows[0].reported_at.getTime(), players: players.rows.map(resultOf) };
      }
      const reportedAt = inserted.rows[0].reported_at;

      const ids = report.teams.flatMap((t) => t.players);
      // Locked in id order: concurrent reports sharing players never deadlock.
      const locked = await tx.query<{ id: string; rating_mu: number; rating_sigma: number }>(
        'select id, rating_mu, rating_sigma from accounts where id = any($1) order by id for update',
        [ids],
      );
      const current = new Map(locked.rows.map((r) => [r.id, { mu: r.rating_mu, sigma: r.rating_sigma }]));
      const unknown = ids.filter((id) => !current.has(id));
      if (unknown.length) throw new UnknownPlayers(unknown);

      const before = report.teams.map((t) => t.players.map((id) => current.get(id)!));
      const after = rate(before, { rank: report.teams.map((t) => t.rank) });
      const players: PlayerResult[] = [];
      report.teams.forEach((t, teamIndex) =>
        t.players.forEach((userId, i) =>
          players.push({ matchId, userId, gameType: report.gameType, rank: t.rank, teamIndex, ratingBefore: before[teamIndex]![i]!, ratingAfter: after[teamIndex]![i]!, reportedAt: reportedAt.getTime() }),
        ),
      );
      const col = <K extends keyof PlayerResult>(k: K) => players.map((p) => p[k]);
      await tx.query(
        `update accounts a set rating_mu = u.mu, rating_sigma = u.sigma
         from unnest($1::text[], $2::float8[], $3::float8[]) as u(id, mu, sigma) where a.id = u.id`,
        [col('userId'), players.map((p) => p.ratingAfter.mu), players.map((p) => p.ratingAfter.sigma)],
      );
      await tx.query(
        `insert into match_players (match_id, user_id, team_index, rank, mu_before, sigma_before, mu_after, sigma_after, reported_at)
         select $1, u.user_id, u.team_index, u.rank, u.mu_before, u.sigma_before, u.mu_after, u.sigma_after, $9
         from unnest($2::text[], $3::int[], $4::int[], $5::float8[], $6::float8[], $7::float8[], $8::float8[]) as u(user_id, team_index, rank, mu_before, sigma_before, mu_after, sigma_after)`,
        [
          matchId,
          col('userId'),
          col('teamIndex'),
          col('rank'),
          players.map((p) => p.ratingBefore.mu),
          players.map((p) => p.ratingBefore.sigma),
          players.map((p) => p.ratingAfter.mu),
          players.map((p) => p.ratingAfter.sigma),
          reportedAt,
        ],
      );
      return { status: 'stored', matchId, reportedAt: reportedAt.getTime(), players };
    }).catch((err: unknown) => {
      // Thrown to roll the result row back.
      if (err instanceof UnknownPlayers) return { status: 'unknownPlayers', userIds: err.userIds } satisfies ReportOutcome;
      throw err;
    });
  }

  /** A player's results, newest first. */
  async history(userId: string, limit: number): Promise<PlayerResult[]> {
    const r = await this.db.query<PlayerRow>(`${PLAYER_SELECT} where p.user_id = $1 order by p.reported_at desc, p.match_id desc limit $2`, [userId, limit]);
    return r.rows.map(resultOf);
  }
}

class UnknownPlayers extends Error {
  constructor(readonly userIds: string[]) {
    super(`unknown players: ${userIds.join(', ')}`);
  }
}
