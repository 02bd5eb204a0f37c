/** Sets of entries ordered by (createdAt, id): chunks of packed slots, and buckets of them by a small integer key. */
import { Entry } from './entry.js';

/**
 * Entries by slot. Ordered sets hold slots (small integers) rather than
 * references: shifting packed integer arrays is a plain memmove, with no GC
 * write barriers, which keeps re-filing a game cheap.
 */
export type Tab = Entry[];

/** Called with each entry's slot and meta word; returns false to stop. */
export type Visit = (slot: number, meta: number) => boolean;

const CHUNK_MAX = 512;
/** Numbers per item in a chunk: createdAt, then slot and meta word packed as slot · 2^28 + meta. */
const W = 2;
const PACK = 2 ** 28;
const UNPACK = 1 / PACK;
/** Slots must stay below this for the packing to be exact (2^53 / 2^28). */
export const MAX_SLOTS = 2 ** 25;
const slotOf = (x: number): number => Math.floor(x * UNPACK);

/**
 * A sorted run of at most CHUNK_MAX entries as one Float64Array of
 * (createdAt, slot·2^28 + meta) pairs: searches read contiguous numbers (ids
 * only on equal createdAt), scans can reject on `meta` without touching
 * entries, and an insert or delete is a native memmove (copyWithin), with no
 * allocation and no GC write barriers. Capacity doubles as needed.
 */
