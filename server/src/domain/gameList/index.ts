/**
 * The game list of one lobby node: an in-memory index of the listed games
 * that answers `games.list`, `games.subscribe` and `games.quickJoin` from the
 * node's own copy (SEEDS §1: "a node answers a repeated browse from its own
 * up-to-date copy at once"). Pure: no I/O, no timers, no clock.
 *
 * Index design. Every game is one `Entry` (a flat copy of the fields filters
 * read) in a slot table. Entries sit in *scopes*: one for all games and one
 * per gameType, each split by status (any / open / inProgress). A scope keeps
 * three orders: all its entries by (createdAt, id), and two sets of buckets —
 * one per player count, one per free-seat count (small integers) — each
 * bucket ordered by (createdAt, id). Ordered sets are chunks of ≤ 512
 * (createdAt, slot + meta word) pairs in Float64Arrays: insert/delete is a
 * binary search plus a native memmove. A page is a walk from the cursor's
 * position in the narrowest scope the filter allows (gameType, status): the
 * meta word (status, free seat, password flags and a 24-bit bloom signature
 * of the attributes) rejects most non-matching games without touching their
 * entry, the full filter runs on the rest; at most MAX_SCAN are examined.
 * Quick join has its own per-gameType index of joinable games, bucketed by
 * (rounded mean level, rating band) cell and free seats: a search visits cells
 * in order of distance and stops when no nearer cell can exist.
 *
 * Summaries are stored by reference and returned as they are; treat them as
 * snapshots and upsert again after any change (the index keeps its own copy of
 * every field it files or filters by, so even a changed-in-place summary
 * upserted again is re-filed correctly).
 */
import type { GameFilter, GameSort, GameSummary } from '@foyer/shared';

/** A malformed cursor, or one made for another sort. The service answers BAD_REQUEST. */
export class CursorError extends Error {
  override name = 'CursorError';
}

type AttributeFilter = NonNullable<GameFilter['attributes']>[number];
type StatusClass = 'open' | 'inProgress';

/** Most games one `query` examines. A very selective filter may stop here with a short (even empty) page and a cursor to continue from the last examined game. */
export const MAX_SCAN = 10_000;
/** Most entries one `quickJoin` examines (candidates that fail the profile's level bounds, school or `exclude` count too). */
export const QUICK_JOIN_MAX_SCAN = 10_000;
/** How many candidates `quickJoin` returns at most. */
export const QUICK_JOIN_CANDIDATES = 10;
/** Quick join: this many rating points count as far as one level (see `quickJoinDistance`). */
export const RATING_BAND = 100;
export const MAX_LIMIT = 100;

const CURSOR_VERSION = 1;

// ---------------------------------------------------------------------------
// Filter

type Test = (e: Entry) => boolean;
type Attrs = Record<string, string | number>;

// One keyed read per attribute: values are strings or numbers, so whatever a
// missing key yields (undefined, or an Object.prototype member) fails eq, in
// and the comparisons and passes ne, as a missing attribute should.
function attributeTest(f: AttributeFilter): (attrs: Attrs) => boolean {
  const key = f.key;
  switch (f.op) {
    case 'eq': {
      const v = f.value;
      return (a) => a[key] === v;
    }
    case 'ne': {
      const v = f.value;
      return (a) => a[key] !== v;
    }
    case 'in': {
      const vs: unknown[] = f.value;
      return (a) => vs.includes(a[key]);
    }
    case 'lt': {
      const v = f.value;
      return (a) => {
        const x = a[key];
        return typeof x === 'number' && x < v;
      };
    }
    case 'le': {
      const v = f.value;
      return (a) => {
        const x = a[key];
        return typeof x === 'number' && x <= v;
      };
    }
    case 'gt': {
      const v = f.value;
      return (a) => {
        const x = a[key];
        return typeof x === 'number' && x > v;
      };
    }
    case 'ge': {
      const v = f.value;
      return (a) => {
        const x = a[key];
        return typeof x === 'number' && x >= v;
      };
    }
    default:
      // An operator this build does not know matches nothing rather than everything.
      return () => false;
  }
}

// Bloom-style signatures, so a scan rejects most games without reading their
// name or attributes: one bit per (attribute, value) pair in 24 bits (part of
// the meta word below), one bit per character trigram of the lower-cased name
// in 64 (two ints on the entry). A filter's required bits missing = cannot
// match; present = check for real.

function hashStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** The signature bit of one attribute value (strings and numbers differ: eq is strict). */
function attrBit(key: string, value: unknown): number {
  if (typeof value !== 'string' && typeof value !== 'number') return 0;
  let h = hashStr(0x811c9dc5, key);
  h = Math.imul(h ^ (typeof value === 'string' ? 1 : 2), 0x01000193);
  h = hashStr(h, typeof value === 'string' ? value : String(value));
  return 1 << (4 + (((h ^ (h >>> 15)) >>> 0) % 24));
}

function attrSig(attrs: Attrs): number {
  let sig = 0;
  for (const key in attrs) if (Object.hasOwn(attrs, key)) sig |= attrBit(key, attrs[key]);
  return sig;
}

/** Trigram bits of a lower-cased string, written into out[0] (bits 0–31) and out[1] (32–63). */
function trigrams(s: string, out: [number, number]): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i + 3 <= s.length; i++) {
    let h = Math.imul(s.charCodeAt(i), 0x9e3779b1) ^ Math.imul(s.charCodeAt(i + 1), 0x85ebca6b) ^ Math.imul(s.charCodeAt(i + 2), 0xc2b2ae35);
    h ^= h >>> 16;
    if (h & 32) hi |= 1 << (h & 31);
    else lo |= 1 << (h & 31);
  }
  out[0] = lo;
  out[1] = hi;
}

const scratch: [number, number] = [0, 0];

// An entry's meta word, kept beside it in every ordered set so a scan can
// reject most games without touching the entry at all: bits 0–1 status
// (0 closed, 1 open, 2 in progress), bit 2 a free seat, bit 3 a password,
// bits 4–27 the attribute signature.
const M_STATUS = 3;
const M_OPEN = 1;
const M_IN_PROGRESS = 2;
const M_FREE = 4;
const M_PASSWORD = 8;

function metaOf(g: GameSummary): number {
  const flags = (g.inProgress ? M_IN_PROGRESS : g.closed ? 0 : M_OPEN) | (g.freeSeats > 0 ? M_FREE : 0) | (g.hasPassword ? M_PASSWORD : 0);
  return attrSig(g.attributes) | flags;
}

type Compiled = {
  /** The whole filter, on an entry. */
  test: Test;
  /** A quick reject on the meta word: (meta & mask) !== want, or no bit of some `anyOf` mask. */
  mask: number;
  want: number;
  anyOf: number[];
};

/** Compiles a filter into a test on an entry's flat copy of the game's fields, and a quick reject on its meta word. */
function compile(filter: GameFilter): Compiled {
  const { gameType, hasFreeSeats, hasPassword, level } = filter;
  const status = filter.status ?? 'any';
  const needle = filter.nameContains === undefined ? undefined : filter.nameContains.toLowerCase();
  let n0 = 0;
  let n1 = 0;
  if (needle !== undefined) {
    trigrams(needle, scratch);
    [n0, n1] = scratch;
  }
  const filters = filter.attributes ?? [];
  let mask = 0;
  let want = 0;
  if (status !== 'any') {
    mask |= M_STATUS;
    want |= status === 'open' ? M_OPEN : M_IN_PROGRESS;
  }
  if (hasFreeSeats !== undefined) {
    mask |= M_FREE;
    if (hasFreeSeats) want |= M_FREE;
  }
  if (hasPassword !== undefined) {
    mask |= M_PASSWORD;
    if (hasPassword) want |= M_PASSWORD;
  }
  // Every eq needs its bit; every `in` needs one of its values' bits.
  const anyOf: number[] = [];
  for (const f of filters) {
    if (f.op === 'eq') {
      const bit = attrBit(f.key, f.value);
      mask |= bit;
      want |= bit;
    } else if (f.op === 'in') {
      const m = f.value.reduce<number>((m, v) => m | attrBit(f.key, v), 0);
      if (m !== 0) anyOf.push(m);
    }
  }
  const attrs = filters.map(attributeTest);
  const a0 = attrs[0];
  const a1 = attrs[1];
  const rest = attrs.slice(2);
  const test: Test = (e) => {
    if (gameType !== undefined && e.gameType !== gameType) return false;
    if (status === 'open' ? e.st !== 'open' : status === 'inProgress' && e.st !== 'inProgress') return false;
    if (hasFreeSeats !== undefined && e.fs > 0 !== hasFreeSeats) return false;
    if (hasPassword !== undefined && e.pw !== hasPassword) return false;
    if (level !== undefined && ((e.minL !== null && e.minL > level) || (e.maxL !== null && e.maxL < level))) return false;
    if (needle !== undefined && ((e.n0 & n0) !== n0 || (e.n1 & n1) !== n1 || !e.lname.includes(needle))) return false;
    if (a0 === undefined) return true;
    const a = e.attrs;
    if (!a0(a) || (a1 !== undefined && !a1(a))) return false;
    for (const t of rest) if (!t(a)) return false;
    return true;
  };
  return { test, mask: mask | 0, want: want | 0, anyOf };
}

