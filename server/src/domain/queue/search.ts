/** The depth-first search for a match around one anchor ticket. */
import type { QueueConfig } from '@foyer/shared';
import { balance } from './balance.js';
import { type Budget, Candidates } from './candidates.js';
import { EPS, type Entry, type QueueLimits, intersect } from './state.js';

// ---------------------------------------------------------------- search

export interface Pick {
  teams: Entry[][];
  region?: string;
}

/**
 * Depth-first over `list` (the anchor first, then candidates oldest first):
 * each ticket is placed whole in a team that has room (lowest rating sum
 * first) or, except the anchor, left out. A full set of teams is balanced by
 * swaps and accepted when its team means are within `w`.
 */
export function search(c: QueueConfig, l: QueueLimits, cands: Candidates, w: number, budget: Budget): Pick | null {
  const T = c.teams;
  const size = c.teamSize;
  const list = cands.list;
  const cap: number[] = new Array<number>(T).fill(size);
  const sums: number[] = new Array<number>(T).fill(0);
  const members: Entry[][] = Array.from({ length: T }, () => []);
  const uniq: Set<string | number>[] | null = c.uniqueAttribute === undefined ? null : Array.from({ length: T }, () => new Set());
  let nodes = 0;
  let result: Pick | null = null;

  const fits = (e: Entry, t: number): boolean => {
    if (cap[t]! < e.size) return false;
    if (e.side === 1 ? t !== 0 : e.side === 2 ? t !== 1 : false) return false;
    if (uniq && e.uniq) for (const v of e.uniq) if (uniq[t]!.has(v)) return false;
    return true;
  };

  const leaf = (): boolean => {
    const teams = members.map((m) => [...m]);
    const gap = balance(c, teams, [...sums]);
    if (gap > w + EPS) return false;
    result = { teams };
    if (list[0]!.regions) {
      // Every ticket is in the lane's region; the best region they all share may be another.
      let regions = list[0]!.regions;
      for (const team of teams) for (const e of team) regions = intersect(regions, e.regions!);
      let best = 0;
      for (let k = 1; k < regions.names.length; k++) {
        const d = regions.worst[k]! - regions.worst[best]!;
        if (d < 0 || (d === 0 && regions.names[k]! < regions.names[best]!)) best = k;
      }
      result.region = regions.names[best]!;
    }
    return true;
  };

  /**
   * Once every candidate is known: can list[i..] still fill the room left?
   * In all (players), and per side: team 0 takes side A and any, team 1 side
   * B and any, other teams any only.
   */
  const coverable = (i: number, room: number): boolean => {
    const n = list.length;
    const all = cands.prefix[n]! - cands.prefix[i]!;
    if (all < room) return false;
    if (!c.sides) return true;
    const a = cands.prefixA[n]! - cands.prefixA[i]!;
    const b = cands.prefixB[n]! - cands.prefixB[i]!;
    const any = all - a - b;
    if (cap[0]! > any + a) return false;
    if (T > 1 && cap[1]! > any + b) return false;
    let others = 0;
    for (let t = 2; t < T; t++) others += cap[t]!;
    return others + Math.max(0, cap[0]! - a) + (T > 1 ? Math.max(0, cap[1]! - b) : 0) <= any;
  };

  const rec = (i: number, remaining: number): boolean => {
    if (remaining === 0) return leaf();
    if (i >= list.length && !cands.more()) return false;
    if (cands.exhausted && !coverable(i, remaining)) return false;
    if (++nodes > l.searchNodesPerAnchor || --budget.left < 0) return false;
    const e = list[i]!;
    // Teams with room, lowest rating sum first (then most room, then index): an insertion sort of at most 8.
    const teams: number[] = [];
    for (let t = 0; t < T; t++) {
      if (!fits(e, t)) continue;
      let j = teams.length;
      teams.push(t);
      while (j > 0) {
        const u = teams[j - 1]!;
        if (sums[u]! < sums[t]! || (sums[u] === sums[t] && cap[u]! >= cap[t]!)) break;
        teams[j] = u;
        j--;
      }
      teams[j] = t;
    }
    let triedEmpty = false;
    for (const t of teams) {
      if (!c.sides && cap[t] === size) {
        // Empty teams are interchangeable without sides: try one of them only.
        if (triedEmpty) continue;
        triedEmpty = true;
      }
      cap[t] = cap[t]! - e.size;
      sums[t] = sums[t]! + e.sum;
      members[t]!.push(e);
      if (uniq && e.uniq) for (const v of e.uniq) uniq[t]!.add(v);
      if (rec(i + 1, remaining - e.size)) return true;
      cap[t] = cap[t]! + e.size;
      sums[t] = sums[t]! - e.sum;
      members[t]!.pop();
      if (uniq && e.uniq) for (const v of e.uniq) uniq[t]!.delete(v);
      if (nodes > l.searchNodesPerAnchor || budget.left < 0) return false;
    }
    if (i === 0) return false; // the anchor is in, or there is no match
    return rec(i + 1, remaining);
  };

  return rec(0, T * size) ? result : null;
}

/**
 * Improves full teams in place by swapping equal-size tickets between the
 * strongest and the weakest team while the largest gap of team means shrinks
 * (sides and the unique attribute respected). Returns that gap.
 */
