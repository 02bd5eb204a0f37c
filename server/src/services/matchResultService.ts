import { MatchResultView, type MatchReportBody } from '@foyer/shared';
import { z } from 'zod';
import type { Gateway } from '../gateway/gateway.js';
import { LobbyError } from '../errors.js';
import type { Accounts } from '../store/accounts.js';
import type { Matches, PlayerResult, ReportOutcome } from '../store/matches.js';

export const viewOf = (r: PlayerResult): z.output<typeof MatchResultView> => ({
  matchId: r.matchId,
  gameType: r.gameType,
  rank: r.rank,
  teamIndex: r.teamIndex,
  ratingBefore: r.ratingBefore,
  ratingAfter: r.ratingAfter,
  reportedAt: r.reportedAt,
});

/**
 * Match results: a game server reports a match once; the lobby
 * stores it, moves the players' ratings and tells those online here with
 * profile.ratingChanged. A replay of the same report changes nothing.
 */
export class MatchResultService {
  constructor(
    private readonly deps: { gateway: Gateway; matches: Matches; accounts: Accounts; ratingChanged?: (userId: string) => void },
  ) {}

  /** A player's past matches, newest first (USER_NOT_FOUND for another user who does not exist). */
  async history(userId: string, limit: number, other: boolean): Promise<z.output<typeof MatchResultView>[]> {
    if (other && !(await this.deps.accounts.get(userId))) throw new LobbyError('USER_NOT_FOUND', 'no such user');
    return (await this.deps.matches.history(userId, limit)).map(viewOf);
  }

  async report(matchId: string, body: z.output<typeof MatchReportBody>): Promise<ReportOutcome> {
    const outcome = await this.deps.matches.report(matchId, body);
    if (outcome.status === 'stored') {
      for (const p of outcome.players) {
        this.deps.gateway.toUsers([p.userId], 'profile.ratingChanged', { result: viewOf(p) });
        this.deps.ratingChanged?.(p.userId);
      }
    }
    return outcome;
  }
}
