import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GameFilter, GameSort, GameSummary } from '@foyer/shared';
import { CursorError, GameList, MAX_SCAN, QUICK_JOIN_CANDIDATES, matches, quickJoinDistance } from '../../server/src/domain/gameList/index.js';

let seq = 0;
function game(over: Partial<GameSummary> = {}): GameSummary {
  seq++;
  return {
    id: `g${String(seq).padStart(6, '0')}`,
    name: `Game ${seq}`,
    gameType: 'PvE',
    ownerId: 'u1',
    ownerName: 'Owner',
    players: 1,
    maxPlayers: 4,
    freeSeats: 3,
    spectators: 0,
    hasPassword: false,
    locked: false,
    closed: false,
    inProgress: false,
    friendsJoinOnly: false,
    startMode: 'manual',
    minLevel: null,
    maxLevel: null,
    school: null,
    attributes: {},
    meanLevel: 1,
    meanRating: 1000,
    createdAt: 1_000 + seq,
    version: 1,
    ...over,
  };
}

const F = (f: Partial<GameFilter> = {}): GameFilter => ({ status: 'any', ...f });
const ids = (gs: readonly GameSummary[]): string[] => gs.map((g) => g.id);

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
/** The documented total order, written out independently of the index. */
function refCompare(sort: GameSort, a: GameSummary, b: GameSummary): number {
  if (sort.by === 'created') {
    const d = a.createdAt - b.createdAt || cmpStr(a.id, b.id);
    return sort.order === 'asc' ? d : -d;
  }
  const k = sort.by;
  const d = a[k] - b[k];
  if (d !== 0) return sort.order === 'asc' ? d : -d;
  return a.createdAt - b.createdAt || cmpStr(a.id, b.id);
}

function allPages(list: GameList, filter: GameFilter, sort: GameSort, limit: number): GameSummary[] {
  const out: GameSummary[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100_000; i++) {
    const page = list.query(cursor === undefined ? { filter, sort, limit } : { filter, sort, limit, cursor });
    out.push(...page.games);
    if (page.cursor === undefined) return out;
    cursor = page.cursor;
  }
  throw new Error('paging did not end');
}

const SORTS: GameSort[] = (['created', 'players', 'freeSeats'] as const).flatMap((by) => (['asc', 'desc'] as const).map((order) => ({ by, order })));

