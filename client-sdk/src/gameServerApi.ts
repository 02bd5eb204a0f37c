import type { MatchReport, MatchReportResult, SessionKeyHolder } from '@foyer/shared';

/** Where the lobby is and the secret game servers share with it (FOYER_SERVER_SECRET). */
export interface GameServerApiOptions {
  /** The lobby node's HTTP address, e.g. `http://lobby.example:7350`; any node of a cluster will do. */
  url: string;
  secret: string;
  /** Defaults to the global fetch (Node 18+). */
  fetch?: typeof fetch;
}

/** A refusal of the game-server API: the HTTP status, and the error code where the lobby gives one. */
export class GameServerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly issues?: { path: (string | number)[]; message: string }[],
  ) {
    super(message);
    this.name = 'GameServerApiError';
  }
}

/**
 * The lobby's API for game servers (docs/operations.md, "Game servers"): use
 * the session key a player brings, report a match's results, end a game.
 * For Node game servers; the secret must never reach a browser.
 */
export class GameServerApi {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GameServerApiOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Checks a player's session key and spends it: who the player is, in which
   * game, team and slot. A key is good once and until the game's confirm
   * deadline; a wrong key (404 WRONG_SESSION_KEY), a second use (409
   * SESSION_KEY_USED) or a late one (410 SESSION_KEY_EXPIRED) throws.
   */
  useSessionKey(sessionKey: string): Promise<SessionKeyHolder> {
    return this.post('/v1/session-keys/use', { sessionKey });
  }

  /** Reports a match's ranking; the same report again is answered as before (`replayed`). */
  reportResults(matchId: string, report: MatchReport): Promise<MatchReportResult> {
    return this.post(`/v1/matches/${encodeURIComponent(matchId)}/results`, report);
  }

  /** Ends a game this server ran: its players and spectators get game.ended. */
  async endGame(gameId: string): Promise<void> {
    await this.post(`/v1/games/${encodeURIComponent(gameId)}/end`, {});
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetch(this.base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.options.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let answer: { error?: string; code?: string; issues?: { path: (string | number)[]; message: string }[] } | undefined;
    try {
      answer = text ? JSON.parse(text) : undefined;
    } catch {
      answer = undefined;
    }
    if (!res.ok) throw new GameServerApiError(res.status, answer?.code, answer?.error ?? `HTTP ${res.status}`, answer?.issues);
    return answer as T;
  }
}
