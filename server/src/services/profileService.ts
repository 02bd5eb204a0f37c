import type { z } from 'zod';
import type { ProfileView } from '@foyer/shared';
import { LobbyError } from '../errors.js';
import type { OpRegistry } from '../gateway/registry.js';
import type { Tokens } from '../gateway/tokens.js';
import type { Account, Accounts } from '../store/accounts.js';

export function profileOf(a: Account): z.output<typeof ProfileView> {
  return {
    userId: a.id,
    name: a.name,
    kind: a.kind,
    rating: { mu: a.ratingMu, sigma: a.ratingSigma, ordinal: a.ratingMu - 3 * a.ratingSigma },
    level: a.level,
    school: a.school,
    side: a.side,
    custom: a.custom,
    role: a.role,
    createdAt: a.createdAt,
  };
}

/** Profiles and the guest → named upgrade. */
export function registerProfileOps(registry: OpRegistry, accounts: Accounts, tokens: Tokens, changed: (a: Account) => void = () => {}): void {
  registry.register('profile.get', async (data, { session }) => {
    const a = await accounts.get(data.userId ?? session.userId);
    if (!a) throw new LobbyError('USER_NOT_FOUND', 'no such user');
    return { profile: profileOf(a) };
  });

  registry.register('profile.update', async (data, { session }) => {
    const a = await accounts.update(session.userId, data);
    if (!a) throw new LobbyError('USER_NOT_FOUND', 'your account is gone');
    changed(a);
    return { profile: profileOf(a) };
  });

  registry.register('auth.upgrade', async (data, { session }) => {
    const a = await accounts.register(data.name, data.password, session.userId);
    session.name = a.name;
    changed(a);
    return { userId: a.id, name: a.name, ...(await tokens.issue(a.id, a.name)) };
  });
}