/**
 * Whether a listed game passes a filter:
 * gameType equal; status `open` = not inProgress and not closed, `inProgress`,
 * `any`; hasFreeSeats true → freeSeats > 0, false → none free; hasPassword
 * equal; nameContains a case-insensitive substring; level within the game's
 * bounds (null = unbounded); every attribute filter holds — eq/ne strict
 * equality, lt/le/gt/ge only on number values, `in` membership; a missing
 * attribute fails eq, in and the comparisons and passes ne.
 */
export function matches(filter: GameFilter, game: GameSummary): boolean {
  return compile(filter).test(new Entry(game));
}

// ---------------------------------------------------------------------------
// Ordered sets

/**
 * One listed game, with flat copies of the fields filters and indexes read
 * (one object to touch per examined game). `c` and `id` never change for an
 * entry: they are its key everywhere. `pl`, `fs` and `st` are the values the
 * entry is filed under; `upsert` re-files before it refreshes them.
 */
class Entry {
  // What a scan reads first comes first (fewer cache lines per examined game).
  st: StatusClass | null;
  fs: number;
  pw: boolean;
  gameType: string;
  /** The meta word the entry is filed with (see metaOf); name trigram bits. */
  meta: number;
  n0: number;
  n1: number;
  minL: number | null;
  maxL: number | null;
  lname: string;
  attrs: Attrs;
  g: GameSummary;
  readonly id: string;
  readonly c: number;
  pl: number;
  name: string;
  qj: QjCell | null = null;
  qfs = 0;
  /** Index in the list's slot table; -1 when not listed. */
  slot = -1;
  constructor(g: GameSummary) {
    this.id = g.id;
    this.c = g.createdAt;
    this.g = g;
    this.gameType = g.gameType;
    this.name = g.name;
    this.lname = g.name.toLowerCase();
    trigrams(this.lname, scratch);
    this.n0 = scratch[0];
    this.n1 = scratch[1];
    this.attrs = g.attributes;
    this.meta = metaOf(g);
    this.pl = g.players;
    this.fs = g.freeSeats;
    this.st = statusOf(g);
    this.pw = g.hasPassword;
    this.minL = g.minLevel;
    this.maxL = g.maxLevel;
  }
  refresh(g: GameSummary): void {
    if (g.name !== this.name) {
      this.name = g.name;
      this.lname = g.name.toLowerCase();
      trigrams(this.lname, scratch);
      this.n0 = scratch[0];
      this.n1 = scratch[1];
    }
    this.attrs = g.attributes;
    this.g = g;
    this.gameType = g.gameType;
    this.pl = g.players;
    this.fs = g.freeSeats;
    this.st = statusOf(g);
    this.pw = g.hasPassword;
    this.minL = g.minLevel;
    this.maxL = g.maxLevel;
  }
}

/** Fills a free slot of the table. */
const VACANT = new Entry({
  id: '',
  name: '',
  gameType: '',
  ownerId: '',
  ownerName: '',
  players: 0,
  maxPlayers: 0,
  freeSeats: 0,
  spectators: 0,
  hasPassword: false,
  locked: false,
  closed: true,
  inProgress: false,
  friendsJoinOnly: false,
  startMode: 'manual',
  minLevel: null,
  maxLevel: null,
  school: null,
  attributes: {},
  meanLevel: 0,
  meanRating: 0,
  createdAt: 0,
  version: 0,
});

