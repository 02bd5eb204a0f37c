import type { Counter, Registry } from 'prom-client';

/** One op's requests since the node started. */
interface OpTally {
  /** Outcome (ok or an error code) → requests. */
  outcomes: Map<string, number>;
  /** Requests whose time was ≤ each bound (not cumulative), the last slot past every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * foyer_requests_total and foyer_request_duration_seconds, kept in plain
 * numbers per op and handed to the registry when /metrics is read.
 * prom-client's labelled inc and observe hash their labels at every call, a
 * few µs that every request (a chat line every 250 ms per player) paid twice.
 * The counter stays a prom-client Counter (admin views read it), filled from
 * the tally when read; the histogram is written out here.
 */
export class RequestMetrics {
  private readonly ops = new Map<string, OpTally>();
  /** Counted into `requests` already, per op and outcome. */
  private readonly flushed = new Map<string, Map<string, number>>();

  constructor(
    registry: Registry,
    private readonly requests: Counter<'op' | 'outcome'>,
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    (requests as Counter<'op' | 'outcome'> & { collect?: () => void }).collect = () => this.flushCounts();
    const histogram = { name, help, type: 'histogram', aggregator: 'sum', get: () => this.histogram(), reset: () => this.ops.clear() };
    registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** One request of `op` with its outcome and, when it ran, its time. */
  record(op: string, outcome: string, seconds?: number): void {
    let t = this.ops.get(op);
    if (!t) this.ops.set(op, (t = { outcomes: new Map(), buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    t.outcomes.set(outcome, (t.outcomes.get(outcome) ?? 0) + 1);
    if (seconds === undefined) return;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    t.buckets[i]!++;
    t.sum += seconds;
    t.count++;
  }

  private flushCounts(): void {
    for (const [op, t] of this.ops) {
      let done = this.flushed.get(op);
      if (!done) this.flushed.set(op, (done = new Map()));
      for (const [outcome, n] of t.outcomes) {
        const add = n - (done.get(outcome) ?? 0);
        if (add > 0) this.requests.inc({ op, outcome }, add);
        done.set(outcome, n);
      }
    }
  }

  /** In prom-client's shape: cumulative buckets with `le`, then _sum and _count, per op. */
  private histogram() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [op, t] of this.ops) {
      if (!t.count) continue;
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += t.buckets[i]!;
        values.push({ labels: { le, op }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', op }, value: t.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { op }, value: t.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { op }, value: t.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
