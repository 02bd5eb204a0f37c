import type { OpRegistry } from '../gateway/registry.js';
import type { ChatService } from '../services/chatService.js';

/** chat.send → the chat service. */
export function registerChatOps(registry: OpRegistry, chat: ChatService): void {
  // Answered in the same tick while the user's chat ban is known (every line but a session's first).
  registry.register('chat.send', (data, { session, now }) => {
    const bannedUntil = chat.bannedUntil(session.userId);
    return bannedUntil instanceof Promise
      ? bannedUntil.then((b) => chat.send(session, data.channel, data.text, now, b))
      : chat.send(session, data.channel, data.text, now, bannedUntil);
  });
}
