import type { OpRegistry } from '../gateway/registry.js';
import type { MatchmakingService } from '../services/matchmakingService.js';
import { memberOf } from './gameOps.js';

/** mm.* and game.queue: protocol ops → the matchmaking service. */
export function registerMatchmakingOps(registry: OpRegistry, matchmaking: MatchmakingService): void {
  registry.register('mm.join', (data, { session }) => matchmaking.join(memberOf(session), data.queue, data.profile));
  registry.register('game.queue', (data, { session }) => matchmaking.queueGame(session.userId, data.queue));
  registry.register('mm.cancel', async (_data, { session }) => {
    await matchmaking.onMine({ type: 'cancel', userId: session.userId, reason: 'cancelled' });
    return {};
  });
  registry.register('mm.accept', async (_data, { session }) => {
    await matchmaking.onMine({ type: 'accept', userId: session.userId });
    return {};
  });
  registry.register('mm.decline', async (_data, { session }) => {
    await matchmaking.onMine({ type: 'decline', userId: session.userId });
    return {};
  });
  registry.register('mm.current', async (_data, { session }) => ({ ticket: await matchmaking.current(session.userId) }));
}
