/** A queue's types, its state and `applyQueue`, the only code that changes it (in place). */
import type { QueueConfig } from '@foyer/shared';
import type { Refusal } from '../kit.js';

// ---------------------------------------------------------------- types

export interface MmCtx {
  now: number;
  newId(): string;
}

export interface TicketPlayer {
  userId: string;
  name: string;
  /** The stored OpenSkill ordinal (mu − 3σ): what the queue matches on. */
  rating: number;
  /** The stored level, carried into the match's game. */
  level?: number;
  /** Round trip per region, ms; needed when the queue has `maxLatencyMs`. */
  latencies?: Record<string, number>;
  side: 'A' | 'B' | 'any';
  attributes: Record<string, string | number>;
}

export interface Ticket {
  id: string;
  queue: string;
  players: TicketPlayer[];
  partyId?: string;
  gameId?: string;
  queuedAt: number;
  status: 'queued' | 'found';
  matchId?: string;
}

export interface Match {
  id: string;
  queue: string;
  /** Oldest first. */
  ticketIds: string[];
  /** userIds per team; team 0 is side A, team 1 side B in a queue with sides. */
  teams: string[][];
  foundAt: number;
  acceptBy: number;
  /** userIds, in the order they accepted. */
  accepted: string[];
  /** Latency-limited queue: the shared region with the lowest worst latency. */
  region?: string;
}

/** Work bounds of one tick and of one search; see the header. */
export interface QueueLimits {
  /** Players put into matches per tick (the tick stops after the match that reaches it). */
  maxPlayersPerTick: number;
  maxMatchesPerTick: number;
  /** Searches (anchors tried) per tick. */
  maxAnchorsPerTick: number;
  /** Tickets walked in queue order looking for anchors, per tick (removed ones awaiting compaction not counted). */
  maxVisitsPerTick: number;
  maxTimeoutsPerTick: number;
  /** Index entries examined plus search nodes visited, per tick: the bound on a tick's CPU time. */
  workPerTick: number;
  /** Candidates a search may pull besides its anchor. */
  candidatesPerAnchor: number;
  /** Index entries one search may examine. */
  scanPerAnchor: number;
  /** Search nodes one search may visit. */
  searchNodesPerAnchor: number;
  /** Latency-limited queue: how many of its regions (best first) an anchor searches in. */
  lanesPerAnchor: number;
  /** Rating points per index bucket. */
  bucketWidth: number;
}

export const defaultLimits = (config: QueueConfig): QueueLimits => ({
  maxPlayersPerTick: 6000,
  maxMatchesPerTick: 1000,
  maxAnchorsPerTick: 3000,
  maxVisitsPerTick: 30_000,
  maxTimeoutsPerTick: 5000,
  workPerTick: 100_000,
  candidatesPerAnchor: Math.min(256, Math.max(24, 3 * config.teams * config.teamSize)),
  scanPerAnchor: 4096,
  searchNodesPerAnchor: 2000,
  lanesPerAnchor: 3,
  bucketWidth: 25,
});

/**
 * The rating index: internal, but replicas build the same one from the same
 * events. One lane per region (in a queue with `maxLatencyMs`: a ticket sits
 * in the lane of every region where all its players are within the limit),
 * or one lane `''` for all; a lane is rating buckets, each in queue order.
 */
export interface RatingIndex {
  readonly width: number;
  /** Lanes with live entries. */
  readonly lanes: Map<string, Lane>;
  readonly entries: Map<string, Entry>;
  /** Every entry in queue order from `head` on; removed ones (live = false) stay until compaction. */
  order: Entry[];
  head: number;
  /** Removed entries in order[head..]. */
  dead: number;
  /** Queue order of tickets (ties of `queuedAt` included). */
  seq: number;
}

export interface Lane {
  readonly region: string;
  /** By key ascending; a bucket stays when it empties (at most one per `bucketWidth` of the rating range). */
  readonly buckets: Bucket[];
  /** Live entries. */
  live: number;
}

export interface Bucket {
  readonly key: number;
  /** In queue order from `head` on; removed entries stay (live = false) until compaction. */
  items: Entry[];
  /** The first live entry (most tickets leave from the front). */
  head: number;
  /** Removed entries in items[head..]. */
  dead: number;
}

