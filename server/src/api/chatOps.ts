import type { OpParsed, OpResult } from '@foyer/shared';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { OpRegistry, RequestContext } from '../gateway/registry.js';
import { TokenBucket } from '../gateway/rateLimit.js';

/** Where a user's lines go on one channel: the room's id and everyone in it. */
export type ChatRoom = { id: string; members: string[] } | undefined;

export interface ChatDeps {
  config: Config;
  gateway: Gateway;
  registry: OpRegistry;
  rooms: { game(userId: string): ChatRoom; party(userId: string): ChatRoom };
  /** Until when an operator barred the user from chat (admin chatBan); null or past: not barred. */
  chatBannedUntil?: (userId: string) => number | null | Promise<number | null>;
}

/** chat.send: one rate limit per user across channels, delivered to the room's members only. */
export function registerChat({ config, gateway, registry, rooms, chatBannedUntil }: ChatDeps): void {
  const buckets = new Map<string, TokenBucket>();
  gateway.onSession({ ended: (userId) => buckets.delete(userId), moved: (userId) => buckets.delete(userId) });

  const send = (data: OpParsed<'chat.send'>, { session, now }: RequestContext, bannedUntil: number | null): OpResult<'chat.send'> => {
    if (bannedUntil && bannedUntil > now) throw new LobbyError('CHAT_BANNED', `you may not chat until ${new Date(bannedUntil).toISOString()}`);
    const room = rooms[data.channel](session.userId);
    if (!room) throw new LobbyError(data.channel === 'game' ? 'NOT_IN_GAME' : 'NOT_IN_PARTY', `you are not in a ${data.channel}`);
    let bucket = buckets.get(session.userId);
    if (!bucket) buckets.set(session.userId, (bucket = new TokenBucket(config.chatBurst, config.chatPerSec, now)));
    if (!bucket.take(now)) throw new LobbyError('CHAT_TOO_FAST', 'you are sending chat lines too fast');
    const from = { userId: session.userId, name: session.name };
    gateway.deliver(
      { users: room.members },
      'chat.message',
      data.channel === 'game'
        ? { channel: 'game', gameId: room.id, from, text: data.text, at: now }
        : { channel: 'party', partyId: room.id, from, text: data.text, at: now },
    );
    return {};
  };

  // Answered in the same tick while the user's chat ban is known (every line but a session's first).
  registry.register('chat.send', (data, ctx) => {
    const bannedUntil = chatBannedUntil?.(ctx.session.userId) ?? null;
    return bannedUntil instanceof Promise ? bannedUntil.then((b) => send(data, ctx, b)) : send(data, ctx, bannedUntil);
  });
}
