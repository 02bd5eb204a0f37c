import type { TicketUpdate } from '@foyer/shared';
import { isEvent, isReply, type MirrorInput } from './input.js';

/** One's matchmaking ticket as the client knows it. */
export interface TicketMirror {
  ticket: TicketUpdate | null;
  /** Whether this player accepted the found match. */
  accepted: boolean;
  /** When this client first saw the found match (local clock), for a countdown. */
  foundAt: number;
}

export const emptyTicket: TicketMirror = { ticket: null, accepted: false, foundAt: 0 };

/** The ticket after `input`: mm.status, the replies that carry a ticket, mm.accept, and the user dismissing a finished one. */
export function reduceTicket(s: TicketMirror, input: MirrorInput, me: string | undefined): TicketMirror {
  if (isEvent(input, 'mm.status')) {
    const t = input.data;
    const prev = s.ticket;
    const sameMatch = !!prev?.match && !!t.match && prev.match.matchId === t.match.matchId;
    return {
      ticket: t,
      accepted: t.status === 'found' ? (sameMatch && s.accepted) || acceptedIn(t, me) : s.accepted,
      foundAt: sameMatch ? s.foundAt : input.at,
    };
  }
  if (isReply(input, 'mm.current')) {
    const t = input.result.ticket;
    const cur = s.ticket;
    // A finished ticket on display (ready, cancelled…) stays until dismissed.
    if (!t && !(cur && (cur.status === 'queued' || cur.status === 'found'))) return s;
    return { ticket: t, accepted: !!t && t.status === 'found' && acceptedIn(t, me), foundAt: input.at };
  }
  if (isReply(input, 'mm.join', 'party.go', 'game.queue')) return { ...s, ticket: input.result, accepted: false };
  if (isReply(input, 'mm.accept')) return { ...s, accepted: true };
  if ('local' in input && input.local === 'dismissTicket') return { ...s, ticket: null, accepted: false };
  return s;
}

function acceptedIn(t: TicketUpdate, me: string | undefined): boolean {
  return !!t.match?.teams.flat().some((p) => p.userId === me && p.accepted);
}
