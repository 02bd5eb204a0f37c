import { isEvent, type MirrorInput } from './input.js';

export interface ChatLine {
  /** Unique within the mirror: a key for lists. */
  id: number;
  from: { userId: string; name: string };
  text: string;
  at: number;
}

export interface Chat {
  /** The game or party the lines belong to; lines of another one start afresh. */
  roomId: string | null;
  lines: ChatLine[];
}

/** The chat of one's game and of one's party. */
export interface ChatMirror {
  game: Chat;
  party: Chat;
  nextLine: number;
}

export const emptyChat: ChatMirror = { game: { roomId: null, lines: [] }, party: { roomId: null, lines: [] }, nextLine: 1 };

/** Lines kept per room. */
export const CHAT_KEEP = 100;

/** The chats after `input`: chat.message, and a new game or party (`gameId`, `partyId`: one's current ones) starting its room afresh. */
export function reduceChat(s: ChatMirror, input: MirrorInput, gameId: string | undefined, partyId: string | undefined): ChatMirror {
  let next = s;
  if (isEvent(input, 'chat.message')) {
    const d = input.data;
    const channel = d.channel;
    const roomId = (channel === 'game' ? d.gameId : d.partyId) ?? null;
    const line: ChatLine = { id: s.nextLine, from: d.from, text: d.text, at: d.at };
    const chat = s[channel];
    // One copy per line: the latest CHAT_KEEP - 1 lines, then this one.
    const lines = chat.roomId === roomId ? chat.lines.slice(Math.max(0, chat.lines.length - CHAT_KEEP + 1)) : [];
    lines.push(line);
    next = { ...s, [channel]: { roomId, lines }, nextLine: s.nextLine + 1 };
  }
  if (gameId !== undefined && next.game.roomId !== gameId) next = { ...next, game: { roomId: gameId, lines: [] } };
  if (partyId !== undefined && next.party.roomId !== partyId) next = { ...next, party: { roomId: partyId, lines: [] } };
  return next;
}
