/** Formatting, statistics, tables, bounded concurrency and error counting. */
import { performance } from 'node:perf_hooks';

export const MiB = 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
export const fmtInt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
/** A share of one core (0.12) as "12%". */
export const pct = (share: number, d = 0) => (Number.isFinite(share) ? `${(share * 100).toFixed(d)}%` : '-');
/** Milliseconds on a clock every thread of this process shares. */
export const now = () => performance.timeOrigin + performance.now();
export const say = (s = '') => void process.stdout.write(s + '\n');

// ---- statistics ----

export interface Stats {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of `values` (NaN entries are ignored). */
export function stats(values: ArrayLike<number>): Stats {
  const sorted = Float64Array.from(values as ArrayLike<number>).filter((v) => !Number.isNaN(v)).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function statsLine(s: Stats, unit = 'ms'): string {
  return `n ${fmtInt(s.count)}, p50 ${fmt(s.p50, 2)} ${unit}, p99 ${fmt(s.p99, 2)} ${unit}, p99.9 ${fmt(s.p999, 2)} ${unit}, max ${fmt(s.max, 1)} ${unit}`;
}

/** A growable array of doubles (latency samples) without boxing. */
export class Samples {
  private buf: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

// ---- tables ----

/** A Markdown table; columns of numbers are right-aligned, the others left-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => i > 0 && rows.every((r) => /^[-+≤<>~]?\s*[\d.,]|^-?$|^-$/.test(r[i] ?? '')));
  const line = (cells: string[]) => '| ' + widths.map((w, i) => (numeric[i] ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|') + '|';
  return [line(head), sep, ...rows.map(line)].join('\n');
}

// ---- concurrency and errors ----

/** Runs `fn(0..count-1)` with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(concurrency, count)) }, runner));
}

/** Counts failures and keeps a few distinct messages to show. */
export class Errors {
  count = 0;
  readonly samples = new Map<string, number>();
  add(err: unknown): void {
    this.count++;
    const key = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`.slice(0, 160) : String(err);
    this.samples.set(key, (this.samples.get(key) ?? 0) + 1);
  }
  /** A tally sent as plain data (from a worker thread). */
  static from(data: { count: number; samples: [string, number][] }): Errors {
    const e = new Errors();
    e.count = data.count;
    for (const [k, c] of data.samples) e.samples.set(k, c);
    return e;
  }
  /** Adds another tally's failures to this one. */
  addAll(other: Errors): void {
    this.count += other.count;
    for (const [k, c] of other.samples) this.samples.set(k, (this.samples.get(k) ?? 0) + c);
  }
  toString(): string {
    return [...this.samples].slice(0, 5).map(([k, c]) => `${c}× ${k}`).join('; ');
  }
}
