/** Evening teams out by swapping tickets of equal size between the strongest and the weakest. */
import type { QueueConfig } from '@foyer/shared';
import { EPS, type Entry } from './state.js';

export function balance(c: QueueConfig, teams: Entry[][], sums: number[]): number {
  const T = teams.length;
  const spread = (): [number, number, number] => {
    let hi = 0;
    let lo = 0;
    for (let t = 1; t < T; t++) {
      if (sums[t]! > sums[hi]!) hi = t;
      if (sums[t]! < sums[lo]!) lo = t;
    }
    return [hi, lo, sums[hi]! - sums[lo]!];
  };
  const sideOk = (e: Entry, t: number) => (e.side === 1 ? t === 0 : e.side === 2 ? t === 1 : true);
  const uniqOk = (e: Entry, team: Entry[], out: Entry): boolean => {
    if (!e.uniq || e.uniq.length === 0) return true;
    for (const x of team) if (x !== out && x.uniq) for (const v of x.uniq) if (e.uniq.includes(v)) return false;
    return true;
  };
  let [hi, lo, gap] = spread();
  for (let round = 0; round < 4 * c.teamSize && gap > EPS && T > 1; round++) {
    let best: [number, number] | null = null;
    let bestGap = gap;
    const A = teams[hi]!;
    const B = teams[lo]!;
    for (let x = 0; x < A.length; x++) {
      const ex = A[x]!;
      for (let y = 0; y < B.length; y++) {
        const ey = B[y]!;
        if (ex.size !== ey.size || ex.sum <= ey.sum || !sideOk(ex, lo) || !sideOk(ey, hi)) continue;
        const d = ex.sum - ey.sum;
        let max = Math.max(sums[hi]! - d, sums[lo]! + d);
        let min = Math.min(sums[hi]! - d, sums[lo]! + d);
        for (let t = 0; t < T; t++) {
          if (t === hi || t === lo) continue;
          max = Math.max(max, sums[t]!);
          min = Math.min(min, sums[t]!);
        }
        if (max - min < bestGap - EPS && (c.uniqueAttribute === undefined || (uniqOk(ex, B, ey) && uniqOk(ey, A, ex)))) {
          bestGap = max - min;
          best = [x, y];
        }
      }
    }
    if (!best) break;
    const [x, y] = best;
    const ex = A[x]!;
    const ey = B[y]!;
    A[x] = ey;
    B[y] = ex;
    sums[hi] = sums[hi]! - ex.sum + ey.sum;
    sums[lo] = sums[lo]! + ex.sum - ey.sum;
    [hi, lo, gap] = spread();
  }
  return gap / c.teamSize;
}
