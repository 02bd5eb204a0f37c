/** A queue as plain JSON and back, for a replica that cannot replay events. */
import type { QueueConfig } from '@foyer/shared';
import { type Entry, type Match, type QueueLimits, type QueueState, type Ticket, addTicket, bucketFor, newQueue } from './state.js';

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
