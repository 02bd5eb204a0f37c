/** The game list: the index's entry point (upsert, remove, query, quick join, subscriptions). */
import type { GameFilter, GameSort, GameSummary } from '@foyer/shared';
import { decodeCursor, encodeCursor } from './cursor.js';
import { Entry, VACANT, cmpKey, statusOf } from './entry.js';
import { type Test, compile, metaOf } from './filters.js';
import { MAX_SLOTS, type Tab, type Visit, lowerBound } from './orderedSets.js';
import { QjCell, QjRow, QjType, finite, levelBin, quickJoinable, ratingBin } from './quickJoin.js';
import { Partition } from './scopes.js';

/** Most games one `query` examines. A very selective filter may stop here with a short (even empty) page and a cursor to continue from the last examined game. */
export const MAX_SCAN = 10_000;
/** Most entries one `quickJoin` examines (candidates that fail the profile's level bounds, school or `exclude` count too). */
export const QUICK_JOIN_MAX_SCAN = 10_000;
/** How many candidates `quickJoin` returns at most. */
export const QUICK_JOIN_CANDIDATES = 10;
export const MAX_LIMIT = 100;

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

  /** Every listed game, in no order (an operator's search over the whole list). */
  *summaries(): IterableIterator<GameSummary> {
    for (const e of this.entries.values()) yield e.g;
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