export interface Entry {
  readonly id: string;
  readonly seq: number;
  /** Sum and mean of the players' ratings. */
  readonly sum: number;
  readonly mean: number;
  readonly size: number;
  /** 0 any team, 1 team 0 only (side A), 2 team 1 only (side B). */
  readonly side: 0 | 1 | 2;
  /** Latency-limited queue: the regions where every player is within the limit, with the worst latency there. */
  readonly regions: Regions | null;
  /** Values of the queue's unique attribute among the ticket's players. */
  readonly uniq: readonly (string | number)[] | null;
  /** The ticket's bucket in each of its lanes. */
  readonly buckets: Bucket[];
  ticket: Ticket;
  live: boolean;
  found: boolean;
}

export interface QueueState {
  readonly config: QueueConfig;
  readonly limits: QueueLimits;
  /** Queue order (insertion); queued and found tickets. */
  readonly tickets: Map<string, Ticket>;
  /** Live accept phases, in creation order (= acceptBy order). */
  readonly matches: Map<string, Match>;
  /** userId → ticketId, for every player of every ticket. */
  readonly byUser: Map<string, string>;
  /** `party:<partyId>` / `game:<gameId>` → ticketId, for the tickets that have one. */
  readonly byOwner: Map<string, string>;
  /** allowedSizes(config), once. */
  readonly sizes: readonly number[];
  version: number;
  readonly index: RatingIndex;
}

export type MmCommand =
  | { type: 'enqueue'; ticketId: string; players: TicketPlayer[]; partyId?: string; gameId?: string }
  /** Any player of the ticket cancels it for all; while queued or found (ready tickets are gone: the service answers MATCH_STARTED). */
  | { type: 'cancel'; userId: string; reason: string }
  | { type: 'tick' }
  | { type: 'accept'; userId: string }
  | { type: 'decline'; userId: string }
  | { type: 'acceptDeadline'; matchId: string };

export interface MmTimer {
  afterMs: number;
  command: MmCommand;
}

export type MmDecision = { ok: true; events: MmEvent[]; timers: MmTimer[] } | Refusal;

/**
 * Internal events; `updatesOf` turns one into the `mm.status` TicketUpdates
 * of its tickets. Every event carries the queue version it produces (one more
 * than the last) and snapshots of the tickets it concerns.
 */
export type MmEvent =
  | { ev: 'ticket.queued'; queue: string; version: number; ticket: Ticket }
  | { ev: 'ticket.cancelled'; queue: string; version: number; ticket: Ticket; reason: string }
  | { ev: 'ticket.timedOut'; queue: string; version: number; ticket: Ticket; reason: 'MM_TIMEOUT' }
  /** Back to queued after a failed accept phase, keeping queuedAt and its place. */
  | { ev: 'ticket.requeued'; queue: string; version: number; ticket: Ticket; matchId: string }
  /** `tickets`: the match's tickets, now found. The caller schedules `acceptDeadline` (a timer of the decision). */
  | { ev: 'match.found'; queue: string; version: number; match: Match; tickets: Ticket[] }
  /** One player accepted; `match` is the match afterwards. */
  | { ev: 'match.accepted'; queue: string; version: number; match: Match; userId: string; tickets: Ticket[] }
  /** Everyone accepted: the tickets leave the queue; the service creates the game and issues keys. */
  | { ev: 'match.ready'; queue: string; version: number; match: Match; tickets: Ticket[] }
  /** The accept phase failed; `ticket.cancelled` and `ticket.requeued` events for every ticket of the match follow. */
  | { ev: 'match.failed'; queue: string; version: number; match: Match; reason: string; cancelled: string[]; requeued: string[] };

export const EPS = 1e-9;

// ---------------------------------------------------------------- state

export function newQueue(config: QueueConfig, limits: Partial<QueueLimits> = {}): QueueState {
  const l = { ...defaultLimits(config), ...limits };
  return {
    config,
    limits: l,
    tickets: new Map(),
    matches: new Map(),
    byUser: new Map(),
    byOwner: new Map(),
    sizes: allowedSizes(config),
    version: 0,
    index: { width: l.bucketWidth, lanes: new Map(), entries: new Map(), order: [], head: 0, dead: 0, seq: 0 },
  };
}

/** The ticket of a party (`party.go`), if any. */
export function ticketOfParty(s: QueueState, partyId: string): Ticket | undefined {
  const id = s.byOwner.get(`party:${partyId}`);
  return id === undefined ? undefined : s.tickets.get(id);
}

/** The ticket of a game's team (`game.queue`), if any. */
export function ticketOfGame(s: QueueState, gameId: string): Ticket | undefined {
  const id = s.byOwner.get(`game:${gameId}`);
  return id === undefined ? undefined : s.tickets.get(id);
}

