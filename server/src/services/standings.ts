import type { Cluster } from '../cluster/cluster.js';
import type { Standing } from '../domain/kit.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Account, Accounts } from '../store/accounts.js';

/** The figures of a stored profile that decide joins and matches; `rating` is the OpenSkill ordinal (mu − 3σ). */
export const standingOf = (a: Account): Standing => ({ level: a.level, rating: a.ratingMu - 3 * a.ratingSigma });

/**
 * Players' level and rating, server-owned: read from the stored profile and
 * kept in the session (loaded at login), so joins and tickets need no
 * storage call and go on while storage is down. Whatever changes the stored
 * profile (a match result, an admin command, a game server) passes the new
 * figures on here; the node that made the change tells the others.
 */
export class Standings {
  /** The figures noted last (see note). */
  private last: Standing | undefined;

  constructor(private readonly deps: { accounts: Accounts; gateway: Gateway; cluster: Cluster }) {
    deps.cluster.onCast<{ userId: string; standing: Standing }>('standing.changed', (b) => this.note(b.userId, b.standing));
    deps.gateway.onSession({
      // Loaded at login (from the account the login read, if it did); a failure here leaves it to the first use.
      started: (userId, known) => (known ? this.note(userId, standingOf(known.account)) : void this.reload(userId).catch(() => undefined)),
    });
  }

  /** The player's level and rating: the session's copy, else the stored profile. */
  async of(userId: string): Promise<Standing> {
    const kept = this.deps.gateway.sessions.get(userId)?.standing;
    return kept ?? (await this.reload(userId));
  }

  /** The stored profile changed: every node's session of the player takes the new figures. */
  changed(a: Account): void {
    const standing = standingOf(a);
    this.note(a.id, standing);
    this.deps.cluster.cast('standing.changed', { userId: a.id, standing });
  }

  /** Reads the stored profile into this node's session of the player (at login, after an admin command run here). */
  async reload(userId: string): Promise<Standing> {
    const a = await this.deps.accounts.get(userId);
    if (!a) throw new LobbyError('USER_NOT_FOUND', 'no such user');
    const standing = standingOf(a);
    this.note(userId, standing);
    return standing;
  }

  private note(userId: string, standing: Standing): void {
    const s = this.deps.gateway.sessions.get(userId);
    if (!s) return;
    // Sessions with the same figures as the one before share its object (never changed in place, only replaced):
    // new players all start alike, and each copy would cost 56 bytes (the rating is a heap number).
    const last = this.last;
    s.standing = last?.level === standing.level && last.rating === standing.rating ? last : (this.last = standing);
  }
}
