/** Decide for a queue: a command against the state gives events and timers, changing nothing. */
import { fail } from '../kit.js';
import { type Budget, Candidates, Taken, bySeq } from './candidates.js';
import { type Pick, search } from './search.js';
import { type Entry, type Lane, type Match, type MmCommand, type MmCtx, type MmDecision, type MmEvent, type MmTimer, type QueueState, type Ticket, regionsOf, sideOf, ticketOf, uniqValues, windowOf } from './state.js';

// ---------------------------------------------------------------- decide

export function decideQueue(s: QueueState, cmd: MmCommand, ctx: MmCtx): MmDecision {
  const out = new Out(s);
  switch (cmd.type) {
    case 'enqueue':
      return enqueue(s, out, cmd, ctx);
    case 'cancel': {
      const t = ticketOf(s, cmd.userId);
      if (!t) return fail('NOT_QUEUED');
      if (t.status === 'found') breakMatch(s, out, matchOf(s, t), new Set([t.id]), cmd.reason);
      else out.emit({ ev: 'ticket.cancelled', queue: s.config.name, version: out.next(), ticket: t, reason: cmd.reason });
      return out.done();
    }
    case 'accept': {
      const t = ticketOf(s, cmd.userId);
      if (!t || t.status !== 'found') return fail('NO_MATCH_FOUND');
      const m = matchOf(s, t);
      if (m.accepted.includes(cmd.userId)) return out.done();
      const match = withAccepted(m, cmd.userId);
      const tickets = ticketsOf(s, m);
      out.emit({ ev: 'match.accepted', queue: s.config.name, version: out.next(), match, userId: cmd.userId, tickets });
      if (match.accepted.length === playerCount(m)) out.emit({ ev: 'match.ready', queue: s.config.name, version: out.next(), match, tickets });
      return out.done();
    }
    case 'decline': {
      const t = ticketOf(s, cmd.userId);
      if (!t || t.status !== 'found') return fail('NO_MATCH_FOUND');
      breakMatch(s, out, matchOf(s, t), new Set([t.id]), 'declined');
      return out.done();
    }
    case 'acceptDeadline': {
      const m = s.matches.get(cmd.matchId);
      if (m) deadline(s, out, m); // else: stale timer, the match is ready or failed already
      return out.done();
    }
    case 'tick':
      return tick(s, out, ctx);
  }
}

function enqueue(s: QueueState, out: Out, cmd: Extract<MmCommand, { type: 'enqueue' }>, ctx: MmCtx): MmDecision {
  const c = s.config;
  const players = cmd.players;
  if (s.tickets.has(cmd.ticketId)) return fail('BAD_REQUEST', 'a ticket with this id exists');
  const ids = new Set(players.map((p) => p.userId));
  if (ids.size !== players.length) return fail('BAD_REQUEST', 'a player appears twice in the ticket');
  if (players.some((p) => !Number.isFinite(p.rating))) return fail('BAD_REQUEST', 'a rating is not a finite number');
  if (players.some((p) => s.byUser.has(p.userId))) return fail('IN_MATCHMAKING');
  if (cmd.partyId !== undefined && s.byOwner.has(`party:${cmd.partyId}`)) return fail('IN_MATCHMAKING', 'the party has a ticket already');
  if (cmd.gameId !== undefined && s.byOwner.has(`game:${cmd.gameId}`)) return fail('IN_MATCHMAKING', 'the game\'s team has a ticket already');
  if (c.requiredAttributes.some((a) => players.some((p) => !Object.hasOwn(p.attributes, a)))) return fail('MISSING_ATTRIBUTES');
  if (!s.sizes.includes(players.length)) return fail('PARTY_SIZE_NOT_ALLOWED', `the queue takes tickets of ${s.sizes.join(', ')} players`);
  if (c.uniqueAttribute !== undefined) {
    const values = uniqValues(players, c.uniqueAttribute);
    if (new Set(values).size !== values.length) return fail('DUPLICATE_ATTRIBUTE');
  }
  if (c.sides) {
    const side = sideOf(players);
    if (side === -1) return fail('SIDE_CONFLICT');
    if (side === 2 && c.teams < 2) return fail('SIDE_CONFLICT', 'this queue has no side B');
  }
  if (c.maxLatencyMs !== undefined && regionsOf(players, c.maxLatencyMs).names.length === 0) {
    return fail('BAD_REQUEST', `no region where every player's latency is at most ${c.maxLatencyMs} ms`);
  }
  const ticket: Ticket = { id: cmd.ticketId, queue: c.name, players, queuedAt: ctx.now, status: 'queued' };
  if (cmd.partyId !== undefined) ticket.partyId = cmd.partyId;
  if (cmd.gameId !== undefined) ticket.gameId = cmd.gameId;
  return out.emit({ ev: 'ticket.queued', queue: c.name, version: out.next(), ticket }).done();
}

