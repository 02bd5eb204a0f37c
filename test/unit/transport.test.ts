import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTransport } from '../../server/src/transport/index.js';
import { uwsIdleSeconds } from '../../server/src/transport/uws.js';

describe('transport choice', () => {
  it('falls back to ws with a log line when the uWebSockets.js binding cannot load', () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const opts = { host: '127.0.0.1', port: 0, maxFrameBytes: 1024, maxBufferedBytes: 1024, maxHttpBodyBytes: 1024, heartbeatTimeoutMs: 10_000, onConnection: () => ({ message() {}, pong() {}, close() {} }), onHttp: async () => ({ status: 404 }) };
    const t = createTransport('uws', opts, log, () => {
      throw new Error('GLIBC_2.38 not found');
    });
    expect(t.name).toBe('ws');
    expect(lines.join('')).toMatch(/falling back to the ws transport/);
    expect(lines.join('')).toMatch(/GLIBC_2.38/);
  });
});

describe('uWS idle timeout for a heartbeat timeout', () => {
  // uWS checks its timers every 4 s and counts an idle timeout in those ticks from the last byte received:
  // a silent socket is cut after between idle − 4 and idle seconds.
  it('cuts no silent socket before the heartbeat timeout, and each within 8 s after it', () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 956_000 }), (ms) => {
        const idle = uwsIdleSeconds(ms)!;
        expect(idle % 4).toBe(0);
        expect(idle).toBeGreaterThanOrEqual(8);
        expect(idle).toBeLessThanOrEqual(960);
        expect((idle - 4) * 1000).toBeGreaterThanOrEqual(ms);
        expect(idle * 1000 - ms).toBeLessThanOrEqual(8000);
      }),
    ));

  it('leaves a timeout uWS cannot keep (its limit is 960 s) to the gateway', () => {
    expect(uwsIdleSeconds(956_000)).toBe(960);
    expect(uwsIdleSeconds(956_001)).toBeUndefined();
  });
});