function statusOf(g: GameSummary): StatusClass | null {
  return g.inProgress ? 'inProgress' : g.closed ? null : 'open';
}

/** Order by (createdAt, id). */
function cmpKey(c: number, id: string, e: Entry): number {
  return c !== e.c ? (c < e.c ? -1 : 1) : id === e.id ? 0 : id < e.id ? -1 : 1;
}

/**
 * Entries by slot. Ordered sets hold slots (small integers) rather than
 * references: shifting packed integer arrays is a plain memmove, with no GC
 * write barriers, which keeps re-filing a game cheap.
 */
type Tab = Entry[];

/** Called with each entry's slot and meta word; returns false to stop. */
type Visit = (slot: number, meta: number) => boolean;

const CHUNK_MAX = 512;
/** Numbers per item in a chunk: createdAt, then slot and meta word packed as slot · 2^28 + meta. */
const W = 2;
const PACK = 2 ** 28;
const UNPACK = 1 / PACK;
/** Slots must stay below this for the packing to be exact (2^53 / 2^28). */
const MAX_SLOTS = 2 ** 25;
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
class OrderedSet {
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
class Buckets {
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

function lowerBound(a: readonly number[], k: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Scope {
  readonly created: OrderedSet;
  readonly players: Buckets;
  readonly freeSeats: Buckets;
  constructor(tab: Tab) {
    this.created = new OrderedSet(tab);
    this.players = new Buckets(tab);
    this.freeSeats = new Buckets(tab);
  }
  insert(e: Entry): void {
    this.created.insert(e);
    this.players.insert(e.pl, e);
    this.freeSeats.insert(e.fs, e);
  }
  delete(e: Entry): void {
    this.created.delete(e);
    this.players.delete(e.pl, e);
    this.freeSeats.delete(e.fs, e);
  }
  get size(): number {
    return this.created.size;
  }
}

/** A scope split by status: all games, open ones, in-progress ones (closed, not started games are only in `any`). */
class Partition {
  readonly any: Scope;
  readonly open: Scope;
  readonly inProgress: Scope;
  constructor(tab: Tab) {
    this.any = new Scope(tab);
    this.open = new Scope(tab);
    this.inProgress = new Scope(tab);
  }
  status(s: StatusClass): Scope {
    return s === 'open' ? this.open : this.inProgress;
  }
  insert(e: Entry): void {
    this.any.insert(e);
    if (e.st !== null) this.status(e.st).insert(e);
  }
  delete(e: Entry): void {
    this.any.delete(e);
    if (e.st !== null) this.status(e.st).delete(e);
  }
  /**
   * Re-files `e` (filed under e.pl/e.fs/e.st) under the values of `g`. e.meta
   * is already the new meta word: re-inserted copies take it, copies that
   * stay put are rewritten when it changed.
   */
  update(e: Entry, g: GameSummary, st: StatusClass | null, metaChanged: boolean): void {
    const scopes = [this.any];
    if (e.st !== st) {
      if (e.st !== null) this.status(e.st).delete(e);
    } else if (st !== null) scopes.push(this.status(st));
    for (const s of scopes) {
      if (e.pl !== g.players) {
        s.players.delete(e.pl, e);
        s.players.insert(g.players, e);
      } else if (metaChanged) s.players.setMeta(e.pl, e);
      if (e.fs !== g.freeSeats) {
        s.freeSeats.delete(e.fs, e);
        s.freeSeats.insert(g.freeSeats, e);
      } else if (metaChanged) s.freeSeats.setMeta(e.fs, e);
      if (metaChanged) s.created.setMeta(e);
    }
    if (e.st !== st && st !== null) {
      const s = this.status(st);
      s.created.insert(e);
      s.players.insert(g.players, e);
      s.freeSeats.insert(g.freeSeats, e);
    }
  }
}

// ---------------------------------------------------------------------------
// Quick join index

class QjCell {
  readonly free: Buckets;
  size = 0;
  constructor(
    tab: Tab,
    readonly levelBin: number,
    readonly ratingBin: number,
  ) {
    this.free = new Buckets(tab);
  }
}

class QjRow {
  readonly bins: number[] = [];
  readonly cells = new Map<number, QjCell>();
}

class QjType {
  readonly levels: number[] = [];
  readonly rows = new Map<number, QjRow>();
  size = 0;
  constructor(private readonly tab: Tab) {}

  add(e: Entry, g: GameSummary): void {
    const lb = levelBin(g.meanLevel);
    const rb = ratingBin(g.meanRating);
    let row = this.rows.get(lb);
    if (row === undefined) {
      row = new QjRow();
      this.rows.set(lb, row);
      this.levels.splice(lowerBound(this.levels, lb), 0, lb);
    }
    let cell = row.cells.get(rb);
    if (cell === undefined) {
      cell = new QjCell(this.tab, lb, rb);
      row.cells.set(rb, cell);
      row.bins.splice(lowerBound(row.bins, rb), 0, rb);
    }
    cell.free.insert(g.freeSeats, e);
    cell.size++;
    this.size++;
    e.qj = cell;
    e.qfs = g.freeSeats;
  }

  delete(e: Entry): void {
    const cell = e.qj;
    if (cell === null) return;
    e.qj = null;
    cell.free.delete(e.qfs, e);
    this.size--;
    if (--cell.size > 0) return;
    const row = this.rows.get(cell.levelBin)!;
    row.cells.delete(cell.ratingBin);
    row.bins.splice(lowerBound(row.bins, cell.ratingBin), 1);
    if (row.cells.size > 0) return;
    this.rows.delete(cell.levelBin);
    this.levels.splice(lowerBound(this.levels, cell.levelBin), 1);
  }
}

const finite = (x: number): number => (Number.isFinite(x) ? x : 0);
const levelBin = (meanLevel: number): number => Math.round(finite(meanLevel));
const ratingBin = (meanRating: number): number => Math.round(finite(meanRating) / RATING_BAND);

/** Joinable by quick join regardless of who asks: open, unlocked, no password, a free seat, not friends-only. */
function quickJoinable(g: GameSummary): boolean {
  return !g.inProgress && !g.closed && !g.locked && !g.hasPassword && g.freeSeats > 0 && !g.friendsJoinOnly;
}

/**
 * Quick join's distance between a player and a game, in whole steps:
 * |level − round(meanLevel)| + |round(rating / RATING_BAND) − round(meanRating / RATING_BAND)|,
 * i.e. one level counts as much as one band of RATING_BAND (100) rating points.
 * Games at equal distance rank fullest first (fewest free seats), then oldest
 * (createdAt, then id). Rounding makes near-equal fits ties on purpose, so the
 * fuller game wins them and games fill up instead of spreading players thin.
 */
export function quickJoinDistance(profile: { level: number; rating: number }, game: Pick<GameSummary, 'meanLevel' | 'meanRating'>): number {
  return Math.abs(Math.round(finite(profile.level)) - levelBin(game.meanLevel)) + Math.abs(ratingBin(profile.rating) - ratingBin(game.meanRating));
}

// ---------------------------------------------------------------------------
// Cursors

type CursorPos = { k: number; c: number; id: string };

function sortValue(by: GameSort['by'], g: GameSummary, e: Entry): number {
  return by === 'players' ? g.players : by === 'freeSeats' ? g.freeSeats : e.c;
}

function encodeCursor(sort: GameSort, e: Entry): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, sort.by, sort.order, sortValue(sort.by, e.g, e), e.c, e.id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: GameSort): CursorPos {
  if (cursor.length === 0 || cursor.length > 256 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new CursorError('malformed cursor');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('malformed cursor');
  }
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== CURSOR_VERSION) throw new CursorError('malformed cursor');
  const [, by, order, k, c, id] = v as unknown[];
  if (
    typeof by !== 'string' ||
    typeof order !== 'string' ||
    typeof k !== 'number' ||
    !Number.isFinite(k) ||
    typeof c !== 'number' ||
    !Number.isFinite(c) ||
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > 64 ||
    (by === 'created' && k !== c)
  )
    throw new CursorError('malformed cursor');
  if (by !== sort.by || order !== sort.order) throw new CursorError('cursor was made for another sort');
  return { k, c, id };
}

// ---------------------------------------------------------------------------

export type GameListQuery = { filter: GameFilter; sort: GameSort; limit: number; cursor?: string };
export type GameListPage = { games: GameSummary[]; cursor?: string };
export type QuickJoinProfile = { level: number; school?: string; rating: number };
export type SubscriptionChange = { subscriptionId: string; kind: 'added' | 'updated' | 'removed' };

type Subscription = { test: Test; gameType: string | undefined };

export class GameList {
  private readonly entries = new Map<string, Entry>();
  /** Entries by slot; freed slots are reused. */
  private readonly tab: Tab = [];
  private readonly freeSlots: number[] = [];
  private readonly all = new Partition(this.tab);
  private readonly byType = new Map<string, Partition>();
  private readonly qj = new Map<string, QjType>();
  private readonly subs = new Map<string, Subscription>();
  /** Subscriptions filtering on a gameType, by gameType; the others in `untypedSubs`. */
  private readonly typedSubs = new Map<string, Set<string>>();
  private readonly untypedSubs = new Set<string>();

