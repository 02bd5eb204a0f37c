import type { OpRegistry } from '../gateway/registry.js';
import type { MatchResultService } from '../services/matchResultService.js';
import type { ProfileService } from '../services/profileService.js';

/** profile.* and auth.upgrade: protocol ops → the profile and match result services. */
export function registerProfileOps(registry: OpRegistry, profiles: ProfileService, matchResults: MatchResultService): void {
  registry.register('profile.get', async (data, { session }) => ({ profile: await profiles.get(data.userId ?? session.userId) }));
  registry.register('profile.update', async (data, { session }) => ({ profile: await profiles.update(session.userId, data) }));
  registry.register('auth.upgrade', (data, { session }) => profiles.upgrade(session, data.name, data.password));
  registry.register('profile.matches', async (data, { session }) => ({ matches: await matchResults.history(data.userId ?? session.userId, data.limit, !!data.userId) }));
}
