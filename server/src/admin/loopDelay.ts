import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * prom-client's default metrics sample the event loop's delay with a timer
 * every 10 ms, forever: 100 wake-ups a second, which were most of what an
 * idle cluster node spends (bench:cluster part 5, docs/performance.md). They
 * get a resolution so long that their sampler never fires; the delay figures
 * are taken here instead, by a sampler armed only while something needs it.
 */
export const UNUSED_SAMPLER_MS = 2 ** 31 - 1;

const FIGURES = [
  ['min', 'The minimum recorded event loop delay.', (h: Histogram) => h.min],
  ['max', 'The maximum recorded event loop delay.', (h: Histogram) => h.max],
  ['mean', 'The mean of the recorded event loop delays.', (h: Histogram) => h.mean],
  ['stddev', 'The standard deviation of the recorded event loop delays.', (h: Histogram) => h.stddev],
  ['p50', 'The 50th percentile of the recorded event loop delays.', (h: Histogram) => h.percentile(50)],
  ['p90', 'The 90th percentile of the recorded event loop delays.', (h: Histogram) => h.percentile(90)],
  ['p99', 'The 99th percentile of the recorded event loop delays.', (h: Histogram) => h.percentile(99)],
] as const;

type Histogram = ReturnType<typeof monitorEventLoopDelay>;

/**
 * `<prefix>nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`,
 * the names and meaning prom-client gives them (a sample every 10 ms, its
 * delay including those 10 ms; reset at each scrape), sampled only while
 * `sampling` is on: the gateway turns it on while the node has a client
 * connection, whose frames are what wait behind a busy loop. A scrape that
 * follows a time with no samples reads 0.
 */
export class LoopDelay {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private on = false;

  constructor(registry: Registry, prefix: string) {
    const h = this.histogram;
    // The first gauge's collect sets them all, then starts a new window (each scrape reads the time since the last).
    const collect = () => {
      FIGURES.forEach(([, , read], i) => gauges[i]!.set(h.count ? read(h) / 1e9 : 0));
      h.reset();
    };
    const gauges: Gauge[] = FIGURES.map(([figure, help], i) => {
      const name = `${prefix}nodejs_eventloop_lag_${figure}_seconds`;
      registry.removeSingleMetric(name); // prom-client's, fed by its sampler that never fires
      return new Gauge({ name, help, registers: [registry], ...(i === 0 && { collect }) });
    });
  }

  get sampling(): boolean {
    return this.on;
  }

  set sampling(on: boolean) {
    if (on === this.on) return;
    this.on = on;
    if (on) this.histogram.enable();
    else this.histogram.disable();
  }
}