  get size(): number {
    return this.entries.size;
  }

  get(gameId: string): GameSummary | undefined {
    return this.entries.get(gameId)?.g;
  }

  /** Adds a game or replaces it (same id). The service never upserts hidden games. */
  upsert(game: GameSummary): void {
    const e = this.entries.get(game.id);
    if (e === undefined || e.gameType !== game.gameType || e.c !== game.createdAt) {
      if (e !== undefined) this.remove(game.id);
      this.insert(game);
      return;
    }
    const st = statusOf(game);
    const meta = metaOf(game);
    const metaChanged = meta !== e.meta;
    e.meta = meta;
    this.all.update(e, game, st, metaChanged);
    this.byType.get(game.gameType)!.update(e, game, st, metaChanged);
    e.refresh(game);
    const join = quickJoinable(game);
    if (e.qj !== null && (!join || e.qfs !== game.freeSeats || e.qj.levelBin !== levelBin(game.meanLevel) || e.qj.ratingBin !== ratingBin(game.meanRating))) {
      const q = this.qj.get(game.gameType)!;
      q.delete(e);
      if (q.size === 0 && !join) this.qj.delete(game.gameType);
    }
    if (join && e.qj === null) this.qjType(game.gameType).add(e, game);
  }

  remove(gameId: string): void {
    const e = this.entries.get(gameId);
    if (e === undefined) return;
    this.entries.delete(gameId);
    this.all.delete(e);
    const type = e.gameType;
    const p = this.byType.get(type)!;
    p.delete(e);
    if (p.any.size === 0) this.byType.delete(type);
    if (e.qj !== null) {
      const q = this.qj.get(type)!;
      q.delete(e);
      if (q.size === 0) this.qj.delete(type);
    }
    // Unfiled everywhere: the slot may go (a removed game is not kept alive by the table).
    this.tab[e.slot] = VACANT;
    this.freeSlots.push(e.slot);
    e.slot = -1;
  }

