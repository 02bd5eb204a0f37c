/** Filters compiled to tests on entries, and the meta word and attribute signature that reject most games early. */
import type { GameFilter, GameSummary } from '@foyer/shared';
import { Entry } from './entry.js';

type AttributeFilter = NonNullable<GameFilter['attributes']>[number];
export type Test = (e: Entry) => boolean;
export type Attrs = Record<string, string | number>;

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
export function trigrams(s: string, out: [number, number]): void {
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

export const scratch: [number, number] = [0, 0];

// An entry's meta word, kept beside it in every ordered set so a scan can
// reject most games without touching the entry at all: bits 0–1 status
// (0 closed, 1 open, 2 in progress), bit 2 a free seat, bit 3 a password,
// bits 4–27 the attribute signature.
const M_STATUS = 3;
const M_OPEN = 1;
const M_IN_PROGRESS = 2;
const M_FREE = 4;
const M_PASSWORD = 8;

export function metaOf(g: GameSummary): number {
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
export function compile(filter: GameFilter): Compiled {
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