/** The ticket of a user, if any (queued or found). */
export function ticketOf(s: QueueState, userId: string): Ticket | undefined {
  const id = s.byUser.get(userId);
  return id === undefined ? undefined : s.tickets.get(id);
}

/** The window a ticket that has waited `waitMs` gets. */
export function windowOf(config: QueueConfig, waitMs: number): number {
  const r = config.rating;
  return Math.min(r.initialWindow + (r.growthPerSec * Math.max(0, waitMs)) / 1000, r.maxWindow);
}

/** Party sizes the queue takes as one ticket. */
export function allowedSizes(config: QueueConfig): number[] {
  const sizes = config.partySizes ?? Array.from({ length: config.teamSize }, (_, i) => i + 1);
  return sizes.filter((n) => n >= 1 && n <= config.teamSize);
}

// ---------------------------------------------------------------- apply

/** Applies one event; mutates `s` in place and returns it (see the header). */
export function applyQueue(s: QueueState, e: MmEvent): QueueState {
  switch (e.ev) {
    case 'ticket.queued':
      addTicket(s, e.ticket);
      break;
    case 'ticket.cancelled':
    case 'ticket.timedOut':
      removeTicket(s, e.ticket.id);
      break;
    case 'ticket.requeued':
      replaceTicket(s, e.ticket, false);
      break;
    case 'match.found':
      for (const t of e.tickets) replaceTicket(s, t, true);
      s.matches.set(e.match.id, e.match);
      break;
    case 'match.accepted':
      s.matches.set(e.match.id, e.match);
      break;
    case 'match.ready':
      s.matches.delete(e.match.id);
      for (const id of e.match.ticketIds) removeTicket(s, id);
      break;
    case 'match.failed':
      s.matches.delete(e.match.id);
      break;
  }
  s.version = e.version;
  return s;
}

/** `seq`: the ticket's place in queue order; a restored ticket keeps the one it had. */
export function addTicket(s: QueueState, t: Ticket, seq = s.index.seq + 1): void {
  const ix = s.index;
  ix.seq = seq;
  s.tickets.set(t.id, t);
  for (const p of t.players) s.byUser.set(p.userId, t.id);
  if (t.partyId !== undefined) s.byOwner.set(`party:${t.partyId}`, t.id);
  if (t.gameId !== undefined) s.byOwner.set(`game:${t.gameId}`, t.id);
  let sum = 0;
  for (const p of t.players) sum += p.rating;
  const mean = sum / t.players.length;
  const regions = s.config.maxLatencyMs === undefined ? null : regionsOf(t.players, s.config.maxLatencyMs);
  const entry: Entry = {
    id: t.id,
    seq,
    sum,
    mean,
    size: t.players.length,
    side: s.config.sides ? sideCode(t.players) : 0,
    regions,
    uniq: s.config.uniqueAttribute === undefined ? null : uniqValues(t.players, s.config.uniqueAttribute),
    buckets: [],
    ticket: t,
    live: true,
    found: t.status === 'found',
  };
  const key = Math.floor(mean / ix.width);
  for (const region of regions ? regions.names : ['']) {
    let lane = ix.lanes.get(region);
    if (!lane) ix.lanes.set(region, (lane = { region, buckets: [], live: 0 }));
    lane.live++;
    const bucket = bucketFor(lane, key);
    bucket.items.push(entry);
    entry.buckets.push(bucket);
  }
  ix.entries.set(t.id, entry);
  ix.order.push(entry);
}

function replaceTicket(s: QueueState, t: Ticket, found: boolean): void {
  const entry = s.index.entries.get(t.id);
  if (!entry) return;
  s.tickets.set(t.id, t); // an existing key keeps its place in queue order
  entry.ticket = t;
  entry.found = found;
}

