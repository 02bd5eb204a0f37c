import type { TicketUpdate } from '@foyer/shared';
import { goneStream, isEvent, isReply, streamId, type MirrorInput } from './input.js';

/** One's matchmaking ticket as the client knows it. */
export interface TicketMirror {
  ticket: TicketUpdate | null;
  /** Whether this player accepted the found match. */
  accepted: boolean;
  /** When this client first saw the found match (local clock), for a countdown. */
  foundAt: number;
  /** When this client saw the match ready (local clock): a game snapshot asked for before then says nothing about the match's game. */
  readyAt: number;
}

export const emptyTicket: TicketMirror = { ticket: null, accepted: false, foundAt: 0, readyAt: 0 };

/**
 * The ticket after `input`: mm.status, the replies that carry a ticket,
 * mm.accept, a user snapshot, the user dismissing a finished one, and the
 * end of a ready match's game (its stream gone too).
 */
export function reduceTicket(s: TicketMirror, input: MirrorInput, me: string | undefined): TicketMirror {
  // A ready match shows its game and session key: once that game is over for this player, so is the match.
  const ready = s.ticket?.status === 'ready' ? s.ticket : null;
  if (ready?.gameId && leftGame(input, ready.gameId, me, s.readyAt)) return emptyTicket;
  if (isEvent(input, 'mm.status')) return update(s, input.data, input.at, me);
  if (isEvent(input, 'user.snapshot')) {
    // The user stream resynced: the ticket as it is now, as if told by mm.status (a missing one as mm.current tells it).
    const t = input.data.ticket;
    return t ? update(s, t, input.at, me) : noTicket(s);
  }
  if (isReply(input, 'mm.current')) {
    const t = input.result.ticket;
    if (!t) return noTicket(s);
    return { ticket: t, accepted: t.status === 'found' && acceptedIn(t, me), foundAt: input.at, readyAt: 0 };
  }
  if (isReply(input, 'mm.join', 'party.go', 'game.queue')) return { ...s, ticket: input.result, accepted: false, readyAt: 0 };
  if (isReply(input, 'mm.accept')) return { ...s, accepted: true };
  if ('local' in input && input.local === 'dismissTicket') return emptyTicket;
  return s;
}

/** The ticket as the server says it is now: a found match keeps its countdown and acceptance while it is the same match. */
function update(s: TicketMirror, t: TicketUpdate, at: number, me: string | undefined): TicketMirror {
  const prev = s.ticket;
  const sameMatch = !!prev?.match && !!t.match && prev.match.matchId === t.match.matchId;
  return {
    ticket: t,
    accepted: t.status === 'found' ? (sameMatch && s.accepted) || acceptedIn(t, me) : s.accepted,
    foundAt: sameMatch ? s.foundAt : at,
    readyAt: t.status !== 'ready' ? 0 : prev?.status === 'ready' && sameMatch ? s.readyAt : at,
  };
}

/** The server holds no ticket: a finished one on display (ready, cancelled…) stays until dismissed. */
function noTicket(s: TicketMirror): TicketMirror {
  const cur = s.ticket;
  return cur && (cur.status === 'queued' || cur.status === 'found') ? emptyTicket : s;
}

function acceptedIn(t: TicketUpdate, me: string | undefined): boolean {
  return !!t.match?.teams.flat().some((p) => p.userId === me && p.accepted);
}

/**
 * Whether `input` says that the game `gameId` is not (or no longer) this
 * player's: it ended, they left it, or a snapshot asked for since the match
 * became ready (`readyAt`) shows them elsewhere.
 */
function leftGame(input: MirrorInput, gameId: string, me: string | undefined, readyAt: number): boolean {
  if (isEvent(input, 'game.ended')) return input.data.gameId === gameId;
  const gone = goneStream(input);
  if (gone !== undefined) return streamId(gone, 'game') === gameId;
  if (isEvent(input, 'game.playerLeft')) return input.data.gameId === gameId && input.data.userId === me;
  if (isReply(input, 'game.current')) return input.sentAt >= readyAt && input.result.game?.id !== gameId;
  if (isReply(input, 'game.create', 'game.join', 'games.quickJoin')) return input.result.game.id !== gameId;
  return isReply(input, 'game.leave');
}
