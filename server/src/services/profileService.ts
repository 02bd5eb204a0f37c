import type { z } from 'zod';
import type { ProfileView } from '@foyer/shared';
import { LobbyError } from '../errors.js';
import type { Session } from '../gateway/session.js';
import type { Tokens } from '../gateway/tokens.js';
import type { Account, Accounts } from '../store/accounts.js';
import { standingOf } from './standings.js';

export function profileOf(a: Account): z.output<typeof ProfileView> {
  return {
    userId: a.id,
    name: a.name,
    kind: a.kind,
    rating: { mu: a.ratingMu, sigma: a.ratingSigma, ordinal: standingOf(a).rating },
    level: a.level,
    school: a.school,
    side: a.side,
    custom: a.custom,
    role: a.role,
    createdAt: a.createdAt,
  };
}

/** Profiles and the guest → named upgrade. */
export class ProfileService {
  /** Set once friends exist: a profile changed (friends see the new one). */
  changed: (a: Account) => void = () => {};

  constructor(
    private readonly accounts: Accounts,
    private readonly tokens: Tokens,
  ) {}

  async get(userId: string): Promise<z.output<typeof ProfileView>> {
    const a = await this.accounts.get(userId);
    if (!a) throw new LobbyError('USER_NOT_FOUND', 'no such user');
    return profileOf(a);
  }

  async update(userId: string, fields: Parameters<Accounts['update']>[1]): Promise<z.output<typeof ProfileView>> {
    const a = await this.accounts.update(userId, fields);
    if (!a) throw new LobbyError('USER_NOT_FOUND', 'your account is gone');
    this.changed(a);
    return profileOf(a);
  }

  /** A guest takes a name and a password: same account, a fresh token. */
  async upgrade(session: Session, name: string, password: string): Promise<{ userId: string; name: string } & Awaited<ReturnType<Tokens['issue']>>> {
    const a = await this.accounts.register(name, password, session.userId);
    session.name = a.name;
    this.changed(a);
    return { userId: a.id, name: a.name, ...(await this.tokens.issue(a.id, a.name)) };
  }
}
