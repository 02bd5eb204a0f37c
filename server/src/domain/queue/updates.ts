/** What the players of a ticket are told (`mm.status`), from the state or from one event. */
import type { TicketUpdate } from '@foyer/shared';
import { matchOf, ticketsOf } from './decide.js';
import type { Match, MmEvent, QueueState, Ticket } from './state.js';

// ---------------------------------------------------------------- updates

/** The shared TicketUpdate of a ticket in the queue now (queued or found); undefined when it is not. */
export function ticketUpdate(s: QueueState, ticketId: string): TicketUpdate | undefined {
  const t = s.tickets.get(ticketId);
  if (!t) return undefined;
  if (t.status === 'queued') return baseUpdate(t, 'queued');
  const m = matchOf(s, t);
  return { ...baseUpdate(t, 'found'), match: matchView(m, ticketsOf(s, m)) };
}

/**
 * The `mm.status` updates an event causes: one per ticket, for all of that
 * ticket's players (`userIds`). A ready update lacks the game, the session
 * key and the server address, which the service adds per player.
 * `match.failed` causes none itself: its ticket events follow.
 */
export function updatesOf(e: MmEvent): { ticketId: string; userIds: string[]; update: TicketUpdate }[] {
  const one = (t: Ticket, update: TicketUpdate) => [{ ticketId: t.id, userIds: t.players.map((p) => p.userId), update }];
  switch (e.ev) {
    case 'ticket.queued':
    case 'ticket.requeued':
      return one(e.ticket, baseUpdate(e.ticket, 'queued'));
    case 'ticket.cancelled':
      return one(e.ticket, { ...baseUpdate(e.ticket, 'cancelled'), reason: e.reason });
    case 'ticket.timedOut':
      return one(e.ticket, { ...baseUpdate(e.ticket, 'timedOut'), reason: e.reason });
    case 'match.found':
    case 'match.accepted':
    case 'match.ready': {
      const match = matchView(e.match, e.tickets);
      const status = e.ev === 'match.ready' ? 'ready' : 'found';
      return e.tickets.flatMap((t) => one(t, { ...baseUpdate(t, status), match }));
    }
    case 'match.failed':
      return [];
  }
}

function baseUpdate(t: Ticket, status: TicketUpdate['status']): TicketUpdate {
  return { ticketId: t.id, queue: t.queue, status, queuedAt: t.queuedAt };
}

function matchView(m: Match, tickets: readonly Ticket[]): NonNullable<TicketUpdate['match']> {
  const names = new Map<string, string>();
  for (const t of tickets) for (const p of t.players) names.set(p.userId, p.name);
  const accepted = new Set(m.accepted);
  return {
    matchId: m.id,
    acceptBy: m.acceptBy,
    teams: m.teams.map((team) => team.map((userId) => ({ userId, name: names.get(userId) ?? '', accepted: accepted.has(userId) }))),
  };
}
