/**
 * The game list index on its own (no server, no network): how long
 * `games.list` pages, upserts and quick join take on one node with 10,000 and
 * 100,000 listed games.
 *
 * Fills a GameList with realistic games (several game types, 2–16 seats,
 * random fills, some started, closed, locked or with a password, attributes
 * map/mode/region), churns it a little so the structures are not pristine,
 * then times, one call at a time:
 *   - query: first page unfiltered; gameType + open + hasFreeSeats + region;
 *     nameContains; deep pages followed by cursor; every sort; a filter
 *     nothing passes (runs into the scan cap);
 *   - upsert: a player joins or leaves (players/freeSeats/means change),
 *     and create + remove churn;
 *   - quickJoin for random profiles.
 * Prints p50/p99/max per case. Run `node bench/dist/games-list.js`
 * [--sizes 10000,100000] [--samples 3000]; `runListBench()` does the same
 * for bench/games.ts.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { GameFilter, GameSort, GameSummary } from '@foyer/shared';
import { GameList } from '@foyer/server/lobby/gameList';

export type ListBenchRow = { games: number; case: string; n: number; p50Us: number; p99Us: number; maxUs: number };
export type ListBenchOptions = { sizes?: number[]; samples?: number; seed?: number; log?: (line: string) => void };

const GAME_TYPES = ['PvE', 'PvP', 'PvP_rank', 'Coop', 'BattleRoyale'] as const;
const TYPE_WEIGHTS = [0.35, 0.25, 0.15, 0.15, 0.1];
const SIZES = [2, 4, 4, 6, 8, 8, 10, 12, 16];
const MAPS = ['forest', 'desert', 'tundra', 'swamp', 'canyon', 'harbor', 'ruins', 'volcano'];
const MODES = ['ctf', 'dm', 'koth', 'escort'];
const REGIONS = ['eu', 'na', 'asia', 'sa', 'oce'];
const WORDS = ['dragon', 'raid', 'chill', 'noobs', 'welcome', 'pros', 'only', 'fast', 'ranked', 'fun', 'night', 'squad', 'legends', 'casual', 'grind', 'party'];
const SCHOOLS = ['mage', 'rogue', 'warrior', 'cleric'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class World {
  readonly list = new GameList();
  readonly live: GameSummary[] = [];
  private readonly at = new Map<string, number>();
  private next = 0;
  private clock = 1_700_000_000_000;
  constructor(readonly r: () => number) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  gameType(): string {
    let x = this.r();
    for (let i = 0; i < GAME_TYPES.length; i++) if ((x -= TYPE_WEIGHTS[i]!) < 0) return GAME_TYPES[i]!;
    return GAME_TYPES[0];
  }

  make(): GameSummary {
    const r = this.r;
    const n = this.next++;
    this.clock += this.int(0, 40);
    const maxPlayers = this.pick(SIZES);
    const players = this.int(1, maxPlayers);
    const inProgress = r() < 0.4;
    const level = this.int(1, 60);
    const attributes: Record<string, string | number> = { map: this.pick(MAPS), region: this.pick(REGIONS) };
    if (r() < 0.6) attributes.mode = this.pick(MODES);
    if (r() < 0.3) attributes.minRank = this.int(0, 30);
    return {
      id: `${n.toString(36)}-${Math.floor(r() * 36 ** 4).toString(36)}`,
      name: `${this.pick(WORDS)} ${this.pick(WORDS)} ${n % 1000}`,
      gameType: this.gameType(),
      ownerId: `u${n}`,
      ownerName: `Player${n}`,
      players,
      maxPlayers,
      freeSeats: maxPlayers - players,
      spectators: r() < 0.1 ? this.int(1, 5) : 0,
      hasPassword: r() < 0.15,
      locked: r() < 0.05,
      closed: r() < 0.05,
      inProgress,
      friendsJoinOnly: r() < 0.05,
      startMode: r() < 0.5 ? 'manual' : 'auto',
      minLevel: r() < 0.2 ? Math.max(0, level - this.int(2, 10)) : null,
      maxLevel: r() < 0.2 ? level + this.int(2, 10) : null,
      school: r() < 0.05 ? this.pick(SCHOOLS) : null,
      attributes,
      meanLevel: level + r() * 3 - 1.5,
      meanRating: 1000 + (r() + r() + r() - 1.5) * 600,
      createdAt: this.clock,
      version: 1,
    };
  }

  add(g: GameSummary): void {
    this.at.set(g.id, this.live.length);
    this.live.push(g);
    this.list.upsert(g);
  }

  removeAt(i: number): void {
    const g = this.live[i]!;
    const last = this.live.pop()!;
    if (last !== g) {
      this.live[i] = last;
      this.at.set(last.id, i);
    }
    this.at.delete(g.id);
    this.list.remove(g.id);
  }

  /** A player joins or leaves a random game (what most upserts are). */
  joinOrLeave(): GameSummary {
    const i = Math.floor(this.r() * this.live.length);
    const g = this.live[i]!;
    const joins = g.freeSeats > 0 && (g.players <= 1 || this.r() < 0.5);
    const players = g.players + (joins ? 1 : -1);
    const changed: GameSummary = {
      ...g,
      players,
      freeSeats: g.maxPlayers - players,
      meanLevel: g.meanLevel + (this.r() - 0.5) * 2,
      meanRating: g.meanRating + (this.r() - 0.5) * 60,
      version: g.version + 1,
    };
    this.live[i] = changed;
    return changed;
  }

  set(g: GameSummary): void {
    this.live[this.at.get(g.id)!] = g;
    this.list.upsert(g);
  }
}

