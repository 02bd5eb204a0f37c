/**
 * One matchmaking queue, as a pure entity (SEEDS §1 "start (PvP)", §3), with
 * the decide/apply split of `game.ts`: `decideQueue` checks a command against
 * the state and answers with events and timers, changing nothing;
 * `applyQueue` is the only code that changes the state. No timers, no clock,
 * no randomness: time and ids come in through `ctx`; the accept deadline is a
 * timer the caller schedules (and `tick` ends overdue accept phases too, so a
 * queue taken over from a replica, without its timers, still ends them).
 * Events are plain JSON-safe data: a replica fed them rebuilds the same state,
 * index included. A node that cannot (it missed events, joins late, or takes
 * the queue over) restores a `QueueSnapshot` instead.
 *
 * Tickets. A ticket is one player, a party (`partyId`) or a game's team
 * (`gameId`); it is never split: all its players go to one team. Its rating
 * is the mean of its players' ratings. `state.tickets` holds every ticket of
 * the queue — queued, or found (in an accept phase) — in queue order; a
 * ticket that returns to the queue after a failed accept phase keeps its
 * place and its `queuedAt`. Found tickets leave when their match is ready
 * (the service then creates the game) or when they are cancelled. A player
 * is in at most one ticket, a ticket in at most one match, a party or game
 * has at most one ticket. The players handed to `enqueue` are kept as they
 * are (not copied): hand over objects nobody changes afterwards.
 *
 * Matching, on `tick`:
 *  1. accept phases past `acceptBy` end as on `acceptDeadline`;
 *  2. queued tickets older than `maxWaitMs` time out (`MM_TIMEOUT`);
 *  3. oldest first, each queued ticket not yet matched this tick anchors a
 *     search. Its window is `min(initialWindow + growthPerSec × its wait in
 *     seconds, maxWindow)`. Candidates are the oldest queued tickets whose
 *     rating is within the window of the anchor's, found through a rating
 *     index: buckets of `bucketWidth` rating points, each in queue order,
 *     merged oldest first with a small heap, pulled only as the search needs
 *     them. In a queue with `maxLatencyMs` the index has one lane per region
 *     (a ticket is in the lane of each region where all its players are
 *     within the limit), and the anchor searches the lanes of its own
 *     regions, best first (at most `lanesPerAnchor`), so every candidate
 *     shares that region. A depth-first search takes the anchor and then
 *     candidates oldest first, placing each whole ticket in the team with the
 *     lowest rating sum that has room for it (or leaving it out), keeping
 *     sides (team 0 is side A, team 1 side B, others `any` only) and the
 *     unique attribute, and backtracking when sizes do not pack exactly (it
 *     prunes when the candidates left cannot fill the room left, per side).
 *     When every team is full, it evens the teams out by swapping tickets of
 *     equal size between the strongest and the weakest team, and takes the
 *     match if the team means then differ by at most the window; else it
 *     searches on. The match's region is the one all its players share with
 *     the lowest worst latency. No match: the next oldest ticket anchors.
 *  Tickets that went back to the queue in step 1 are matched from the next
 *  tick on.
 *
 * Bounded work per tick (`QueueLimits`, defaults in `defaultLimits`): at most
 * `maxTimeoutsPerTick` timeouts (the others time out on the next ticks);
 * matching stops after `maxPlayersPerTick` players or `maxMatchesPerTick`
 * matches, `maxAnchorsPerTick` searches, `maxVisitsPerTick` tickets walked in
 * queue order, or `workPerTick` units of work — an index entry examined, a
 * bucket opened or a search node visited is one unit, 50–250 ns each. One
 * search examines at most `scanPerAnchor` entries, pulls at most
 * `candidatesPerAnchor` candidates and visits at most `searchNodesPerAnchor`
 * nodes. What is not counted is O(1) per entry per tick: skipping, once per
 * tick, the entries at the head of each bucket already taken this tick. So a
 * tick's cost does not grow with the queue; a queue where nothing can match
 * (say, only parties of 2 and 4 for teams of 5) costs its full budget on
 * every tick and nothing more.
 *
 * Accept phase. A found match waits `acceptTimeoutMs` for every player's
 * accept (an accept counts until the deadline has been processed); the last
 * accept makes it ready. A decline, a cancel (by any player of a found
 * ticket) or the deadline breaks it:
 *  - decline / cancel: the decliner's (canceller's) ticket is cancelled
 *    (reason `declined`, or the cancel's reason); every other ticket of the
 *    match returns to the queue, whether its players had accepted yet or not
 *    — they did nothing wrong;
 *  - deadline: each ticket with a player who did not accept is cancelled
 *    (reason `acceptTimeout`); the tickets whose players all accepted return
 *    to the queue.
 * Tickets returning to the queue keep their `queuedAt`: their window and
 * their place in line.
 *
 * Mutation: `applyQueue` changes `state` in place (its Maps and index) and
 * returns the same object — a queue holds 100k tickets and copying it per
 * event is out of the question. `Ticket` and `Match` objects are never
 * changed once made, only replaced, so those held by events or read earlier
 * stay valid snapshots. `decideQueue` changes nothing (the property test
 * checks it).
 */
