import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeChatLine } from '../../server/src/services/chatService.js';

describe('encodeChatLine', () => {
  it('writes exactly what JSON.stringify writes for the chat.message data, whatever the text and name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('game' as const, 'party' as const),
        fc.uuid(),
        fc.record({ userId: fc.uuid(), name: fc.string({ unit: 'binary', maxLength: 40 }) }),
        // Binary units: quotes, backslashes, controls, lone surrogates: every escape JSON.stringify writes.
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 0, max: 2 ** 52 }),
        (channel, roomId, from, text, at) => {
          const data = channel === 'game' ? { channel, gameId: roomId, from, text, at } : { channel, partyId: roomId, from, text, at };
          expect(encodeChatLine(channel, roomId, from, text, at)).toBe(JSON.stringify(data));
        },
      ),
    );
  });
});
