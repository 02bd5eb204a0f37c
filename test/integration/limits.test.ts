import { describe, expect, it } from 'vitest';
import { transport, withNode, type TestNode } from '../helpers/node.js';
import { startProxy } from '../helpers/proxy.js';
import { RawClient } from '../helpers/raw.js';

async function loggedIn(t: TestNode, options = {}): Promise<RawClient> {
  const raw = new RawClient(`${t.url}/?v=2`, options);
  const r = await raw.request('auth.guest', { name: 'Lim' });
  expect(r.ok).toBe(true);
  return raw;
}

describe('limits', () => {
  it('answers RATE_LIMITED past the burst, then closes a client that keeps going with 4002', () =>
    withNode({ rateLimitBurst: 5, rateLimitPerSec: 1, rateLimitStrikes: 3 }, async (t) => {
      const raw = await loggedIn(t);
      for (let i = 0; i < 30; i++) raw.send({ id: 100 + i, op: 'session.ping', data: {} });
      const closed = await raw.closed;
      expect(closed.code).toBe(4002);
      const limited = raw.frames.filter((f) => f.error?.code === 'RATE_LIMITED');
      const ok = raw.frames.filter((f) => f.re >= 100 && f.ok);
      expect(ok.length).toBeLessThanOrEqual(5);
      expect(limited.length).toBeGreaterThanOrEqual(3);
    }));

  it('closes a connection that sends a frame over maxFrameBytes with 1009', () =>
    withNode({ maxFrameBytes: 1024 }, async (t) => {
      const raw = await loggedIn(t);
      raw.send({ id: 77, op: 'session.ping', data: { pad: 'x'.repeat(1500) } });
      expect((await raw.closed).code).toBe(1009);
      expect(raw.frames.some((f) => f.re === 77)).toBe(false);
      // However far over the limit, before the node reads it all; uWebSockets.js cuts a frame
      // over 4x the limit itself, without a close frame (documented with the close codes).
      const big = await loggedIn(t);
      big.send('x'.repeat(16 * 1024 * 1024));
      expect((await big.closed).code).toBe(transport === 'uws' ? 1006 : 1009);
    }));

  it('closes a connection that sends a text frame that is not UTF-8 with 1007 (uws: cut by uWebSockets.js, 1006)', () =>
    withNode({}, async (t) => {
      const raw = await loggedIn(t);
      raw.sendRawText(Buffer.from([0x7b, 0xc3, 0x28, 0x7d])); // "{", a broken two-byte sequence, "}"
      expect((await raw.closed).code).toBe(transport === 'uws' ? 1006 : 1007);
    }));

  it('closes a client that does not answer pings (uws: cut by uWebSockets.js, 1006), counts it as 4006, and keeps one that does', () =>
    withNode({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 }, async (t) => {
      const silent = await loggedIn(t, { autoPong: false });
      const lively = await loggedIn(t);
      let pings = 0;
      let wake = () => {};
      lively.ws.on('ping', () => (pings++, wake()));
      const pinged = (n: number) =>
        Promise.race([
          new Promise<void>((resolve) => (wake = () => pings >= n && resolve())),
          lively.closed.then((c) => expect.fail(`the lively client was closed (${c.code})`)),
        ]);
      // uws: uWS's idle timeout, 8 s for this 1 s timeout (4 s ticks, transport/uws.ts); ws: the gateway's 1 s.
      expect((await silent.closed).code).toBe(transport === 'uws' ? 1006 : 4006);
      expect(await (await fetch(`${t.httpUrl}/metrics`)).text()).toMatch(/foyer_closes_total\{reason="4006"\} 1\n/);
      // Pinged (and answering) for longer than a check's period after the silent one's end: judged, and kept.
      await pinged(pings + (transport === 'uws' ? 50 : 12));
      expect(lively.ws.readyState).toBe(lively.ws.OPEN);
      lively.close();
    }), 30_000);

  it('closes a connection that does not log in within authTimeoutMs with 4007', () =>
    withNode({ authTimeoutMs: 100 }, async (t) => {
      const raw = new RawClient(`${t.url}/?v=2`);
      expect((await raw.closed).code).toBe(4007);
    }));

  it('disconnects a client that stops reading once maxBufferedBytes wait for it', () =>
    withNode({ maxBufferedBytes: 64 * 1024 }, async (t) => {
      const proxy = await startProxy(t.node.port);
      try {
        const reader = new RawClient(`ws://127.0.0.1:${proxy.port}/?v=2`);
        const me = (await reader.request('auth.guest', { name: 'Slow' })).data.userId as string;
        proxy.stall();
        const text = 'y'.repeat(2000);
        const cutOff = async () => /foyer_closes_total\{reason="4003"\} 1/.test(await (await fetch(`${t.httpUrl}/metrics`)).text());
        let sent = 0;
        // Kernel buffers take a few MB first; then the node's own buffer grows past the cap.
        while (!(await cutOff())) {
          await Promise.all(Array.from({ length: 100 }, () => t.admin('POST', '/admin/notice', { userId: me, text })));
          sent += 100 * text.length;
          expect(sent).toBeLessThan(64 * 1024 * 1024);
        }
        // A reader that catches up learns why it was cut off (the close frame follows the backlog).
        proxy.resume();
        expect((await reader.closed).code).toBe(4003);
        // The node holds the session for a resume, but no longer the connection or its backlog
        // (the transport may report the socket gone a moment after the client saw it close).
        await expect.poll(async () => (await t.admin('GET', '/admin/stats')).body.connections).toBe(0);
        expect((await t.admin('GET', '/admin/stats')).body.sessions).toBe(1);
        expect(t.logs.join('')).not.toContain('"level":50');
      } finally {
        await proxy.close();
      }
    }));
});
