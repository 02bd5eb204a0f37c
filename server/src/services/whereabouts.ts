import type { GameEvent, GameState } from '../domain/game/index.js';

/** Where a user is: the game they play in, or watch. */
export interface Where {
  gameId: string;
  spectating: boolean;
}

/**
 * Where each user of the games held on this node is, kept in step with the
 * games' events (owner and replicas alike) and with the snapshots that
 * replace a replica. Every change is told (`changed`: friends' presence).
 */
export class Whereabouts {
  /**
   * A player's game id (the game's own string), or a spectator's Where: most
   * are players, and a Where each would cost a seated session 40 bytes.
   */
  private readonly at = new Map<string, string | Where>();

  constructor(private readonly changed: (userId: string) => void) {}

  of(userId: string): Where | undefined {
    const w = this.at.get(userId);
    return typeof w === 'string' ? { gameId: w, spectating: false } : w;
  }

  /** The game the user plays in or watches (no Where made: a chat line asks). */
  gameOf(userId: string): string | undefined {
    const w = this.at.get(userId);
    return w === undefined ? undefined : gameOf(w);
  }

  /** Follows one game event. */
  track(gameId: string, e: GameEvent): void {
    switch (e.ev) {
      case 'game.created':
        // A match game is born with every player seated, not just its owner.
        for (const p of e.data.game.players) this.at.set(p.userId, gameId);
        for (const p of e.data.game.players) this.changed(p.userId);
        break;
      case 'game.playerJoined':
        this.set(e.data.player.userId, gameId);
        break;
      case 'game.spectatorJoined':
        this.set(e.data.spectator.userId, { gameId, spectating: true });
        break;
      case 'game.playerLeft':
      case 'game.spectatorLeft': {
        // (A spectator taking a seat gets spectatorLeft, then playerJoined sets the record again.)
        const w = this.at.get(e.data.userId);
        if (w !== undefined && gameOf(w) === gameId) this.at.delete(e.data.userId);
        this.changed(e.data.userId);
        break;
      }
      case 'game.ended':
        for (const [userId, w] of this.at) {
          if (gameOf(w) !== gameId) continue;
          this.at.delete(userId);
          this.changed(userId);
        }
        break;
    }
  }

  /** A snapshot replaced the game here (the replica had missed events): who is in it as it says. */
  replace(gameId: string, after: GameState | undefined): void {
    const now = new Map(after ? [...after.players.map((p) => [p.userId, false] as const), ...after.spectators.map((p) => [p.userId, true] as const)] : []);
    for (const [userId, w] of [...this.at]) {
      if (gameOf(w) !== gameId || now.has(userId)) continue;
      this.at.delete(userId);
      this.changed(userId);
    }
    for (const [userId, spectating] of now) {
      const w = this.at.get(userId);
      if (w !== undefined && gameOf(w) === gameId && (typeof w !== 'string') === spectating) continue;
      this.set(userId, spectating ? { gameId, spectating } : gameId);
    }
  }

  private set(userId: string, w: string | Where): void {
    this.at.set(userId, w);
    this.changed(userId);
  }
}

const gameOf = (w: string | Where): string => (typeof w === 'string' ? w : w.gameId);