  private insert(game: GameSummary): void {
    const e = new Entry(game);
    const slot = this.freeSlots.pop() ?? this.tab.length;
    if (slot >= MAX_SLOTS) throw new RangeError(`a GameList holds at most ${MAX_SLOTS - 1} games`);
    e.slot = slot;
    this.tab[slot] = e;
    this.entries.set(game.id, e);
    this.all.insert(e);
    let p = this.byType.get(game.gameType);
    if (p === undefined) {
      p = new Partition(this.tab);
      this.byType.set(game.gameType, p);
    }
    p.insert(e);
    if (quickJoinable(game)) this.qjType(game.gameType).add(e, game);
  }

  private qjType(type: string): QjType {
    let q = this.qj.get(type);
    if (q === undefined) {
      q = new QjType(this.tab);
      this.qj.set(type, q);
    }
    return q;
  }

  /**
   * One page of the games passing `filter`, in `sort` order.
   *
   * Sort orders are total: `created` is (createdAt, id), descending reverses
   * both; `players` and `freeSeats` order by that value ascending or
   * descending, ties always oldest first (createdAt, then id, ascending).
   *
   * Keyset paging: the cursor holds the sort and the position (sort value,
   * createdAt, id) the page ended at, and the next page starts strictly after
   * it, so a game that stays present and unchanged is returned exactly once
   * however others come, go or move. `cursor` is absent when the walk reached
   * the end. The walk examines at most MAX_SCAN games: for a filter that few
   * games pass, a page may hold fewer than `limit` games (even none) yet carry
   * a cursor, from the last examined game, to continue the search.
   * `limit` is clamped to 1..MAX_LIMIT. Throws CursorError for a malformed
   * cursor or one made for another sort.
   */
  query(q: GameListQuery): GameListPage {
    const filter = q.filter ?? { status: 'any' };
    const sort: GameSort = { by: q.sort?.by ?? 'created', order: q.sort?.order ?? 'desc' };
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(q.limit) || 1));
    const from = q.cursor === undefined ? undefined : decodeCursor(q.cursor, sort);
    const partition = filter.gameType === undefined ? this.all : this.byType.get(filter.gameType);
    if (partition === undefined) return { games: [] };
    const status = filter.status ?? 'any';
    const scope = status === 'any' ? partition.any : partition.status(status);