/** Ends an accept phase whose deadline passed: tickets with a player who did not accept are cancelled, the others requeued. */
function deadline(s: QueueState, out: Out, m: Match): void {
  const accepted = new Set(m.accepted);
  const late = new Set<string>();
  for (const t of ticketsOf(s, m)) if (t.players.some((p) => !accepted.has(p.userId))) late.add(t.id);
  breakMatch(s, out, m, late, 'acceptTimeout');
}

/** A failed accept phase: `guilty` tickets are cancelled with `reason`, every other ticket returns to the queue. */
function breakMatch(s: QueueState, out: Out, m: Match, guilty: Set<string>, reason: string): void {
  const q = s.config.name;
  const tickets = ticketsOf(s, m);
  const cancelled = tickets.filter((t) => guilty.has(t.id)).map((t) => t.id);
  const requeued = tickets.filter((t) => !guilty.has(t.id)).map((t) => t.id);
  out.emit({ ev: 'match.failed', queue: q, version: out.next(), match: m, reason, cancelled, requeued });
  for (const t of tickets) {
    if (guilty.has(t.id)) {
      out.emit({ ev: 'ticket.cancelled', queue: q, version: out.next(), ticket: t, reason });
    } else {
      out.emit({ ev: 'ticket.requeued', queue: q, version: out.next(), ticket: withStatus(t, 'queued'), matchId: m.id });
    }
  }
}

