/** Scopes: the entries of all games or of one gameType, by status, in the orders a page walks. */
import type { GameSummary } from '@foyer/shared';
import { Entry, type StatusClass } from './entry.js';
import { Buckets, OrderedSet, type Tab } from './orderedSets.js';

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
export class Partition {
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