function removeTicket(s: QueueState, id: string): void {
  const t = s.tickets.get(id);
  if (!t) return;
  s.tickets.delete(id);
  for (const p of t.players) if (s.byUser.get(p.userId) === id) s.byUser.delete(p.userId);
  if (t.partyId !== undefined && s.byOwner.get(`party:${t.partyId}`) === id) s.byOwner.delete(`party:${t.partyId}`);
  if (t.gameId !== undefined && s.byOwner.get(`game:${t.gameId}`) === id) s.byOwner.delete(`game:${t.gameId}`);
  const ix = s.index;
  const entry = ix.entries.get(id);
  if (!entry) return;
  ix.entries.delete(id);
  entry.live = false;
  // Queue order: most tickets leave from the front.
  ix.dead++;
  while (ix.head < ix.order.length && !ix.order[ix.head]!.live) {
    ix.head++;
    ix.dead--;
  }
  const left = ix.order.length - ix.head;
  if (ix.dead > 1024 && ix.dead * 4 > left) {
    ix.order = ix.order.slice(ix.head).filter((x) => x.live);
    ix.head = 0;
    ix.dead = 0;
  } else if (ix.head > 1024 && ix.head > left) {
    ix.order = ix.order.slice(ix.head);
    ix.head = 0;
  }
  const regions = entry.regions ? entry.regions.names : [''];
  for (let k = 0; k < entry.buckets.length; k++) {
    const lane = ix.lanes.get(regions[k]!)!;
    // A lane with no live entry goes: region names come from clients and must not pile up.
    if (--lane.live === 0) ix.lanes.delete(lane.region);
    const b = entry.buckets[k]!;
    b.dead++;
    while (b.head < b.items.length && !b.items[b.head]!.live) {
      b.head++;
      b.dead--;
    }
    const live = b.items.length - b.head;
    if (live === 0) {
      b.items = [];
      b.head = 0;
      b.dead = 0;
    } else if (b.dead > 16 && b.dead * 4 > live) {
      b.items = b.items.slice(b.head).filter((x) => x.live);
      b.head = 0;
      b.dead = 0;
    } else if (b.head > 64 && b.head > live) {
      b.items = b.items.slice(b.head);
      b.head = 0;
    }
  }
}

export function bucketFor(lane: Lane, key: number): Bucket {
  const list = lane.buckets;
  const i = lowerBound(list, key);
  const found = list[i];
  if (found && found.key === key) return found;
  const b: Bucket = { key, items: [], head: 0, dead: 0 };
  list.splice(i, 0, b);
  return b;
}

/** The first bucket with key ≥ `key`. */
export function lowerBound(list: Bucket[], key: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------- ticket properties

/** Ticket side code: 0 any, 1 A, 2 B; -1 when players want different sides. */
export function sideOf(players: readonly TicketPlayer[]): -1 | 0 | 1 | 2 {
  let side: 0 | 1 | 2 = 0;
  for (const p of players) {
    const c = p.side === 'A' ? 1 : p.side === 'B' ? 2 : 0;
    if (c === 0) continue;
    if (side !== 0 && side !== c) return -1;
    side = c;
  }
  return side;
}

const sideCode = (players: readonly TicketPlayer[]): 0 | 1 | 2 => {
  const s = sideOf(players);
  return s === -1 ? 0 : s;
};

/** Most regions kept per ticket (the best ones): junk region names cannot make a ticket costly. */
export const MAX_REGIONS_PER_TICKET = 16;

/** Regions, best first, with the worst latency of the ticket's (or match's) players in each: parallel arrays, short. */
export interface Regions {
  readonly names: readonly string[];
  readonly worst: readonly number[];
}

/** Regions where every player's latency is within `limit`, with the worst latency there; the best MAX_REGIONS_PER_TICKET. */
export function regionsOf(players: readonly TicketPlayer[], limit: number): Regions {
  const [first, ...rest] = players;
  const out: [string, number][] = [];
  if (!first?.latencies) return { names: [], worst: [] };
  for (const [region, ms] of Object.entries(first.latencies)) {
    let worst = ms;
    for (const p of rest) {
      const other = p.latencies && Object.hasOwn(p.latencies, region) ? p.latencies[region] : undefined;
      worst = other === undefined ? Infinity : Math.max(worst, other);
    }
    if (worst <= limit) out.push([region, worst]);
  }
  out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const best = out.slice(0, MAX_REGIONS_PER_TICKET);
  return { names: best.map((r) => r[0]), worst: best.map((r) => r[1]) };
}

/** The regions of both, with the worse latency of the two. */
export function intersect(a: Regions, b: Regions): Regions {
  const names: string[] = [];
  const worst: number[] = [];
  for (let i = 0; i < a.names.length; i++) {
    const j = b.names.indexOf(a.names[i]!);
    if (j < 0) continue;
    names.push(a.names[i]!);
    worst.push(Math.max(a.worst[i]!, b.worst[j]!));
  }
  return { names, worst };
}

export function uniqValues(players: readonly TicketPlayer[], key: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const p of players) if (Object.hasOwn(p.attributes, key)) out.push(p.attributes[key]!);
  return out;
}