function tick(s: QueueState, out: Out, ctx: MmCtx): MmDecision {
  const c = s.config;
  const l = s.limits;
  const now = ctx.now;
  // 1. Accept phases past their deadline (the timer may have been lost with a node).
  for (const m of s.matches.values()) {
    if (m.acceptBy > now) break;
    deadline(s, out, m);
  }
  // 2. Timeouts. Queue order is queuedAt order (requeued tickets keep their place).
  const gone = new Taken(s.index);
  let timeouts = 0;
  const order = s.index.order;
  for (let i = s.index.head; i < order.length; i++) {
    const e = order[i]!;
    const t = e.ticket;
    if (t.queuedAt + c.maxWaitMs > now || timeouts >= l.maxTimeoutsPerTick) break;
    if (!e.live || e.found) continue; // gone, or in an accept phase: not timed out meanwhile
    timeouts++;
    gone.add(e);
    out.emit({ ev: 'ticket.timedOut', queue: c.name, version: out.next(), ticket: t, reason: 'MM_TIMEOUT' });
  }
  // 3. Matching, oldest anchor first.
  const starts = new Map<Lane, Int32Array>();
  const budget: Budget = { left: l.workPerTick };
  let visits = 0;
  let anchors = 0;
  let matches = 0;
  let players = 0;
  for (let i = s.index.head; i < order.length; i++) {
    const anchor = order[i]!;
    if (!anchor.live) continue; // removed, awaiting compaction (at most a quarter of the order)
    if (players >= l.maxPlayersPerTick || matches >= l.maxMatchesPerTick || anchors >= l.maxAnchorsPerTick || visits++ >= l.maxVisitsPerTick || budget.left <= 0) break;
    if (anchor.found || gone.has(anchor)) continue;
    const t = anchor.ticket;
    anchors++;
    const w = windowOf(c, now - t.queuedAt);
    // The anchor's lanes: its regions, best first (at most lanesPerAnchor), or the one lane.
    let pick: Pick | null = null;
    const regions = anchor.regions ? anchor.regions.names : [''];
    for (let r = 0; r < regions.length && r < l.lanesPerAnchor && !pick && budget.left > 0; r++) {
      const lane = s.index.lanes.get(regions[r]!)!;
      let laneStarts = starts.get(lane);
      if (!laneStarts) starts.set(lane, (laneStarts = new Int32Array(lane.buckets.length)));
      pick = search(c, l, new Candidates(s, lane, anchor, w, gone, laneStarts, budget), w, budget);
    }
    if (!pick) continue;
    matches++;
    players += c.teams * c.teamSize;
    const tickets = bySeq(pick.teams);
    const match: Match = {
      id: ctx.newId(),
      queue: c.name,
      ticketIds: tickets.map((e) => e.id),
      teams: pick.teams.map(userIdsOf),
      foundAt: now,
      acceptBy: now + c.acceptTimeoutMs,
      accepted: [],
      ...(pick.region !== undefined && { region: pick.region }),
    };
    for (const e of tickets) gone.add(e);
    const found = tickets.map((e) => withStatus(e.ticket, 'found', match.id));
    out.emit({ ev: 'match.found', queue: c.name, version: out.next(), match, tickets: found });
    out.timers.push({ afterMs: c.acceptTimeoutMs, command: { type: 'acceptDeadline', matchId: match.id } });
  }
  return out.done();
}

// ---------------------------------------------------------------- helpers

/** Collects a decision's events with consecutive versions. */
class Out {
  readonly events: MmEvent[] = [];
  readonly timers: MmTimer[] = [];
  private v: number;
  constructor(s: QueueState) {
    this.v = s.version;
  }
  next(): number {
    return ++this.v;
  }
  emit(e: MmEvent): this {
    this.events.push(e);
    return this;
  }
  done(): MmDecision {
    return { ok: true, events: this.events, timers: this.timers };
  }
}

/** A copy of a ticket with another status (and match, for found). */
function withStatus(t: Ticket, status: Ticket['status'], matchId?: string): Ticket {
  const out: Ticket =
    matchId === undefined
      ? { id: t.id, queue: t.queue, players: t.players, queuedAt: t.queuedAt, status }
      : { id: t.id, queue: t.queue, players: t.players, queuedAt: t.queuedAt, status, matchId };
  if (t.partyId !== undefined) out.partyId = t.partyId;
  if (t.gameId !== undefined) out.gameId = t.gameId;
  return out;
}

function withAccepted(m: Match, userId: string): Match {
  const out: Match = { id: m.id, queue: m.queue, ticketIds: m.ticketIds, teams: m.teams, foundAt: m.foundAt, acceptBy: m.acceptBy, accepted: [...m.accepted, userId] };
  if (m.region !== undefined) out.region = m.region;
  return out;
}

export function matchOf(s: QueueState, t: Ticket): Match {
  const m = t.matchId === undefined ? undefined : s.matches.get(t.matchId);
  if (!m) throw new Error(`found ticket ${t.id} has no live match`); // an invariant, checked by the property tests
  return m;
}

export function ticketsOf(s: QueueState, m: Match): Ticket[] {
  return m.ticketIds.map((id) => {
    const t = s.tickets.get(id);
    if (!t) throw new Error(`match ${m.id} lost ticket ${id}`);
    return t;
  });
}

function userIdsOf(team: Entry[]): string[] {
  const out: string[] = [];
  for (const e of team) for (const p of e.ticket.players) out.push(p.userId);
  return out;
}

const playerCount = (m: Match) => m.teams.reduce((n, team) => n + team.length, 0);