    const { test, mask, want, anyOf } = compile(filter);
    const any0 = anyOf[0] ?? 0;
    const anyRest = anyOf.slice(1);
    const tab = this.tab;
    const out: Entry[] = [];
    let scanned = 0;
    let last = -1;
    let more = false;
    let capped = false;
    const visit: Visit = (slot, meta) => {
      if (scanned === MAX_SCAN) {
        capped = true;
        return false;
      }
      scanned++;
      last = slot;
      // Most games fail on the meta word alone, without a look at the entry.
      if ((meta & mask) !== want || (any0 !== 0 && (meta & any0) === 0)) return true;
      for (const m of anyRest) if ((meta & m) === 0) return true;
      const e = tab[slot]!;
      if (!test(e)) return true;
      if (out.length === limit) {
        more = true;
        return false;
      }
      out.push(e);
      return true;
    };

    const asc = sort.order === 'asc';
    if (sort.by === 'created') {
      if (asc) scope.created.forward(visit, from?.c, from?.id);
      else scope.created.backward(visit, from?.c, from?.id);
    } else {
      const buckets = sort.by === 'players' ? scope.players : scope.freeSeats;
      const hfs = filter.hasFreeSeats;
      const skip = sort.by === 'freeSeats' && hfs !== undefined ? (k: number) => k > 0 !== hfs : undefined;
      buckets.walk(asc, visit, skip, from);
    }