import { errorCodes } from '@foyer/shared';
import type { ErrorCode, QueueConfig, TicketUpdate } from '@foyer/shared';

// ---------------------------------------------------------------- types

export interface MmCtx {
  now: number;
  newId(): string;
}

export interface TicketPlayer {
  userId: string;
  name: string;
  rating: number;
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

export type MmDecision = { ok: true; events: MmEvent[]; timers: MmTimer[] } | { ok: false; code: ErrorCode; message: string };

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

const EPS = 1e-9;

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
function addTicket(s: QueueState, t: Ticket, seq = s.index.seq + 1): void {
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

function bucketFor(lane: Lane, key: number): Bucket {
  const list = lane.buckets;
  const i = lowerBound(list, key);
  const found = list[i];
  if (found && found.key === key) return found;
  const b: Bucket = { key, items: [], head: 0, dead: 0 };
  list.splice(i, 0, b);
  return b;
}

/** The first bucket with key ≥ `key`. */
function lowerBound(list: Bucket[], key: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------- snapshot

/**
 * A queue's state as plain JSON (`snapshotQueue`), for a node that cannot
 * rebuild it from events: a replica that missed some (a gap in `version`),
 * one that joins late, or one that takes the queue over from a dead owner.
 * `restoreQueue` rebuilds a state that decides exactly as the original would
 * from then on. Besides tickets and matches that takes two things the events
 * leave implicit:
 *  - each ticket's `seq`, its place in queue order: among tickets of the
 *    same `queuedAt`, the one that anchors first and wins candidates; the
 *    next ticket's comes after the last one given, and `lanes` names
 *    entries by it;
 *  - the layout of the rating index: the buckets that emptied but stay, and
 *    the removed entries a bucket still holds until it compacts. A search
 *    pays one unit of work for each, so a tick whose budget runs out (a big
 *    queue) stops at the same place only if they are there.
 * Not kept: the removed entries of the index's queue order (a tick skips
 * them without cost, and they never end the timeout scan first: queue order
 * is `queuedAt` order), and the limits (a node's own; `bucketWidth` only
 * tells the units of `lanes`).
 */
export interface QueueSnapshot {
  queue: string;
  version: number;
  /** Queue order: queued and found tickets, each with its `seq`. */
  tickets: { seq: number; ticket: Ticket }[];
  /** Live accept phases, in creation order (= acceptBy order: a tick ends overdue ones from the front). */
  matches: Match[];
  /** The last seq given: the next ticket gets `seq + 1`. */
  seq: number;
  /** The index's bucket width; `lanes` is in its units. */
  bucketWidth: number;
  /** Per lane (by region), its buckets (key ascending, empty ones included) as [key, seqs of its entries from its head, 0 for a removed one]. */
  lanes: { region: string; buckets: [key: number, seqs: number[]][] }[];
}

/** The queue's state as plain JSON. It shares the Ticket and Match objects, which are never changed (see the header). */
export function snapshotQueue(s: QueueState): QueueSnapshot {
  const ix = s.index;
  return {
    queue: s.config.name,
    version: s.version,
    tickets: [...s.tickets.values()].map((ticket) => ({ seq: ix.entries.get(ticket.id)!.seq, ticket })),
    matches: [...s.matches.values()],
    seq: ix.seq,
    bucketWidth: ix.width,
    // By region: the lanes' Map order is history (which ticket came first), never read.
    lanes: [...ix.lanes.values()]
      .sort((a, b) => (a.region < b.region ? -1 : 1))
      .map((lane) => ({
        region: lane.region,
        buckets: lane.buckets.map((b): [number, number[]] => [b.key, b.items.slice(b.head).map((e) => (e.live ? e.seq : 0))]),
      })),
  };
}

/**
 * The state a snapshot was taken of, for `config` (the queue's, as when the
 * snapshot was taken) and this node's `limits`. The tickets are indexed as
 * `ticket.queued` events index them, with their own seq; then each bucket
 * gets its removed entries back (and the empty buckets come back). Where
 * the layout does not fit the tickets — another `bucketWidth`, a config that
 * puts tickets in other lanes — the index stays as built: valid, only not
 * spending a tick's budget exactly as the original would.
 */
export function restoreQueue(config: QueueConfig, snap: QueueSnapshot, limits: Partial<QueueLimits> = {}): QueueState {
  if (snap.queue !== config.name) throw new Error(`a snapshot of queue ${snap.queue}, not of ${config.name}`);
  const s = newQueue(config, limits);
  const ix = s.index;
  for (const { seq, ticket } of snap.tickets) addTicket(s, ticket, seq);
  ix.seq = snap.seq;
  for (const m of snap.matches) s.matches.set(m.id, m);
  s.version = snap.version;
  if (snap.bucketWidth !== ix.width) return s;
  const bySeq = new Map(ix.order.map((e) => [e.seq, e]));
  for (const { region, buckets } of snap.lanes) {
    const lane = ix.lanes.get(region);
    if (!lane) continue;
    for (const [key, seqs] of buckets) {
      const b = bucketFor(lane, key);
      const items = seqs.map((seq) => (seq === 0 ? REMOVED : bySeq.get(seq)));
      const live = items.filter((e) => e !== REMOVED);
      // The live entries must be those addTicket put there, in the same order; only the removed ones are new.
      if (live.length !== b.items.length || live.some((e, i) => e !== b.items[i])) continue;
      b.items = items as Entry[];
      b.dead = items.length - live.length;
    }
  }
  return s;
}

/** A removed entry in a restored bucket: only `live` is read of an entry that is not live. */
const REMOVED: Entry = Object.freeze<Entry>({
  id: '',
  seq: 0,
  sum: 0,
  mean: 0,
  size: 0,
  side: 0,
  regions: null,
  uniq: null,
  buckets: [],
  ticket: { id: '', queue: '', players: [], queuedAt: 0, status: 'queued' },
  live: false,
  found: false,
});

// ---------------------------------------------------------------- ticket properties

/** Ticket side code: 0 any, 1 A, 2 B; -1 when players want different sides. */
function sideOf(players: readonly TicketPlayer[]): -1 | 0 | 1 | 2 {
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
function regionsOf(players: readonly TicketPlayer[], limit: number): Regions {
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
function intersect(a: Regions, b: Regions): Regions {
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

function uniqValues(players: readonly TicketPlayer[], key: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const p of players) if (Object.hasOwn(p.attributes, key)) out.push(p.attributes[key]!);
  return out;
}

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

// ---------------------------------------------------------------- candidates

/**
 * The entries a tick has taken (timed out or matched): a bitmap over the
 * sequence numbers of live entries, which span from the queue's head to the
 * last enqueued ticket — a few bits per ticket that entered the queue in the
 * last maxWaitMs. Decide never marks the entries themselves.
 */
class Taken {
  private readonly base: number;
  private readonly bits: Uint32Array;
  constructor(ix: RatingIndex) {
    this.base = ix.order[ix.head]?.seq ?? ix.seq;
    this.bits = new Uint32Array(((ix.seq - this.base + 1) >>> 5) + 1);
  }
  has(e: Entry): boolean {
    const i = e.seq - this.base;
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }
  add(e: Entry): void {
    const i = e.seq - this.base;
    this.bits[i >>> 5]! |= 1 << (i & 31);
  }
}

/** The tickets of a match, in queue order (a handful: insertion sort). */
function bySeq(teams: Entry[][]): Entry[] {
  const out: Entry[] = [];
  for (const team of teams) {
    for (const e of team) {
      let i = out.length;
      out.push(e);
      while (i > 0 && out[i - 1]!.seq > e.seq) {
        out[i] = out[i - 1]!;
        i--;
      }
      out[i] = e;
    }
  }
  return out;
}

/** What is left of a tick's work budget (index entries examined + search nodes). */
interface Budget {
  left: number;
}

interface Cursor {
  b: Bucket;
  i: number;
  seq: number;
}

/**
 * The anchor, then — pulled on demand by the search — the oldest queued
 * tickets of one lane (at most candidatesPerAnchor) other than the anchor,
 * not taken this tick, with a rating within `w` of the anchor's: a merge of
 * the lane's buckets the window spans, oldest first. `starts` remembers, per
 * bucket of the lane (by position) and for this tick, how much of its head is
 * taken or gone.
 */
class Candidates {
  readonly list: Entry[];
  /** prefix[i]: players in list[0..i-1]; prefixA / prefixB: those of side A / B tickets only. */
  readonly prefix: number[];
  readonly prefixA: number[];
  readonly prefixB: number[];
  exhausted = false;
  private readonly heap: Cursor[] = [];
  private readonly lo: number;
  private readonly hi: number;
  private scan: number;
  private readonly limit: number;

  constructor(
    s: QueueState,
    lane: Lane,
    private readonly anchor: Entry,
    w: number,
    private readonly gone: Taken,
    starts: Int32Array,
    private readonly budget: Budget,
  ) {
    this.list = [anchor];
    this.prefix = [0, anchor.size];
    this.prefixA = [0, anchor.side === 1 ? anchor.size : 0];
    this.prefixB = [0, anchor.side === 2 ? anchor.size : 0];
    this.lo = anchor.mean - w - EPS;
    this.hi = anchor.mean + w + EPS;
    this.scan = s.limits.scanPerAnchor;
    this.limit = s.limits.candidatesPerAnchor + 1;
    const width = s.index.width;
    const kHi = Math.floor(this.hi / width);
    const buckets = lane.buckets;
    for (let k = lowerBound(buckets, Math.floor(this.lo / width)); k < buckets.length; k++) {
      const b = buckets[k]!;
      if (b.key > kHi || --budget.left < 0) break;
      let start = Math.max(starts[k]!, b.head);
      const items = b.items;
      while (start < items.length) {
        const e = items[start]!;
        if (e.live && !e.found && !gone.has(e)) break;
        start++;
      }
      starts[k] = start;
      const i = this.next(b, start);
      if (i >= 0) heapPush(this.heap, { b, i, seq: items[i]!.seq });
    }
  }

  /** Index in `b` of its next eligible entry from `from`, or -1. */
  private next(b: Bucket, from: number): number {
    const items = b.items;
    for (let i = from; i < items.length; i++) {
      if (--this.scan < 0 || --this.budget.left < 0) return -1;
      const e = items[i]!;
      if (!e.live || e.found || e === this.anchor || e.mean < this.lo || e.mean > this.hi || this.gone.has(e)) continue;
      return i;
    }
    return -1;
  }

  /** Appends the next oldest candidate to `list`; false when there is none left (or the budget is spent). */
  more(): boolean {
    const h = this.heap;
    if (this.exhausted || h.length === 0 || this.list.length >= this.limit) {
      this.exhausted = true;
      return false;
    }
    const top = h[0]!;
    const e = top.b.items[top.i]!;
    this.list.push(e);
    const n = this.prefix.length - 1;
    this.prefix.push(this.prefix[n]! + e.size);
    this.prefixA.push(this.prefixA[n]! + (e.side === 1 ? e.size : 0));
    this.prefixB.push(this.prefixB[n]! + (e.side === 2 ? e.size : 0));
    const i = this.next(top.b, top.i + 1);
    if (i < 0) heapPop(h);
    else {
      top.i = i;
      top.seq = top.b.items[i]!.seq;
      siftDown(h, 0);
    }
    return true;
  }
}

function heapPush(h: Cursor[], c: Cursor): void {
  h.push(c);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]!.seq <= c.seq) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = c;
}

function heapPop(h: Cursor[]): void {
  const last = h.pop()!;
  if (h.length === 0) return;
  h[0] = last;
  siftDown(h, 0);
}

function siftDown(h: Cursor[], i: number): void {
  const c = h[i]!;
  const n = h.length;
  for (;;) {
    let m = 2 * i + 1;
    if (m >= n) break;
    if (m + 1 < n && h[m + 1]!.seq < h[m]!.seq) m++;
    if (h[m]!.seq >= c.seq) break;
    h[i] = h[m]!;
    i = m;
  }
  h[i] = c;
}

// ---------------------------------------------------------------- search

interface Pick {
  teams: Entry[][];
  region?: string;
}

/**
 * Depth-first over `list` (the anchor first, then candidates oldest first):
 * each ticket is placed whole in a team that has room (lowest rating sum
 * first) or, except the anchor, left out. A full set of teams is balanced by
 * swaps and accepted when its team means are within `w`.
 */
function search(c: QueueConfig, l: QueueLimits, cands: Candidates, w: number, budget: Budget): Pick | null {
  const T = c.teams;
  const size = c.teamSize;
  const list = cands.list;
  const cap: number[] = new Array<number>(T).fill(size);
  const sums: number[] = new Array<number>(T).fill(0);
  const members: Entry[][] = Array.from({ length: T }, () => []);
  const uniq: Set<string | number>[] | null = c.uniqueAttribute === undefined ? null : Array.from({ length: T }, () => new Set());
  let nodes = 0;
  let result: Pick | null = null;

  const fits = (e: Entry, t: number): boolean => {
    if (cap[t]! < e.size) return false;
    if (e.side === 1 ? t !== 0 : e.side === 2 ? t !== 1 : false) return false;
    if (uniq && e.uniq) for (const v of e.uniq) if (uniq[t]!.has(v)) return false;
    return true;
  };

  const leaf = (): boolean => {
    const teams = members.map((m) => [...m]);
    const gap = balance(c, teams, [...sums]);
    if (gap > w + EPS) return false;
    result = { teams };
    if (list[0]!.regions) {
      // Every ticket is in the lane's region; the best region they all share may be another.
      let regions = list[0]!.regions;
      for (const team of teams) for (const e of team) regions = intersect(regions, e.regions!);
      let best = 0;
      for (let k = 1; k < regions.names.length; k++) {
        const d = regions.worst[k]! - regions.worst[best]!;
        if (d < 0 || (d === 0 && regions.names[k]! < regions.names[best]!)) best = k;
      }
      result.region = regions.names[best]!;
    }
    return true;
  };

  /**
   * Once every candidate is known: can list[i..] still fill the room left?
   * In all (players), and per side: team 0 takes side A and any, team 1 side
   * B and any, other teams any only.
   */
  const coverable = (i: number, room: number): boolean => {
    const n = list.length;
    const all = cands.prefix[n]! - cands.prefix[i]!;
    if (all < room) return false;
    if (!c.sides) return true;
    const a = cands.prefixA[n]! - cands.prefixA[i]!;
    const b = cands.prefixB[n]! - cands.prefixB[i]!;
    const any = all - a - b;
    if (cap[0]! > any + a) return false;
    if (T > 1 && cap[1]! > any + b) return false;
    let others = 0;
    for (let t = 2; t < T; t++) others += cap[t]!;
    return others + Math.max(0, cap[0]! - a) + (T > 1 ? Math.max(0, cap[1]! - b) : 0) <= any;
  };

  const rec = (i: number, remaining: number): boolean => {
    if (remaining === 0) return leaf();
    if (i >= list.length && !cands.more()) return false;
    if (cands.exhausted && !coverable(i, remaining)) return false;
    if (++nodes > l.searchNodesPerAnchor || --budget.left < 0) return false;
    const e = list[i]!;
    // Teams with room, lowest rating sum first (then most room, then index): an insertion sort of at most 8.
    const teams: number[] = [];
    for (let t = 0; t < T; t++) {
      if (!fits(e, t)) continue;
      let j = teams.length;
      teams.push(t);
      while (j > 0) {
        const u = teams[j - 1]!;
        if (sums[u]! < sums[t]! || (sums[u] === sums[t] && cap[u]! >= cap[t]!)) break;
        teams[j] = u;
        j--;
      }
      teams[j] = t;
    }
    let triedEmpty = false;
    for (const t of teams) {
      if (!c.sides && cap[t] === size) {
        // Empty teams are interchangeable without sides: try one of them only.
        if (triedEmpty) continue;
        triedEmpty = true;
      }
      cap[t] = cap[t]! - e.size;
      sums[t] = sums[t]! + e.sum;
      members[t]!.push(e);
      if (uniq && e.uniq) for (const v of e.uniq) uniq[t]!.add(v);
      if (rec(i + 1, remaining - e.size)) return true;
      cap[t] = cap[t]! + e.size;
      sums[t] = sums[t]! - e.sum;
      members[t]!.pop();
      if (uniq && e.uniq) for (const v of e.uniq) uniq[t]!.delete(v);
      if (nodes > l.searchNodesPerAnchor || budget.left < 0) return false;
    }
    if (i === 0) return false; // the anchor is in, or there is no match
    return rec(i + 1, remaining);
  };

  return rec(0, T * size) ? result : null;
}

/**
 * Improves full teams in place by swapping equal-size tickets between the
 * strongest and the weakest team while the largest gap of team means shrinks
 * (sides and the unique attribute respected). Returns that gap.
 */
function balance(c: QueueConfig, teams: Entry[][], sums: number[]): number {
  const T = teams.length;
  const spread = (): [number, number, number] => {
    let hi = 0;
    let lo = 0;
    for (let t = 1; t < T; t++) {
      if (sums[t]! > sums[hi]!) hi = t;
      if (sums[t]! < sums[lo]!) lo = t;
    }
    return [hi, lo, sums[hi]! - sums[lo]!];
  };
  const sideOk = (e: Entry, t: number) => (e.side === 1 ? t === 0 : e.side === 2 ? t === 1 : true);
  const uniqOk = (e: Entry, team: Entry[], out: Entry): boolean => {
    if (!e.uniq || e.uniq.length === 0) return true;
    for (const x of team) if (x !== out && x.uniq) for (const v of x.uniq) if (e.uniq.includes(v)) return false;
    return true;
  };
  let [hi, lo, gap] = spread();
  for (let round = 0; round < 4 * c.teamSize && gap > EPS && T > 1; round++) {
    let best: [number, number] | null = null;
    let bestGap = gap;
    const A = teams[hi]!;
    const B = teams[lo]!;
    for (let x = 0; x < A.length; x++) {
      const ex = A[x]!;
      for (let y = 0; y < B.length; y++) {
        const ey = B[y]!;
        if (ex.size !== ey.size || ex.sum <= ey.sum || !sideOk(ex, lo) || !sideOk(ey, hi)) continue;
        const d = ex.sum - ey.sum;
        let max = Math.max(sums[hi]! - d, sums[lo]! + d);
        let min = Math.min(sums[hi]! - d, sums[lo]! + d);
        for (let t = 0; t < T; t++) {
          if (t === hi || t === lo) continue;
          max = Math.max(max, sums[t]!);
          min = Math.min(min, sums[t]!);
        }
        if (max - min < bestGap - EPS && (c.uniqueAttribute === undefined || (uniqOk(ex, B, ey) && uniqOk(ey, A, ex)))) {
          bestGap = max - min;
          best = [x, y];
        }
      }
    }
    if (!best) break;
    const [x, y] = best;
    const ex = A[x]!;
    const ey = B[y]!;
    A[x] = ey;
    B[y] = ex;
    sums[hi] = sums[hi]! - ex.sum + ey.sum;
    sums[lo] = sums[lo]! + ex.sum - ey.sum;
    [hi, lo, gap] = spread();
  }
  return gap / c.teamSize;
}

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

function matchOf(s: QueueState, t: Ticket): Match {
  const m = t.matchId === undefined ? undefined : s.matches.get(t.matchId);
  if (!m) throw new Error(`found ticket ${t.id} has no live match`); // an invariant, checked by the property tests
  return m;
}

function ticketsOf(s: QueueState, m: Match): Ticket[] {
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

function fail(code: ErrorCode, message: string = errorCodes[code]): MmDecision {
  return { ok: false, code, message };
}
