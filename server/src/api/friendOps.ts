import type { OpRegistry } from '../gateway/registry.js';
import type { FriendService } from '../services/friendService.js';

/** friends.* and presence.set: protocol ops → the friend service. */
export function registerFriendOps(registry: OpRegistry, friends: FriendService): void {
  registry.register('friends.request', async (data, { session }) => ({ friend: await friends.request(session.userId, data.userId) }));
  registry.register('friends.accept', async (data, { session }) => ({ friend: await friends.accept(session.userId, data.userId) }));
  for (const how of ['decline', 'remove', 'block', 'unblock'] as const) {
    registry.register(`friends.${how}`, async (data, { session }) => {
      await friends.change(how, session.userId, data.userId);
      return {};
    });
  }
  registry.register('friends.list', async (_data, { session }) => ({ friends: await friends.list(session.userId) }));
  registry.register('presence.set', (data, { session }) => ({ presence: friends.setActivity(session.userId, session.name, data.activity) }));
}
