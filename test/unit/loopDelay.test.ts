import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { LoopDelay, UNUSED_SAMPLER_MS } from '../../server/src/admin/loopDelay.js';

const p99 = async (r: Registry) => Number(/^t_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(await r.metrics())?.[1]);

describe('event loop delay figures', () => {
  it('replace prom-client\'s, and are sampled only while turned on', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 't_', eventLoopMonitoringPrecision: UNUSED_SAMPLER_MS });
    const delay = new LoopDelay(registry, 't_');
    try {
      const text = await registry.metrics();
      expect(text.match(/^# TYPE t_nodejs_eventloop_lag_p99_seconds gauge$/gm)).toHaveLength(1);
      expect(text).toMatch(/^t_nodejs_eventloop_lag_seconds /m); // prom-client's own, measured at the scrape
      expect(await p99(registry)).toBe(0); // off: nothing sampled
      delay.sampling = true;
      // Each sample is the time between two ticks of the 10 ms sampler: at least about 10 ms.
      await vi.waitFor(async () => expect(await p99(registry)).toBeGreaterThan(0.005), { timeout: 5000, interval: 50 });
      delay.sampling = false;
      await registry.metrics(); // the window that had samples ends
      expect(await p99(registry)).toBe(0);
    } finally {
      delay.sampling = false;
    }
  });
});