    const page: GameListPage = { games: out.map((e) => e.g) };
    const end = more ? out[out.length - 1] : capped ? tab[last] : undefined;
    if (end !== undefined) page.cursor = encodeCursor(sort, end);
    return page;
  }

  /**
   * Candidates for quick join, best first, at most QUICK_JOIN_CANDIDATES:
   * games of `gameType` that are open (not in progress, not closed), not
   * locked, without password, with a free seat, not friends-only, whose level
   * bounds admit the player and whose school requirement is null or the
   * player's school, and not in `exclude`. Ranked by `quickJoinDistance`,
   * then fewest free seats, then oldest (createdAt, then id). Examines at
   * most QUICK_JOIN_MAX_SCAN entries.
   */
  quickJoin(gameType: string, profile: QuickJoinProfile, exclude?: ReadonlySet<string>): GameSummary[] {
    const index = this.qj.get(gameType);
    if (index === undefined) return [];
    const level = profile.level;
    const school = profile.school;
    const pl = Math.round(finite(level));
    const pr = ratingBin(profile.rating);
    const K = QUICK_JOIN_CANDIDATES;
    const best: { d: number; e: Entry }[] = [];
    let scanned = 0;
    const worst = (): number => (best.length < K ? Infinity : best[K - 1]!.d);
    /** Whether (d, e) ranks before (b.d, b.e). */
    const before = (d: number, e: Entry, b: { d: number; e: Entry }): boolean =>
      d !== b.d ? d < b.d : e.qfs !== b.e.qfs ? e.qfs < b.e.qfs : cmpKey(e.c, e.id, b.e) < 0;

    const tab = this.tab;
    const scanCell = (cell: QjCell, d: number): void => {
      cell.free.walk(true, (slot) => {
        if (scanned >= QUICK_JOIN_MAX_SCAN) return false;
        const e = tab[slot]!;
        scanned++;
        // The cell is walked in rank order: once one entry cannot make the list, none after it can.
        if (best.length === K && !before(d, e, best[K - 1]!)) return false;
        const g = e.g;
        if ((g.minLevel !== null && g.minLevel > level) || (g.maxLevel !== null && g.maxLevel < level)) return true;
        if (g.school !== null && g.school !== school) return true;
        if (exclude?.has(e.id) ?? false) return true;
        let i = best.length;
        while (i > 0 && before(d, e, best[i - 1]!)) i--;
        best.splice(i, 0, { d, e });
        if (best.length > K) best.pop();
        return true;
      }, undefined);
    };

    const scanRow = (row: QjRow, dl: number): void => {
      const bins = row.bins;
      let r = lowerBound(bins, pr);
      let l = r - 1;
      while ((l >= 0 || r < bins.length) && scanned < QUICK_JOIN_MAX_SCAN) {
        const dL = l >= 0 ? pr - bins[l]! : Infinity;
        const dR = r < bins.length ? bins[r]! - pr : Infinity;
        const useLeft = dL < dR;
        const d = dl + (useLeft ? dL : dR);
        if (d > worst()) return;
        scanCell(row.cells.get(useLeft ? bins[l--]! : bins[r++]!)!, d);
      }
    };

    const levels = index.levels;
    let r = lowerBound(levels, pl);
    let l = r - 1;
    while ((l >= 0 || r < levels.length) && scanned < QUICK_JOIN_MAX_SCAN) {
      const dL = l >= 0 ? pl - levels[l]! : Infinity;
      const dR = r < levels.length ? levels[r]! - pl : Infinity;
      const useLeft = dL < dR;
      const dl = useLeft ? dL : dR;
      if (dl > worst()) break;
      scanRow(index.rows.get(useLeft ? levels[l--]! : levels[r++]!)!, dl);
    }
    return best.map((b) => b.e.g);
  }

  /** Starts (or replaces) a live filter on this node. */
  subscribe(subscriptionId: string, filter: GameFilter): void {
    this.unsubscribe(subscriptionId);
    const gameType = filter.gameType;
    this.subs.set(subscriptionId, { test: compile(filter).test, gameType });
    if (gameType === undefined) this.untypedSubs.add(subscriptionId);
    else {
      let set = this.typedSubs.get(gameType);
      if (set === undefined) {
        set = new Set();
        this.typedSubs.set(gameType, set);
      }
      set.add(subscriptionId);
    }
  }

  unsubscribe(subscriptionId: string): void {
    const s = this.subs.get(subscriptionId);
    if (s === undefined) return;
    this.subs.delete(subscriptionId);
    if (s.gameType === undefined) this.untypedSubs.delete(subscriptionId);
    else {
      const set = this.typedSubs.get(s.gameType)!;
      set.delete(subscriptionId);
      if (set.size === 0) this.typedSubs.delete(s.gameType);
    }
  }

  /**
   * What each subscription must be told about one change, given the game's
   * summary before and after it (undefined = absent / removed / hidden):
   * `added` when it now passes the filter and did not, `removed` when it did
   * and no longer does (or is gone), `updated` when it passes both times.
   * Does not itself upsert or remove.
   */
  changes(before: GameSummary | undefined, after: GameSummary | undefined): SubscriptionChange[] {
    const out: SubscriptionChange[] = [];
    if ((before === undefined && after === undefined) || this.subs.size === 0) return out;
    const eb = before === undefined ? undefined : new Entry(before);
    const ea = after === undefined ? undefined : new Entry(after);
    const check = (ids: Iterable<string>): void => {
      for (const id of ids) {
        const t = this.subs.get(id)!.test;
        const was = eb !== undefined && t(eb);
        const is = ea !== undefined && t(ea);
        if (was || is) out.push({ subscriptionId: id, kind: was ? (is ? 'updated' : 'removed') : 'added' });
      }
    };
    check(this.untypedSubs);
    const tb = before?.gameType;
    const ta = after?.gameType;
    const sb = tb === undefined ? undefined : this.typedSubs.get(tb);
    if (sb !== undefined) check(sb);
    if (ta !== undefined && ta !== tb) {
      const sa = this.typedSubs.get(ta);
      if (sa !== undefined) check(sa);
    }
    return out;
  }
}