describe('matches', () => {
  const g = game({
    name: 'Dragon Slayers',
    gameType: 'PvP',
    players: 2,
    freeSeats: 2,
    hasPassword: true,
    minLevel: 5,
    maxLevel: 10,
    attributes: { map: 'forest', mode: 'ctf', size: 8, tier: '8' },
  });

  it('passes an empty filter', () => {
    expect(matches(F(), g)).toBe(true);
  });

  it('filters on gameType', () => {
    expect(matches(F({ gameType: 'PvP' }), g)).toBe(true);
    expect(matches(F({ gameType: 'PvE' }), g)).toBe(false);
  });

  it('filters on status', () => {
    const open = game();
    const started = game({ inProgress: true });
    const closed = game({ closed: true });
    const closedStarted = game({ closed: true, inProgress: true });
    expect([open, started, closed, closedStarted].map((x) => matches(F({ status: 'open' }), x))).toEqual([true, false, false, false]);
    expect([open, started, closed, closedStarted].map((x) => matches(F({ status: 'inProgress' }), x))).toEqual([false, true, false, true]);
    expect([open, started, closed, closedStarted].map((x) => matches(F({ status: 'any' }), x))).toEqual([true, true, true, true]);
  });

  it('filters on free seats and password', () => {
    const full = game({ players: 4, freeSeats: 0 });
    expect(matches(F({ hasFreeSeats: true }), g)).toBe(true);
    expect(matches(F({ hasFreeSeats: false }), g)).toBe(false);
    expect(matches(F({ hasFreeSeats: true }), full)).toBe(false);
    expect(matches(F({ hasFreeSeats: false }), full)).toBe(true);
    expect(matches(F({ hasPassword: true }), g)).toBe(true);
    expect(matches(F({ hasPassword: false }), g)).toBe(false);
    expect(matches(F({ hasPassword: false }), full)).toBe(true);
  });

  it('matches nameContains case-insensitively', () => {
    expect(matches(F({ nameContains: 'dragon' }), g)).toBe(true);
    expect(matches(F({ nameContains: 'N SLAY' }), g)).toBe(true);
    expect(matches(F({ nameContains: 'Slayers' }), g)).toBe(true);
    expect(matches(F({ nameContains: 'wyvern' }), g)).toBe(false);
  });

  it('filters on level against the bounds', () => {
    expect([4, 5, 7, 10, 11].map((level) => matches(F({ level }), g))).toEqual([false, true, true, true, false]);
    const unbounded = game();
    expect(matches(F({ level: 0 }), unbounded)).toBe(true);
    expect(matches(F({ level: 10_000 }), unbounded)).toBe(true);
    expect(matches(F({ level: 3 }), game({ minLevel: 5 }))).toBe(false);
    expect(matches(F({ level: 30 }), game({ minLevel: 5 }))).toBe(true);
    expect(matches(F({ level: 30 }), game({ maxLevel: 20 }))).toBe(false);
  });

  it('applies eq and ne with strict equality', () => {
    const m = (attributes: GameFilter['attributes']) => matches(F({ attributes }), g);
    expect(m([{ key: 'map', op: 'eq', value: 'forest' }])).toBe(true);
    expect(m([{ key: 'map', op: 'eq', value: 'Forest' }])).toBe(false);
    expect(m([{ key: 'size', op: 'eq', value: 8 }])).toBe(true);
    expect(m([{ key: 'size', op: 'eq', value: '8' }])).toBe(false);
    expect(m([{ key: 'tier', op: 'eq', value: 8 }])).toBe(false);
    expect(m([{ key: 'missing', op: 'eq', value: 'x' }])).toBe(false);
    expect(m([{ key: 'map', op: 'ne', value: 'desert' }])).toBe(true);
    expect(m([{ key: 'map', op: 'ne', value: 'forest' }])).toBe(false);
    expect(m([{ key: 'size', op: 'ne', value: '8' }])).toBe(true);
    expect(m([{ key: 'missing', op: 'ne', value: 'x' }])).toBe(true);
  });

  it('applies the comparisons to numbers only', () => {
    const m = (op: 'lt' | 'le' | 'gt' | 'ge', key: string, value: number) => matches(F({ attributes: [{ key, op, value }] }), g);
    expect([m('lt', 'size', 8), m('lt', 'size', 9)]).toEqual([false, true]);
    expect([m('le', 'size', 7), m('le', 'size', 8)]).toEqual([false, true]);
    expect([m('gt', 'size', 8), m('gt', 'size', 7)]).toEqual([false, true]);
    expect([m('ge', 'size', 9), m('ge', 'size', 8)]).toEqual([false, true]);
    // A string attribute fails every comparison, even when it looks like a number.
    for (const op of ['lt', 'le', 'gt', 'ge'] as const) {
      expect(m(op, 'tier', 8)).toBe(false);
      expect(m(op, 'missing', 0)).toBe(false);
    }
  });

  it('applies in as membership', () => {
    const m = (key: string, value: (string | number)[]) => matches(F({ attributes: [{ key, op: 'in', value }] }), g);
    expect(m('map', ['desert', 'forest'])).toBe(true);
    expect(m('map', ['desert'])).toBe(false);
    expect(m('size', [4, 8])).toBe(true);
    expect(m('size', ['8'])).toBe(false);
    expect(m('missing', ['x'])).toBe(false);
  });

  it('requires every attribute filter and every field at once', () => {
    const both = F({
      gameType: 'PvP',
      status: 'open',
      hasFreeSeats: true,
      hasPassword: true,
      nameContains: 'slay',
      level: 6,
      attributes: [
        { key: 'map', op: 'eq', value: 'forest' },
        { key: 'size', op: 'ge', value: 8 },
      ],
    });
    expect(matches(both, g)).toBe(true);
    expect(matches({ ...both, attributes: [...both.attributes!, { key: 'mode', op: 'in', value: ['dm'] }] }, g)).toBe(false);
  });

  it('agrees with a plain reading of the rules (property)', () => {
    const value = fc.oneof(fc.constantFrom('forest', 'desert', '8', 'Forest', ''), fc.constantFrom(0, 8, -3, 2.5, 100));
    const keys = fc.constantFrom('map', 'size', 'mode', 'x');
    const attrFilter = fc.oneof(
      fc.record({ key: keys, op: fc.constantFrom('eq' as const, 'ne' as const), value }),
      fc.record({ key: keys, op: fc.constantFrom('lt' as const, 'le' as const, 'gt' as const, 'ge' as const), value: fc.constantFrom(0, 8, -3, 2.5, 100) }),
      fc.record({ key: keys, op: fc.constant('in' as const), value: fc.array(value, { minLength: 1, maxLength: 4 }) }),
    );
    const name = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('Dragon Slayers', 'İstanbul nights', 'ÆSIR raid', 'straße'));
    fc.assert(
      fc.property(
        fc.record({ name, attributes: fc.dictionary(keys, value, { maxKeys: 4 }) }),
        fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('dragon', 'SLAY', 'istanbul', 'æsir', 'STRASSE', 'straße')), { nil: undefined }),
        fc.array(attrFilter, { maxLength: 4 }),
        (g, nameContains, attributes) => {
          const gs = game({ name: g.name, attributes: g.attributes });
          const f = F({ ...(nameContains === undefined ? {} : { nameContains }), attributes });
          const has = (k: string) => Object.hasOwn(g.attributes, k);
          const want =
            (nameContains === undefined || g.name.toLowerCase().includes(nameContains.toLowerCase())) &&
            attributes.every((a) => {
              const x = g.attributes[a.key];
              switch (a.op) {
                case 'eq':
                  return has(a.key) && x === a.value;
                case 'ne':
                  return !has(a.key) || x !== a.value;
                case 'in':
                  return has(a.key) && a.value.includes(x!);
                default:
                  if (!has(a.key) || typeof x !== 'number') return false;
                  return a.op === 'lt' ? x < a.value : a.op === 'le' ? x <= a.value : a.op === 'gt' ? x > a.value : x >= a.value;
              }
            });
          expect(matches(f, gs)).toBe(want);
          // The index's scans use the same test: the game is listed under the filter exactly when it matches.
          const list = new GameList();
          list.upsert(gs);
          expect(list.query({ filter: f, sort: { by: 'created', order: 'desc' }, limit: 5 }).games.length).toBe(want ? 1 : 0);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('does not read attributes from the prototype', () => {
    expect(matches(F({ attributes: [{ key: 'constructor', op: 'ne', value: 'x' }] }), game())).toBe(true);
    expect(matches(F({ attributes: [{ key: 'toString', op: 'eq', value: 'x' }] }), game())).toBe(false);
  });
});

describe('GameList basics', () => {
  it('adds, replaces, gets and removes', () => {
    const list = new GameList();
    const a = game();
    list.upsert(a);
    expect(list.size).toBe(1);
    expect(list.get(a.id)).toBe(a);
    const a2 = { ...a, players: 3, freeSeats: 1, name: 'Renamed', version: 2 };
    list.upsert(a2);
    expect(list.size).toBe(1);
    expect(list.get(a.id)).toBe(a2);
    expect(ids(list.query({ filter: F({ nameContains: 'renamed' }), sort: { by: 'players', order: 'asc' }, limit: 10 }).games)).toEqual([a.id]);
    expect(list.query({ filter: F({ nameContains: 'game' }), sort: { by: 'created', order: 'asc' }, limit: 10 }).games).toEqual([]);
    list.remove(a.id);
    list.remove(a.id);
    list.remove('nope');
    expect(list.size).toBe(0);
    expect(list.get(a.id)).toBeUndefined();
    expect(list.query({ filter: F(), sort: { by: 'created', order: 'desc' }, limit: 10 })).toEqual({ games: [] });
  });

  it('copes with a summary changed in place and upserted again', () => {
    const list = new GameList();
    const a = game({ name: 'Alpha', attributes: { map: 'forest' } });
    list.upsert(a);
    a.players = 4;
    a.freeSeats = 0;
    a.name = 'Omega';
    a.attributes.map = 'desert';
    a.inProgress = true;
    list.upsert(a);
    const q = (filter: GameFilter, by: GameSort['by'] = 'players') => ids(list.query({ filter, sort: { by, order: 'desc' }, limit: 10 }).games);
    expect(q(F({ nameContains: 'alpha' }))).toEqual([]);
    expect(q(F({ nameContains: 'omega', status: 'inProgress', hasFreeSeats: false, attributes: [{ key: 'map', op: 'eq', value: 'desert' }] }), 'freeSeats')).toEqual([a.id]);
    expect(q(F({ attributes: [{ key: 'map', op: 'eq', value: 'forest' }] }))).toEqual([]);
    expect(q(F({ status: 'open' }))).toEqual([]);
    list.remove(a.id);
    expect(list.size).toBe(0);
    expect(q(F())).toEqual([]);
  });

  it('re-files a game whose gameType, status or counts change', () => {
    const list = new GameList();
    const a = game({ gameType: 'PvE' });
    list.upsert(a);
    const q = (filter: GameFilter, by: GameSort['by'] = 'players') => ids(list.query({ filter, sort: { by, order: 'desc' }, limit: 10 }).games);
    list.upsert({ ...a, gameType: 'PvP' });
    expect(q(F({ gameType: 'PvE' }))).toEqual([]);
    expect(q(F({ gameType: 'PvP' }))).toEqual([a.id]);
    list.upsert({ ...a, gameType: 'PvP', inProgress: true, players: 4, freeSeats: 0 });
    expect(q(F({ status: 'open' }))).toEqual([]);
    expect(q(F({ status: 'inProgress', gameType: 'PvP' }), 'freeSeats')).toEqual([a.id]);
    list.upsert({ ...a, gameType: 'PvP', inProgress: false, closed: true });
    expect(q(F({ status: 'inProgress' }))).toEqual([]);
    expect(q(F({ status: 'open' }))).toEqual([]);
    expect(q(F({ status: 'any', gameType: 'PvP' }), 'created')).toEqual([a.id]);
    list.upsert({ ...a, gameType: 'PvP', closed: false, players: 2, freeSeats: 2 });
    expect(q(F({ status: 'open', gameType: 'PvP', hasFreeSeats: true }), 'freeSeats')).toEqual([a.id]);
    list.remove(a.id);
    expect(q(F())).toEqual([]);
    expect(q(F({ gameType: 'PvP', status: 'open' }))).toEqual([]);
  });

  it('returns an empty page for an unknown gameType', () => {
    const list = new GameList();
    list.upsert(game());
    expect(list.query({ filter: F({ gameType: 'Nope' }), sort: { by: 'created', order: 'desc' }, limit: 5 })).toEqual({ games: [] });
  });

  it('clamps limit to 1..100', () => {
    const list = new GameList();
    for (let i = 0; i < 150; i++) list.upsert(game());
    expect(list.query({ filter: F(), sort: { by: 'created', order: 'desc' }, limit: 1000 }).games).toHaveLength(100);
    expect(list.query({ filter: F(), sort: { by: 'created', order: 'desc' }, limit: 0 }).games).toHaveLength(1);
  });
});

describe('sorting', () => {
  const list = new GameList();
  const games: GameSummary[] = [];
  // Ties on every key: same createdAt for several games, repeated player counts.
  for (let i = 0; i < 60; i++) {
    const players = i % 5;
    const g = game({ players, freeSeats: (i * 7) % 4, createdAt: 5_000 + Math.floor(i / 3) });
    games.push(g);
  }
  // Inserted out of order.
  for (const g of [...games].reverse()) list.upsert(g);

  for (const sort of SORTS) {
    it(`orders by ${sort.by} ${sort.order}, ties by createdAt then id`, () => {
      const want = ids([...games].sort((a, b) => refCompare(sort, a, b)));
      expect(ids(list.query({ filter: F(), sort, limit: 100 }).games)).toEqual(want);
      for (const limit of [1, 3, 7]) expect(ids(allPages(list, F(), sort, limit))).toEqual(want);
      const filter = F({ hasFreeSeats: true });
      expect(ids(allPages(list, filter, sort, 4))).toEqual(ids(games.filter((g) => g.freeSeats > 0).sort((a, b) => refCompare(sort, a, b))));
      expect(ids(allPages(list, F({ hasFreeSeats: false }), sort, 4))).toEqual(ids(games.filter((g) => g.freeSeats === 0).sort((a, b) => refCompare(sort, a, b))));
    });
  }

  it('ends without a cursor when the last page is exactly full', () => {
    const small = new GameList();
    for (let i = 0; i < 6; i++) small.upsert(game());
    const p1 = small.query({ filter: F(), sort: { by: 'created', order: 'desc' }, limit: 3 });
    expect(p1.cursor).toBeDefined();
    const p2 = small.query({ filter: F(), sort: { by: 'created', order: 'desc' }, limit: 3, cursor: p1.cursor! });
    expect(p2.games).toHaveLength(3);
    expect(p2.cursor).toBeUndefined();
  });

  it('keeps order across many inserts and removes (chunk splits and merges)', () => {
    const big = new GameList();
    const rnd = mulberry32(7);
    const live = new Map<string, GameSummary>();
    for (let i = 0; i < 6_000; i++) {
      const g = game({ createdAt: Math.floor(rnd() * 3_000), players: Math.floor(rnd() * 9), freeSeats: Math.floor(rnd() * 9) });
      big.upsert(g);
      live.set(g.id, g);
      if (rnd() < 0.45) {
        const keys = [...live.keys()];
        const victim = keys[Math.floor(rnd() * keys.length)]!;
        big.remove(victim);
        live.delete(victim);
      }
    }
    const check = () => {
      expect(big.size).toBe(live.size);
      for (const sort of SORTS) {
        expect(ids(allPages(big, F(), sort, 100))).toEqual(ids([...live.values()].sort((a, b) => refCompare(sort, a, b))));
      }
    };
    check();
    // Thin it out to a few percent (chunks shrink and merge), then change what is left.
    for (const id of [...live.keys()]) {
      if (rnd() < 0.95) {
        big.remove(id);
        live.delete(id);
      }
    }
    check();
    for (const [id, g] of live) {
      const changed = { ...g, players: Math.floor(rnd() * 9), freeSeats: Math.floor(rnd() * 9) };
      big.upsert(changed);
      live.set(id, changed);
    }
    check();
    for (const id of [...live.keys()]) big.remove(id);
    live.clear();
    check();
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('cursors', () => {
  const list = new GameList();
  for (let i = 0; i < 10; i++) list.upsert(game({ players: i % 3 }));
  const sort: GameSort = { by: 'players', order: 'desc' };
  const first = list.query({ filter: F(), sort, limit: 2 });

  it('is an opaque base64url string', () => {
    expect(first.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(first.cursor!.length).toBeLessThanOrEqual(256);
  });

  it('rejects malformed cursors with CursorError', () => {
    const bad = [
      '',
      'not a cursor!',
      '%%%',
      Buffer.from('not json').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[1,"players","desc",1,2]').toString('base64url'),
      Buffer.from('[2,"players","desc",1,1001,"g1"]').toString('base64url'),
      Buffer.from('[1,"players","desc","1",1001,"g1"]').toString('base64url'),
      Buffer.from('[1,"players","desc",1,1001,""]').toString('base64url'),
      Buffer.from('[1,"players","desc",1,null,"g1"]').toString('base64url'),
      Buffer.from('[1,"created","desc",1,1001,"g1"]').toString('base64url'),
      'A'.repeat(300),
    ];
    for (const cursor of bad) {
      let err: unknown;
      try {
        list.query({ filter: F(), sort, limit: 2, cursor });
      } catch (e) {
        err = e;
      }
      expect(err, cursor).toBeInstanceOf(CursorError);
      expect(err).toBeInstanceOf(Error);
    }
  });

  it('rejects a cursor made for another sort', () => {
    for (const other of SORTS.filter((s) => s.by !== sort.by || s.order !== sort.order)) {
      expect(() => list.query({ filter: F(), sort: other, limit: 2, cursor: first.cursor! })).toThrow(CursorError);
    }
  });

  it('accepts a cursor with another filter (it is only a position)', () => {
    const page = list.query({ filter: F({ hasPassword: false }), sort, limit: 2, cursor: first.cursor! });
    expect(page.games).toHaveLength(2);
  });

  it('continues after a game that left the list', () => {
    const l = new GameList();
    const gs = Array.from({ length: 5 }, () => game());
    for (const g of gs) l.upsert(g);
    const p1 = l.query({ filter: F(), sort: { by: 'created', order: 'asc' }, limit: 2 });
    expect(ids(p1.games)).toEqual(ids(gs.slice(0, 2)));
    l.remove(gs[1]!.id);
    l.remove(gs[2]!.id);
    const p2 = l.query({ filter: F(), sort: { by: 'created', order: 'asc' }, limit: 2, cursor: p1.cursor! });
    expect(ids(p2.games)).toEqual(ids(gs.slice(3)));
    expect(p2.cursor).toBeUndefined();
  });

  it('continues after the bucket the cursor was in emptied, in both directions', () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const by of ['players', 'freeSeats'] as const) {
        const l = new GameList();
        const gs = [0, 1, 1, 2, 3, 3].map((n) => game({ players: n, freeSeats: n }));
        for (const g of gs) l.upsert(g);
        const sort: GameSort = { by, order };
        const want = ids([...gs].sort((a, b) => refCompare(sort, a, b)));
        // First page ends on the only game with value 2 (asc: 0,1,1,2 / desc: 3,3,2).
        const p1 = l.query({ filter: F(), sort, limit: order === 'asc' ? 4 : 3 });
        expect(ids(p1.games)).toEqual(want.slice(0, order === 'asc' ? 4 : 3));
        l.remove(gs[3]!.id);
        const p2 = l.query({ filter: F(), sort, limit: 10, cursor: p1.cursor! });
        expect(ids(p2.games)).toEqual(want.slice(order === 'asc' ? 4 : 3));
      }
    }
  });

  it(`stops after examining ${MAX_SCAN} games and hands back a cursor to go on`, () => {
    const l = new GameList();
    const needle = game({ name: 'the needle', createdAt: 0 });
    l.upsert(needle);
    for (let i = 0; i < MAX_SCAN + 5_000; i++) l.upsert(game({ createdAt: 10 + i }));
    const filter = F({ nameContains: 'NEEDLE' });
    const sort: GameSort = { by: 'created', order: 'desc' };
    const p1 = l.query({ filter, sort, limit: 10 });
    expect(p1.games).toEqual([]);
    expect(p1.cursor).toBeDefined();
    const p2 = l.query({ filter, sort, limit: 10, cursor: p1.cursor! });
    expect(p2.games).toEqual([needle]);
    expect(p2.cursor).toBeUndefined();
  });
});

describe('paging while games come and go (property)', () => {
  const gameTypes = ['PvE', 'PvP'] as const;
  const gameArb = fc.record({
    gameType: fc.constantFrom(...gameTypes),
    players: fc.integer({ min: 0, max: 4 }),
    freeSeats: fc.integer({ min: 0, max: 3 }),
    createdAt: fc.integer({ min: 0, max: 25 }),
    inProgress: fc.boolean(),
    closed: fc.boolean(),
    hasPassword: fc.boolean(),
    name: fc.constantFrom('Alpha', 'beta', 'GAMMA', 'alphabet'),
    map: fc.constantFrom('forest', 'desert', undefined),
  });
  type Gen = typeof gameArb extends fc.Arbitrary<infer T> ? T : never;
  const toGame = (id: string, g: Gen): GameSummary =>
    game({
      id,
      gameType: g.gameType,
      players: g.players,
      freeSeats: g.freeSeats,
      createdAt: g.createdAt,
      inProgress: g.inProgress,
      closed: g.closed,
      hasPassword: g.hasPassword,
      name: g.name,
      attributes: g.map === undefined ? {} : { map: g.map },
    });
  const filterArb = fc.record(
    {
      gameType: fc.constantFrom(...gameTypes),
      status: fc.constantFrom('open', 'inProgress', 'any'),
      hasFreeSeats: fc.boolean(),
      hasPassword: fc.boolean(),
      nameContains: fc.constantFrom('alpha', 'A'),
      attributes: fc.constantFrom<GameFilter['attributes']>([{ key: 'map', op: 'eq', value: 'forest' }], [{ key: 'map', op: 'ne', value: 'desert' }]),
    },
    { requiredKeys: ['status'] },
  ) as fc.Arbitrary<GameFilter>;
  const sortArb = fc.constantFrom(...SORTS);
  const opArb = fc.record({ kind: fc.constantFrom('insert', 'remove', 'update'), pick: fc.nat(), game: gameArb });

  it('returns every game that stayed present and unchanged exactly once, pages in sort order', () => {
    fc.assert(
      fc.property(
        fc.array(gameArb, { maxLength: 60 }),
        filterArb,
        sortArb,
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.array(opArb, { maxLength: 4 }), { maxLength: 30 }),
        (initial, filter, sort, limit, between) => {
          const list = new GameList();
          const live = new Map<string, GameSummary>();
          let next = 0;
          for (const g of initial) {
            const s = toGame(`p${next++}`, g);
            list.upsert(s);
            live.set(s.id, s);
          }
          const untouched = new Set(live.keys());
          const seen = new Map<string, number>();
          const returnedStable: GameSummary[] = [];
          let cursor: string | undefined;
          for (let round = 0; ; round++) {
            if (round > 1_000) throw new Error('paging did not end');
            const page = list.query(cursor === undefined ? { filter, sort, limit } : { filter, sort, limit, cursor });
            expect(page.games.length).toBeLessThanOrEqual(limit);
            for (let i = 1; i < page.games.length; i++) expect(refCompare(sort, page.games[i - 1]!, page.games[i]!)).toBeLessThan(0);
            for (const g of page.games) {
              expect(matches(filter, g)).toBe(true);
              expect(live.get(g.id)).toBe(g);
              seen.set(g.id, (seen.get(g.id) ?? 0) + 1);
              if (untouched.has(g.id)) returnedStable.push(g);
            }
            if (page.cursor === undefined) break;
            cursor = page.cursor;
            for (const op of between[round] ?? []) {
              const keys = [...live.keys()];
              if (op.kind === 'insert' || keys.length === 0) {
                const s = toGame(`p${next++}`, op.game);
                list.upsert(s);
                live.set(s.id, s);
              } else {
                const id = keys[op.pick % keys.length]!;
                untouched.delete(id);
                if (op.kind === 'remove') {
                  list.remove(id);
                  live.delete(id);
                } else {
                  const s = toGame(id, op.game);
                  list.upsert(s);
                  live.set(id, s);
                }
              }
            }
          }
          for (const id of untouched) {
            const g = live.get(id)!;
            expect(seen.get(id) ?? 0, id).toBe(matches(filter, g) ? 1 : 0);
          }
          for (let i = 1; i < returnedStable.length; i++) expect(refCompare(sort, returnedStable[i - 1]!, returnedStable[i]!)).toBeLessThan(0);
          // Whatever changed, no game shows up twice unless it was touched.
          for (const [id, n] of seen) if (n > 1) expect(untouched.has(id)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('index agrees with a brute-force scan after single-field changes (property)', () => {
  const filters: GameFilter[] = [
    F(),
    F({ status: 'open' }),
    F({ status: 'inProgress' }),
    F({ hasPassword: true }),
    F({ hasPassword: false, status: 'open' }),
    F({ hasFreeSeats: true }),
    F({ hasFreeSeats: false, gameType: 'PvP' }),
    F({ gameType: 'PvE', attributes: [{ key: 'map', op: 'eq', value: 'forest' }] }),
    F({ attributes: [{ key: 'map', op: 'in', value: ['desert', 'tundra'] }] }),
    F({ attributes: [{ key: 'size', op: 'ge', value: 4 }], status: 'open', hasFreeSeats: true }),
    F({ nameContains: 'raid' }),
  ];
  const change = fc.oneof(
    fc.record({ field: fc.constant('hasPassword' as const), value: fc.boolean() }),
    fc.record({ field: fc.constant('closed' as const), value: fc.boolean() }),
    fc.record({ field: fc.constant('inProgress' as const), value: fc.boolean() }),
    fc.record({ field: fc.constant('players' as const), value: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ field: fc.constant('freeSeats' as const), value: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ field: fc.constant('map' as const), value: fc.constantFrom('forest', 'desert', 'tundra', undefined) }),
    fc.record({ field: fc.constant('size' as const), value: fc.constantFrom(2, 4, 8, '8') }),
    fc.record({ field: fc.constant('name' as const), value: fc.constantFrom('Night raid', 'Chill', 'RAIDERS') }),
  );
  it('lists exactly the matching games, in order, for every filter and sort', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(fc.tuple(fc.nat(), change), { maxLength: 60 }), fc.integer({ min: 1, max: 1_000_000 }), (n, changes, seed) => {
        const rnd = mulberry32(seed);
        const list = new GameList();
        const live = new Map<string, GameSummary>();
        for (let i = 0; i < n; i++) {
          const g = game({
            id: `b${i}`,
            gameType: rnd() < 0.5 ? 'PvE' : 'PvP',
            players: Math.floor(rnd() * 5),
            freeSeats: Math.floor(rnd() * 4),
            createdAt: Math.floor(rnd() * 10),
            hasPassword: rnd() < 0.3,
            inProgress: rnd() < 0.3,
            closed: rnd() < 0.2,
            attributes: { map: ['forest', 'desert', 'tundra'][Math.floor(rnd() * 3)]!, size: 4 },
          });
          list.upsert(g);
          live.set(g.id, g);
        }
        const keys = [...live.keys()];
        for (const [pick, c] of changes) {
          if (keys.length === 0) break;
          const id = keys[pick % keys.length]!;
          const g = live.get(id)!;
          let next: GameSummary;
          if (c.field === 'map' || c.field === 'size') {
            const attributes = { ...g.attributes };
            if (c.value === undefined) delete attributes[c.field];
            else attributes[c.field] = c.value;
            next = { ...g, attributes };
          } else next = { ...g, [c.field]: c.value };
          list.upsert(next);
          live.set(id, next);
          for (const filter of filters) {
            for (const sort of SORTS) {
              const want = ids([...live.values()].filter((x) => matches(filter, x)).sort((a, b) => refCompare(sort, a, b)));
              expect(ids(allPages(list, filter, sort, 7))).toEqual(want);
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('subscriptions', () => {
  const sorted = (c: { subscriptionId: string; kind: string }[]) => [...c].sort((a, b) => cmpStr(a.subscriptionId, b.subscriptionId));

  it('tells added, updated and removed as a game enters, changes in and leaves a filter', () => {
    const list = new GameList();
    list.subscribe('open', F({ status: 'open', hasFreeSeats: true }));
    list.subscribe('pvp', F({ gameType: 'PvP' }));
    list.subscribe('all', F());
    const a = game({ gameType: 'PvE' });
    expect(sorted(list.changes(undefined, a))).toEqual([
      { subscriptionId: 'all', kind: 'added' },
      { subscriptionId: 'open', kind: 'added' },
    ]);
    const a2 = { ...a, players: 2, freeSeats: 2 };
    expect(sorted(list.changes(a, a2))).toEqual([
      { subscriptionId: 'all', kind: 'updated' },
      { subscriptionId: 'open', kind: 'updated' },
    ]);
    const full = { ...a2, players: 4, freeSeats: 0 };
    expect(sorted(list.changes(a2, full))).toEqual([
      { subscriptionId: 'all', kind: 'updated' },
      { subscriptionId: 'open', kind: 'removed' },
    ]);
    expect(sorted(list.changes(full, a2))).toEqual([
      { subscriptionId: 'all', kind: 'updated' },
      { subscriptionId: 'open', kind: 'added' },
    ]);
    const pvp = { ...a2, gameType: 'PvP' };
    expect(sorted(list.changes(a2, pvp))).toEqual([
      { subscriptionId: 'all', kind: 'updated' },
      { subscriptionId: 'open', kind: 'updated' },
      { subscriptionId: 'pvp', kind: 'added' },
    ]);
    expect(sorted(list.changes(pvp, undefined))).toEqual([
      { subscriptionId: 'all', kind: 'removed' },
      { subscriptionId: 'open', kind: 'removed' },
      { subscriptionId: 'pvp', kind: 'removed' },
    ]);
  });

  it('says nothing to subscriptions the game never matched', () => {
    const list = new GameList();
    list.subscribe('s', F({ nameContains: 'dragon', attributes: [{ key: 'map', op: 'eq', value: 'forest' }] }));
    const a = game({ name: 'Goblins', attributes: { map: 'forest' } });
    expect(list.changes(undefined, a)).toEqual([]);
    expect(list.changes(a, { ...a, players: 2 })).toEqual([]);
    expect(list.changes(a, undefined)).toEqual([]);
    expect(list.changes(a, { ...a, name: 'DRAGONS' })).toEqual([{ subscriptionId: 's', kind: 'added' }]);
    expect(list.changes({ ...a, name: 'DRAGONS' }, { ...a, name: 'DRAGONS', attributes: { map: 'desert' } })).toEqual([{ subscriptionId: 's', kind: 'removed' }]);
    expect(list.changes(undefined, undefined)).toEqual([]);
  });

  it('stops on unsubscribe and replaces a filter on re-subscribe', () => {
    const list = new GameList();
    const a = game({ gameType: 'PvE' });
    list.subscribe('s', F({ gameType: 'PvE' }));
    expect(list.changes(undefined, a)).toEqual([{ subscriptionId: 's', kind: 'added' }]);
    list.subscribe('s', F({ gameType: 'PvP' }));
    expect(list.changes(undefined, a)).toEqual([]);
    expect(list.changes(undefined, { ...a, gameType: 'PvP' })).toEqual([{ subscriptionId: 's', kind: 'added' }]);
    list.unsubscribe('s');
    list.unsubscribe('s');
    expect(list.changes(undefined, { ...a, gameType: 'PvP' })).toEqual([]);
  });

  it('does not touch the index', () => {
    const list = new GameList();
    list.subscribe('s', F());
    list.changes(undefined, game());
    expect(list.size).toBe(0);
  });
});

describe('quickJoin', () => {
  const me = { level: 10, rating: 1500 };

  it('offers only games a stranger can join right now', () => {
    const list = new GameList();
    const ok = game({ gameType: 'PvP', meanLevel: 10, meanRating: 1500 });
    const base = { gameType: 'PvP', meanLevel: 10, meanRating: 1500 };
    const not = [
      game({ ...base, gameType: 'PvE' }),
      game({ ...base, inProgress: true }),
      game({ ...base, closed: true }),
      game({ ...base, locked: true }),
      game({ ...base, hasPassword: true }),
      game({ ...base, players: 4, freeSeats: 0 }),
      game({ ...base, friendsJoinOnly: true }),
      game({ ...base, minLevel: 11 }),
      game({ ...base, maxLevel: 9 }),
      game({ ...base, school: 'mage' }),
    ];
    for (const g of [...not, ok]) list.upsert(g);
    expect(ids(list.quickJoin('PvP', me))).toEqual([ok.id]);
    expect(list.quickJoin('PvP', me, new Set([ok.id]))).toEqual([]);
    expect(list.quickJoin('Nope', me)).toEqual([]);
    const mageGame = not[9]!;
    // Equally close and equally full: the older one first.
    expect(ids(list.quickJoin('PvP', { ...me, school: 'mage' }))).toEqual([ok.id, mageGame.id]);
    const bounded = game({ ...base, minLevel: 10, maxLevel: 10 });
    list.upsert(bounded);
    expect(ids(list.quickJoin('PvP', me))).toContain(bounded.id);
    expect(ids(list.quickJoin('PvP', { ...me, level: 11 }))).not.toContain(bounded.id);
  });

  it('follows games as they fill, start and open again', () => {
    const list = new GameList();
    const a = game({ meanLevel: 10, meanRating: 1500, players: 3, freeSeats: 1 });
    list.upsert(a);
    expect(ids(list.quickJoin('PvE', me))).toEqual([a.id]);
    list.upsert({ ...a, players: 4, freeSeats: 0 });
    expect(list.quickJoin('PvE', me)).toEqual([]);
    list.upsert({ ...a, players: 2, freeSeats: 2 });
    expect(ids(list.quickJoin('PvE', me))).toEqual([a.id]);
    list.upsert({ ...a, inProgress: true });
    expect(list.quickJoin('PvE', me)).toEqual([]);
    list.upsert({ ...a, meanLevel: 50 });
    expect(ids(list.quickJoin('PvE', me))).toEqual([a.id]);
    list.remove(a.id);
    expect(list.quickJoin('PvE', me)).toEqual([]);
  });

  it('re-ranks a game whose free seats change within the same cell', () => {
    const list = new GameList();
    const a = game({ meanLevel: 10, meanRating: 1500, players: 1, freeSeats: 3 });
    const b = game({ meanLevel: 10, meanRating: 1500, players: 2, freeSeats: 2 });
    list.upsert(a);
    list.upsert(b);
    expect(ids(list.quickJoin('PvE', me))).toEqual([b.id, a.id]);
    list.upsert({ ...a, players: 3, freeSeats: 1 });
    expect(ids(list.quickJoin('PvE', me))).toEqual([a.id, b.id]);
    expect(list.quickJoin('PvE', me)[0]!.freeSeats).toBe(1);
  });

  it('ranks by closeness in level and rating, then fullest, then oldest', () => {
    const list = new GameList();
    const far = game({ meanLevel: 20, meanRating: 1500 });
    const nearLevelFarRating = game({ meanLevel: 10, meanRating: 1900 });
    const closeEmpty = game({ meanLevel: 10.3, meanRating: 1480, players: 1, freeSeats: 3, createdAt: 100 });
    const closeFullerYoung = game({ meanLevel: 9.8, meanRating: 1520, players: 3, freeSeats: 1, createdAt: 300 });
    const closeFullerOld = game({ meanLevel: 10, meanRating: 1500, players: 3, freeSeats: 1, createdAt: 200 });
    const oneOff = game({ meanLevel: 11, meanRating: 1500, players: 3, freeSeats: 1 });
    for (const g of [far, nearLevelFarRating, closeEmpty, closeFullerYoung, closeFullerOld, oneOff]) list.upsert(g);
    expect(ids(list.quickJoin('PvE', me))).toEqual([closeFullerOld.id, closeFullerYoung.id, closeEmpty.id, oneOff.id, nearLevelFarRating.id, far.id]);
    expect(quickJoinDistance(me, far)).toBe(10);
    expect(quickJoinDistance(me, nearLevelFarRating)).toBe(4);
    expect(quickJoinDistance(me, closeEmpty)).toBe(0);
  });

  it('lets a fuller game at equal distance in a later cell beat a full candidate list', () => {
    for (const [lvl, rating] of [
      [11, 1500],
      [10, 1600],
      [9, 1500],
      [10, 1400],
    ] as const) {
      const list = new GameList();
      // Ten equally close (distance 1) but emptier games, found first...
      for (let i = 0; i < QUICK_JOIN_CANDIDATES; i++) list.upsert(game({ meanLevel: lvl === 11 ? 10 : 11, meanRating: lvl === 11 ? 1600 : 1500, players: 1, freeSeats: 3 }));
      // ...and one as close in another cell, fuller and younger.
      const fuller = game({ meanLevel: lvl, meanRating: rating, players: 3, freeSeats: 1, createdAt: 1e9 });
      list.upsert(fuller);
      const got = list.quickJoin('PvE', me);
      expect(got).toHaveLength(QUICK_JOIN_CANDIDATES);
      expect(got[0]!.id).toBe(fuller.id);
    }
  });

  it(`returns at most ${QUICK_JOIN_CANDIDATES} candidates`, () => {
    const list = new GameList();
    for (let i = 0; i < 50; i++) list.upsert(game({ meanLevel: 10, meanRating: 1500 }));
    expect(list.quickJoin('PvE', me)).toHaveLength(QUICK_JOIN_CANDIDATES);
  });

  it.each([
    ['spread out, mostly not joinable', false],
    ['crowded, mostly joinable', true],
  ])('agrees with a brute-force ranking (property, %s)', (_, crowded) => {
    const rarely = fc.constantFrom(false, false, false, false, true);
    const gArb = fc.record({
      gameType: crowded ? fc.constantFrom('PvE', 'PvE', 'PvP') : fc.constantFrom('PvE', 'PvP'),
      meanLevel: crowded ? fc.oneof(fc.integer({ min: 7, max: 13 }), fc.double({ min: 7, max: 13, noNaN: true })) : fc.double({ min: 0, max: 30, noNaN: true }),
      meanRating: crowded ? fc.oneof(fc.constantFrom(1300, 1400, 1500, 1600), fc.double({ min: 1200, max: 1800, noNaN: true })) : fc.double({ min: 500, max: 2500, noNaN: true }),
      freeSeats: fc.integer({ min: 0, max: 4 }),
      createdAt: fc.integer({ min: 0, max: 20 }),
      inProgress: crowded ? rarely : fc.boolean(),
      locked: crowded ? rarely : fc.boolean(),
      hasPassword: crowded ? rarely : fc.boolean(),
      minLevel: crowded ? fc.constantFrom(null, null, null, 11) : fc.option(fc.integer({ min: 0, max: 30 })),
      maxLevel: crowded ? fc.constantFrom(null, null, null, 9) : fc.option(fc.integer({ min: 0, max: 30 })),
      school: crowded ? fc.constantFrom(null, null, null, 'mage') : fc.option(fc.constantFrom('mage', 'rogue')),
    });
    fc.assert(
      fc.property(
        fc.array(gArb, { maxLength: crowded ? 150 : 80 }),
        fc.array(fc.tuple(fc.nat(), gArb), { maxLength: 20 }),
        fc.record({ level: crowded ? fc.integer({ min: 8, max: 12 }) : fc.integer({ min: 0, max: 30 }), rating: crowded ? fc.integer({ min: 1300, max: 1700 }) : fc.integer({ min: 500, max: 2500 }), school: fc.option(fc.constantFrom('mage', 'rogue'), { nil: undefined }) }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (initial, updates, profile, excludePicks) => {
          const list = new GameList();
          const live = new Map<string, GameSummary>();
          initial.forEach((g, i) => {
            const s = game({ ...g, id: `q${i}`, players: 4 - g.freeSeats });
            list.upsert(s);
            live.set(s.id, s);
          });
          for (const [pick, g] of updates) {
            const keys = [...live.keys()];
            if (keys.length === 0) break;
            const id = keys[pick % keys.length]!;
            const s = { ...live.get(id)!, ...g, players: 4 - g.freeSeats };
            list.upsert(s);
            live.set(id, s);
          }
          const keys = [...live.keys()];
          const exclude = new Set(keys.length === 0 ? [] : excludePicks.map((p) => keys[p % keys.length]!));
          const p: { level: number; rating: number; school?: string } = profile.school === undefined ? { level: profile.level, rating: profile.rating } : { ...profile, school: profile.school };
          const want = [...live.values()]
            .filter(
              (g) =>
                g.gameType === 'PvE' &&
                !g.inProgress &&
                !g.closed &&
                !g.locked &&
                !g.hasPassword &&
                g.freeSeats > 0 &&
                !g.friendsJoinOnly &&
                (g.minLevel === null || g.minLevel <= p.level) &&
                (g.maxLevel === null || g.maxLevel >= p.level) &&
                (g.school === null || g.school === p.school) &&
                !exclude.has(g.id),
            )
            .sort((a, b) => quickJoinDistance(p, a) - quickJoinDistance(p, b) || a.freeSeats - b.freeSeats || a.createdAt - b.createdAt || cmpStr(a.id, b.id))
            .slice(0, QUICK_JOIN_CANDIDATES);
          expect(ids(list.quickJoin('PvE', p, exclude))).toEqual(ids(want));
        },
      ),
      { numRuns: 300 },
    );
  });
});
