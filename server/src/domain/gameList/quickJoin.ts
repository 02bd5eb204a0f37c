/** The quick join index: joinable games per gameType by (mean level, rating band) cell and free seats. */
import type { GameSummary } from '@foyer/shared';
import { Entry } from './entry.js';
import { Buckets, type Tab, lowerBound } from './orderedSets.js';

/** Quick join: this many rating points count as far as one level (see `quickJoinDistance`). */
export const RATING_BAND = 100;
export class QjCell {
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

export class QjRow {
  readonly bins: number[] = [];
  readonly cells = new Map<number, QjCell>();
}

export class QjType {
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

export const finite = (x: number): number => (Number.isFinite(x) ? x : 0);
export const levelBin = (meanLevel: number): number => Math.round(finite(meanLevel));
export const ratingBin = (meanRating: number): number => Math.round(finite(meanRating) / RATING_BAND);

/** Joinable by quick join regardless of who asks: open, unlocked, no password, a free seat, not friends-only. */
export function quickJoinable(g: GameSummary): boolean {
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