function stats(games: number, name: string, samples: number[]): ListBenchRow {
  const s = Float64Array.from(samples).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! * 1000;
  return { games, case: name, n: s.length, p50Us: q(0.5), p99Us: q(0.99), maxUs: s[s.length - 1]! * 1000 };
}

function time(n: number, fn: (i: number) => void): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    out[i] = performance.now() - t0;
  }
  return out;
}

const SORTS: GameSort[] = (['created', 'players', 'freeSeats'] as const).flatMap((by) => (['desc', 'asc'] as const).map((order) => ({ by, order })));

function heapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function benchSize(size: number, samples: number, seed: number, log: (line: string) => void): ListBenchRow[] {
  const heapBefore = heapMB();
  const w = new World(rng(seed));
  const { list } = w;
  const rows: ListBenchRow[] = [];

  const fillStart = performance.now();
  for (let i = 0; i < size; i++) w.add(w.make());
  const fillMs = performance.now() - fillStart;
  rows.push({ games: size, case: `fill (${size} upserts, µs each)`, n: size, p50Us: (fillMs * 1000) / size, p99Us: NaN, maxUs: NaN });
  // Churn so the structures look lived-in: joins/leaves, games ending and new ones.
  for (let i = 0; i < size / 2; i++) {
    if (i % 10 === 0) {
      w.removeAt(Math.floor(w.r() * w.live.length));
      w.add(w.make());
    } else list.upsert(w.joinOrLeave());
  }

  log(`${size} games: heap +${(heapMB() - heapBefore).toFixed(0)} MB for index and summaries${'gc' in globalThis ? '' : ' (approximate: run node with --expose-gc)'}`);

  const open: GameFilter = { status: 'open' };
  const any: GameFilter = { status: 'any' };
  const newest: GameSort = { by: 'created', order: 'desc' };
  const warm = (fn: (i: number) => void) => {
    for (let i = 0; i < 200; i++) fn(i);
  };
  const run = (name: string, fn: (i: number) => void, n = samples) => {
    warm(fn);
    rows.push(stats(size, name, time(n, fn)));
  };

  run('list: first page, no filter (20)', () => list.query({ filter: any, sort: newest, limit: 20 }));
  run('list: first page, open (100)', () => list.query({ filter: open, sort: newest, limit: 100 }));
  const typed: GameFilter[] = [];
  for (const gameType of GAME_TYPES)
    for (const region of REGIONS) typed.push({ gameType, status: 'open', hasFreeSeats: true, attributes: [{ key: 'region', op: 'eq', value: region }] });
  run('list: type+open+free+region (20)', (i) => list.query({ filter: typed[i % typed.length]!, sort: newest, limit: 20 }));
  const mixed: GameFilter[] = typed.map((f, i) => ({
    ...f,
    hasPassword: false,
    attributes: [...f.attributes!, { key: 'map', op: 'in', value: [MAPS[i % MAPS.length]!, MAPS[(i + 3) % MAPS.length]!] }, { key: 'minRank', op: 'le', value: 20 }],
  }));
  run('list: type+open+free+3 attrs (20)', (i) => list.query({ filter: mixed[i % mixed.length]!, sort: newest, limit: 20 }));
  run('list: nameContains word (20)', (i) => list.query({ filter: { status: 'any', nameContains: WORDS[i % WORDS.length]! }, sort: newest, limit: 20 }));
  run('list: nameContains 2 words (20)', (i) =>
    list.query({ filter: { status: 'open', nameContains: `${WORDS[i % WORDS.length]!} ${WORDS[(i * 7 + 3) % WORDS.length]!}` }, sort: newest, limit: 20 }),
  );
  run('list: level filter, sort players (20)', (i) => list.query({ filter: { status: 'open', hasFreeSeats: true, level: 1 + (i % 60) }, sort: { by: 'players', order: 'desc' }, limit: 20 }));
  for (const sort of SORTS) run(`list: open, sort ${sort.by} ${sort.order} (50)`, () => list.query({ filter: open, sort, limit: 50 }));

  // Deep pages: follow the cursor through the whole list (restart at the end).
  for (const [name, filter, sort] of [
    ['list: deep pages by cursor, no filter (100)', any, newest],
    ['list: deep pages by cursor, open, by players (100)', open, { by: 'players', order: 'desc' }],
  ] as const) {
    let cursor: string | undefined;
    run(name, () => {
      const page = list.query(cursor === undefined ? { filter, sort, limit: 100 } : { filter, sort, limit: 100, cursor });
      cursor = page.cursor;
    });
  }
  run('list: nothing matches (scan cap)', () => list.query({ filter: { status: 'any', nameContains: 'zzzz' }, sort: newest, limit: 20 }), Math.min(samples, 500));

  run('upsert: player joins/leaves', () => list.upsert(w.joinOrLeave()));
  run('upsert: game starts (status change)', () => {
    const g = w.joinOrLeave();
    w.set({ ...g, inProgress: !g.inProgress });
  });
  run('remove one + create one', () => {
    w.removeAt(Math.floor(w.r() * w.live.length));
    w.add(w.make());
  });

  const profiles = Array.from({ length: 256 }, () => ({
    level: w.int(1, 60),
    rating: Math.round(1000 + (w.r() + w.r() + w.r() - 1.5) * 600),
    ...(w.r() < 0.5 ? { school: w.pick(SCHOOLS) } : {}),
  }));
  run('quickJoin', (i) => list.quickJoin(GAME_TYPES[i % GAME_TYPES.length]!, profiles[i % profiles.length]!));
  const exclude = new Set(w.live.slice(0, 5).map((g) => g.id));
  run('quickJoin with exclude', (i) => list.quickJoin(GAME_TYPES[i % GAME_TYPES.length]!, profiles[i % profiles.length]!, exclude));
  return rows;
}

function table(rows: ListBenchRow[]): string {
  const head = ['games', 'case', 'n', 'p50 µs', 'p99 µs', 'max µs'];
  const fmt = (x: number) => (Number.isNaN(x) ? '' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
  const body = rows.map((r) => [String(r.games), r.case, String(r.n), fmt(r.p50Us), fmt(r.p99Us), fmt(r.maxUs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** Runs the game list benchmark and prints its table; returns the rows. */
export function runListBench(options: ListBenchOptions = {}): ListBenchRow[] {
  const sizes = options.sizes ?? [10_000, 100_000];
  const samples = options.samples ?? 3_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const rows: ListBenchRow[] = [];
  log(`game list index (node ${process.version}; per call, one at a time)`);
  for (const size of sizes) rows.push(...benchSize(size, samples, options.seed ?? 42, log));
  log(table(rows));
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, samples: { type: 'string' } } });
  runListBench({
    ...(values.sizes === undefined ? {} : { sizes: values.sizes.split(',').map(Number) }),
    ...(values.samples === undefined ? {} : { samples: Number(values.samples) }),
  });
}