class Chunk {
  a: Float64Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Float64Array(W * cap);
  }
  /** First position whose key is ≥ (c, id), or > with `after`. */
  search(tab: Tab, c: number, id: string, after: boolean): number {
    const a = this.a;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = a[W * mid]!;
      if (x < c || (x === c && (after ? tab[slotOf(a[W * mid + 1]!)]!.id <= id : tab[slotOf(a[W * mid + 1]!)]!.id < id))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  insertAt(p: number, e: Entry): void {
    let a = this.a;
    if (W * this.n === a.length) {
      const b = new Float64Array(2 * a.length);
      b.set(a);
      this.a = a = b;
    }
    if (p < this.n) a.copyWithin(W * p + W, W * p, W * this.n);
    a[W * p] = e.c;
    a[W * p + 1] = e.slot * PACK + e.meta;
    this.n++;
  }
  deleteAt(p: number): void {
    this.n--;
    if (p < this.n) this.a.copyWithin(W * p, W * p + W, W * this.n + W);
  }
  /** Moves the upper half into a new chunk and returns it. */
  split(): Chunk {
    const h = this.n >>> 1;
    const right = new Chunk(CHUNK_MAX);
    right.a.set(this.a.subarray(W * h, W * this.n));
    right.n = this.n - h;
    this.n = h;
    return right;
  }
  lastC(): number {
    return this.a[W * this.n - W]!;
  }
  lastSlot(): number {
    return slotOf(this.a[W * this.n - W + 1]!);
  }
}

/** First chunk whose last key is ≥ (c, id) (or > with `after`), or chunks.length. */
function searchChunks(lastC: readonly number[], lastS: readonly number[], tab: Tab, c: number, id: string, after: boolean): number {
  let lo = 0;
  let hi = lastC.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = lastC[mid]!;
    if (x < c || (x === c && (after ? tab[lastS[mid]!]!.id <= id : tab[lastS[mid]!]!.id < id))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Entries ordered by (createdAt, id): sorted chunks; `lastC`/`lastS` hold each chunk's last key. */
export class OrderedSet {
  private readonly chunks: Chunk[] = [];
  private readonly lastC: number[] = [];
  private readonly lastS: number[] = [];
  size = 0;

  constructor(private readonly tab: Tab) {}

  insert(e: Entry): void {
    const { chunks, lastC, lastS } = this;
    const n = chunks.length;
    this.size++;
    if (n === 0) {
      const ch = new Chunk(4);
      ch.insertAt(0, e);
      chunks.push(ch);
      lastC.push(e.c);
      lastS.push(e.slot);
      return;
    }
    let ci = searchChunks(lastC, lastS, this.tab, e.c, e.id, false);
    let ch: Chunk;
    if (ci === n) {
      // After everything (the usual case: the newest game): append.
      ci = n - 1;
      ch = chunks[ci]!;
      ch.insertAt(ch.n, e);
      lastC[ci] = e.c;
      lastS[ci] = e.slot;
    } else {
      ch = chunks[ci]!;
      ch.insertAt(ch.search(this.tab, e.c, e.id, false), e);
    }
    if (ch.n >= CHUNK_MAX) {
      const right = ch.split();
      chunks.splice(ci + 1, 0, right);
      lastC.splice(ci, 1, ch.lastC(), right.lastC());
      lastS.splice(ci, 1, ch.lastSlot(), right.lastSlot());
    }
  }

  /** Where `e` is: [chunk index, position], or undefined. */
  private find(e: Entry): [number, number] | undefined {
    const ci = searchChunks(this.lastC, this.lastS, this.tab, e.c, e.id, false);
    const ch = this.chunks[ci];
    if (ch === undefined) return undefined;
    const p = ch.search(this.tab, e.c, e.id, false);
    return p < ch.n && slotOf(ch.a[W * p + 1]!) === e.slot ? [ci, p] : undefined;
  }

  /** Rewrites the meta word stored for `e` (from e.meta). */
  setMeta(e: Entry): void {
    const at = this.find(e);
    if (at !== undefined) this.chunks[at[0]]!.a[W * at[1] + 1] = e.slot * PACK + e.meta;
  }

  delete(e: Entry): boolean {
    const at = this.find(e);
    if (at === undefined) return false;
    const [ci, p] = at;
    const { chunks, lastC, lastS } = this;
    const n = chunks.length;
    const ch = chunks[ci]!;
    this.size--;
    if (ch.n === 1) {
      chunks.splice(ci, 1);
      lastC.splice(ci, 1);
      lastS.splice(ci, 1);
      return true;
    }
    ch.deleteAt(p);
    if (p === ch.n) {
      lastC[ci] = ch.lastC();
      lastS[ci] = ch.lastSlot();
    }
    // Keep chunks from fragmenting: merge a small chunk with a neighbour when both fit in one.
    if (ch.n < CHUNK_MAX >>> 3) {
      const ni = ci + 1 < n ? ci + 1 : ci - 1;
      const nb = chunks[ni];
      if (nb !== undefined && nb.n + ch.n < CHUNK_MAX) {
        const lo = Math.min(ci, ni);
        const left = chunks[lo]!;
        const right = chunks[lo + 1]!;
        if (W * (left.n + right.n) > left.a.length) {
          const b = new Float64Array(W * CHUNK_MAX);
          b.set(left.a.subarray(0, W * left.n));
          left.a = b;
        }
        left.a.set(right.a.subarray(0, W * right.n), W * left.n);
        left.n += right.n;
        lastC[lo] = lastC[lo + 1]!;
        lastS[lo] = lastS[lo + 1]!;
        chunks.splice(lo + 1, 1);
        lastC.splice(lo + 1, 1);
        lastS.splice(lo + 1, 1);
      }
    }
    return true;
  }

  /** Visits entries in ascending order, starting after (c, id) when given; false when `visit` stopped. */
  forward(visit: Visit, c?: number, id?: string): boolean {
    const { chunks, tab } = this;
    let ci = 0;
    let p = 0;
    if (c !== undefined && id !== undefined) {
      ci = searchChunks(this.lastC, this.lastS, tab, c, id, true);
      if (ci === chunks.length) return true;
      p = chunks[ci]!.search(tab, c, id, true);
    }
    for (; ci < chunks.length; ci++, p = 0) {
      const ch = chunks[ci]!;
      const a = ch.a;
      for (; p < ch.n; p++) {
        const x = a[W * p + 1]!;
        const slot = slotOf(x);
        if (!visit(slot, x - slot * PACK)) return false;
      }
    }
    return true;
  }

  /** Visits entries in descending order, starting before (c, id) when given; false when `visit` stopped. */
  backward(visit: Visit, c?: number, id?: string): boolean {
    const { chunks, tab } = this;
    let ci = chunks.length - 1;
    let p = ci >= 0 ? chunks[ci]!.n - 1 : -1;
    if (c !== undefined && id !== undefined) {
      ci = searchChunks(this.lastC, this.lastS, tab, c, id, false);
      if (ci === chunks.length) ci--;
      if (ci < 0) return true;
      p = chunks[ci]!.search(tab, c, id, false) - 1;
    }
    for (; ci >= 0; ci--, p = ci >= 0 ? chunks[ci]!.n - 1 : -1) {
      const a = chunks[ci]!.a;
      for (; p >= 0; p--) {
        const x = a[W * p + 1]!;
        const slot = slotOf(x);
        if (!visit(slot, x - slot * PACK)) return false;
      }
    }
    return true;
  }
}

/** Ordered sets per small integer value (player count, free seats). */
export class Buckets {
  constructor(private readonly tab: Tab) {}
  /** Values with a non-empty set, ascending. */
  readonly keys: number[] = [];
  private readonly sets = new Map<number, OrderedSet>();

  insert(k: number, e: Entry): void {
    let s = this.sets.get(k);
    if (s === undefined) {
      s = new OrderedSet(this.tab);
      this.sets.set(k, s);
      this.keys.splice(lowerBound(this.keys, k), 0, k);
    }
    s.insert(e);
  }

  setMeta(k: number, e: Entry): void {
    this.sets.get(k)?.setMeta(e);
  }

  delete(k: number, e: Entry): void {
    const s = this.sets.get(k);
    if (s === undefined || !s.delete(e) || s.size > 0) return;
    this.sets.delete(k);
    this.keys.splice(lowerBound(this.keys, k), 1);
  }

  /**
   * Visits buckets in ascending (`asc`) or descending value order, each bucket
   * by (createdAt, id) ascending; starts after cursor position (k, c, id) when given.
   */
  walk(asc: boolean, visit: Visit, skip: ((k: number) => boolean) | undefined, from?: { k: number; c: number; id: string }): boolean {
    const keys = this.keys;
    let i: number;
    if (from === undefined) i = asc ? 0 : keys.length - 1;
    else {
      i = lowerBound(keys, from.k);
      if (keys[i] === from.k) {
        if (!(skip?.(from.k) ?? false) && !this.sets.get(from.k)!.forward(visit, from.c, from.id)) return false;
        i = asc ? i + 1 : i - 1;
      } else if (!asc) i--;
    }
    for (; asc ? i < keys.length : i >= 0; asc ? i++ : i--) {
      const k = keys[i]!;
      if (skip?.(k) ?? false) continue;
      if (!this.sets.get(k)!.forward(visit)) return false;
    }
    return true;
  }
}

export function lowerBound(a: readonly number[], k: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
