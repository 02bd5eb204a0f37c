import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, startTestNode, type TestNode } from '../helpers/node.js';

describe('HTTP: health, metrics, admin API', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(() => t.stop());

  it('answers /healthz and /readyz', async () => {
    const h = await fetch(`${t.httpUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true });
    expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(200);
  });

  it('counts requests by op and outcome in /metrics', async () => {
    const c = await t.guest('Met');
    await c.call('session.ping', {});
    await c.call('auth.guest', { name: 'again' }).catch(() => {});
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(text).toMatch(/foyer_requests_total\{op="session.ping",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/foyer_requests_total\{op="auth.guest",outcome="ALREADY_AUTHENTICATED"\} 1/);
    expect(text).toMatch(/foyer_request_duration_seconds_count\{op="session.ping"\} [1-9]/);
    expect(text).toMatch(/foyer_connections [1-9]/);
  });

  it('names metrics by the Prometheus conventions, each prefix once', async () => {
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name: name!, type: type! }));
    expect(types.length).toBeGreaterThan(10);
    for (const { name, type } of types) {
      expect(name).toMatch(/^foyer_/);
      expect(name, 'a doubled prefix').not.toMatch(/^foyer_(\w+?_)\1/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
    }
    const names = types.map((m) => m.name);
    expect(names).toContain('foyer_process_resident_memory_bytes');
    expect(names).toContain('foyer_nodejs_eventloop_lag_seconds');
    expect(names).toContain('foyer_nodejs_eventloop_lag_p99_seconds'); // loopDelay.ts's, in place of prom-client's
  });

  it('counts the games this node owns, by state, as clients create and end them', async () => {
    const games = async () => {
      const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
      const n = (state: string) => Number(new RegExp(`^foyer_games\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      return { open: n('open'), inProgress: n('inProgress') };
    };
    const before = await games();
    expect(before.open).toBeGreaterThanOrEqual(0);
    const a = await t.guest('GaugeA');
    const b = await t.guest('GaugeB');
    await a.call('game.create', { name: 'Gauge one', gameType: 'dm' });
    await b.call('game.create', { name: 'Gauge two', gameType: 'dm' });
    expect(await games()).toEqual({ open: before.open + 2, inProgress: before.inProgress });
    await a.call('game.start', {});
    expect(await games()).toEqual({ open: before.open + 1, inProgress: before.inProgress + 1 });
    await b.call('game.leave', {}); // the last player leaving ends the game
    expect(await games()).toEqual({ open: before.open, inProgress: before.inProgress + 1 });
  });

  it('keeps the admin API behind the bearer token', async () => {
    expect((await fetch(`${t.httpUrl}/admin/stats`)).status).toBe(401);
    expect((await fetch(`${t.httpUrl}/admin/stats`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const ok = await t.admin('GET', '/admin/stats');
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveProperty('sessions');
  });

  it('delivers an admin notice to everyone, or to one user', async () => {
    const a = await t.guest('Ana');
    const b = await t.guest('Ben');
    const got = (c: typeof a) => new Promise<string>((resolve) => c.on('server.notice', (d) => resolve(d.text)));
    const both = Promise.all([got(a), got(b)]);
    expect((await t.admin('POST', '/admin/notice', { text: 'maintenance at noon' })).status).toBe(200);
    expect(await both).toEqual(['maintenance at noon', 'maintenance at noon']);

    const onlyB: string[] = [];
    a.on('server.notice', (d) => onlyB.push(`a:${d.text}`));
    const bGot = got(b);
    await t.admin('POST', '/admin/notice', { userId: b.userId, text: 'just you' });
    expect(await bGot).toBe('just you');
    await a.call('session.ping', {}); // a round trip: anything sent to a before it has arrived
    expect(onlyB).toEqual([]);
  });

  it('rejects a bad admin body with 400 and delivers nothing', async () => {
    const r = await t.admin('POST', '/admin/notice', { text: '' });
    expect(r.status).toBe(400);
    expect(r.body.issues[0].path).toEqual(['text']);
  });

  it('answers INTERNAL when a handler throws, logs it, and keeps serving', async () => {
    const spy = vi.spyOn((t.node.gateway.deps as any).tokens, 'issue').mockRejectedValueOnce(new Error('disk on fire'));
    const c = t.client();
    await c.connect();
    await expect(c.call('auth.guest', { name: 'Boom' })).rejects.toMatchObject({ code: 'INTERNAL' });
    spy.mockRestore();
    expect(t.logs.some((l) => l.includes('handler failed') && l.includes('disk on fire'))).toBe(true);
    expect((await c.call('auth.guest', { name: 'Fine' })).name).toBe('Fine');
  });

  it('never writes tokens or the admin secret to the log', async () => {
    const c = await t.guest('Sec');
    await c.call('auth.refresh', {});
    const d = t.client();
    await d.connect();
    await d.call('auth.token', { token: c.token! });
    const all = t.logs.join('\n');
    expect(all).toContain('login'); // the log did record these logins
    expect(all).not.toContain(c.token!);
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain('test-token-secret');
  });
});

describe('admin API off', () => {
  it('is 404 when FOYER_ADMIN_TOKEN is unset', async () => {
    const t = await startTestNode({ adminToken: undefined });
    try {
      const r = await fetch(`${t.httpUrl}/admin/stats`, { headers: { authorization: 'Bearer anything-at-all' } });
      expect(r.status).toBe(404);
    } finally {
      await t.stop();
    }
  });
});
