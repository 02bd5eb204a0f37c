/** The candidates of one search: the rating index's buckets merged oldest first, within a budget. */
import { type Bucket, EPS, type Entry, type Lane, type QueueState, type RatingIndex, lowerBound } from './state.js';

// ---------------------------------------------------------------- candidates

/**
 * The entries a tick has taken (timed out or matched): a bitmap over the
 * sequence numbers of live entries, which span from the queue's head to the
 * last enqueued ticket — a few bits per ticket that entered the queue in the
 * last maxWaitMs. Decide never marks the entries themselves.
 */
export class Taken {
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
export function bySeq(teams: Entry[][]): Entry[] {
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
export interface Budget {
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
export class Candidates {
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
