import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactedConfig, settingsTable } from '../../server/src/config.js';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ port: 8080, transport: 'uws', loginPolicy: 'replace', heartbeatIntervalMs: 15_000 });
  });

  it('takes flags over env over defaults, in both flag forms', () => {
    expect(loadConfig(['--port', '9001'], { PORT: '9000' }).port).toBe(9001);
    expect(loadConfig(['--port=9002'], { PORT: '9000' }).port).toBe(9002);
    expect(loadConfig([], { PORT: '9000' }).port).toBe(9000);
    expect(loadConfig(['--transport', 'ws'], {}).transport).toBe('ws');
  });

  it('names every bad setting at once, without echoing secrets', () => {
    let message = '';
    try {
      loadConfig([], { PORT: '70000', FOYER_TRANSPORT: 'carrier-pigeon', FOYER_TOKEN_SECRET: 'short-secret' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/PORT \/ --port/);
    expect(message).toMatch(/FOYER_TRANSPORT \/ --transport/);
    expect(message).toMatch(/FOYER_TOKEN_SECRET .*at least 32/);
    expect(message).not.toContain('short-secret');
  });

  it('refuses a queue definition with a key it does not know, naming the key', () => {
    const queues = (q: object) => JSON.stringify([{ name: 'duel', teamSize: 1, ...q }]);
    expect(loadConfig([], { FOYER_QUEUES: queues({ sides: true }) }).queues[0]).toMatchObject({ name: 'duel', sides: true });
    expect(() => loadConfig([], { FOYER_QUEUES: queues({ bogus: 1 }) })).toThrow(ConfigError);
    expect(() => loadConfig([], { FOYER_QUEUES: queues({ bogus: 1 }) })).toThrow(/FOYER_QUEUES \/ --queues: \[0\]: Unrecognized key: "bogus"/);
    // Nested objects too: a typo in `rating` must not leave the window at its default.
    expect(() => loadConfig([], { FOYER_QUEUES: queues({ rating: { initialWindw: 50 } }) })).toThrow(/\[0\]\.rating: Unrecognized key: "initialWindw"/);
  });

  it('refuses a heartbeat timeout not above the interval', () => {
    expect(() => loadConfig([], { FOYER_HEARTBEAT_INTERVAL_MS: '5000', FOYER_HEARTBEAT_TIMEOUT_MS: '5000' })).toThrow(/greater than/);
  });

  it('shows secrets only as set or unset', () => {
    const c = loadConfig([], { FOYER_ADMIN_TOKEN: 'sixteen-chars-long-token', FOYER_TOKEN_SECRET: 'x'.repeat(40) });
    const r = redactedConfig(c);
    expect(r.adminToken).toBe('set');
    expect(r.tokenSecret).toBe('set');
    expect(r.externalJwtSecret).toBe('unset');
    expect(JSON.stringify(r)).not.toContain('sixteen-chars');
  });

  it('documents every setting with its env variable, flag and default', () => {
    const rows = settingsTable();
    expect(rows.find((r) => r.key === 'port')).toMatchObject({ env: 'PORT', flag: '--port', default: '8080' });
    for (const r of rows) expect(r.doc.length).toBeGreaterThan(10);
  });
});
