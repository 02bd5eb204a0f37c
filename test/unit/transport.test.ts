import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTransport } from '../../server/src/transport/index.js';

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
