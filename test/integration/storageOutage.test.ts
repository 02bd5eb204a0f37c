import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { Config } from '../../server/src/config.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);

/**
 * The outcome of `call` once storage is back: the breaker that opened during
 * the outage fails calls at once for a while, then lets one probe through.
 */
async function onceRecovered<T>(call: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: string }).code !== 'STORAGE_UNAVAILABLE' || tries >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100)); // the breaker reopens on its clock; there is no event to await
    }
  }
}

/** A node that reaches the run's Postgres through a proxy the test controls. */
async function nodeBehindProxy(overrides: Partial<Config>): Promise<{ t: TestNode; db: Proxy }> {
  const url = new URL(inject('databaseUrl'));
  const db = await startProxy(Number(url.port || 5432), url.hostname);
  url.hostname = '127.0.0.1';
  url.port = String(db.port);
  return { t: await startTestNode({ databaseUrl: url.toString(), ...overrides }), db };
}

/**
 * Postgres "goes down" for one node only: the node reaches the database
 * through a proxy that drops and refuses connections, so the rest of the
 * test run, sharing the real server, is undisturbed.
 */
describe('storage outage', () => {
  let t: TestNode;
  let db: Proxy;
  beforeAll(async () => {
    ({ t, db } = await nodeBehindProxy({}));
  });
  afterAll(async () => {
    await t.stop();
    await db.close();
  });

  it('answers STORAGE_UNAVAILABLE for what needs the database, keeps games going, and recovers without a restart', async () => {
    const ann = await t.guest('Outage Ann');
    const ben = await t.guest('Outage Ben');
    await ann.call('profile.update', { school: 'mage' }); // acknowledged before the outage
    const { game } = await ann.call('game.create', { name: 'During', gameType: 'outage' });

    db.block(true);
    db.cut();
    const newcomer = t.client();
    await newcomer.connect();
    expect(await code(newcomer.call('auth.guest', { name: 'Too soon' }))).toBe('STORAGE_UNAVAILABLE');
    expect(await code(ann.call('profile.get', {}))).toBe('STORAGE_UNAVAILABLE');
    // Games live in memory: they go on.
    expect((await ben.call('game.join', { gameId: game.id })).game.players).toHaveLength(2);
    await ann.call('chat.send', { channel: 'game', text: 'still here' });
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);

    db.block(false);
    expect((await onceRecovered(() => newcomer.call('auth.guest', { name: 'Back again' }))).name).toBe('Back again');
    expect((await ann.call('profile.get', {})).profile.school).toBe('mage');
  });
});

/**
 * Postgres that accepts connections and never answers (a hung server, a
 * network that drops packets): calls must not wait on it longer than the
 * storage timeout, and not at all once it is known to be down.
 */
describe('storage that never answers', () => {
  // Long enough that the six quick calls below surely answer before it, on a loaded machine too.
  const TIMEOUT_MS = 2000;
  let t: TestNode;
  let db: Proxy;
  beforeAll(async () => {
    ({ t, db } = await nodeBehindProxy({ storageTimeoutMs: TIMEOUT_MS }));
  });
  afterAll(async () => {
    await t.stop();
    await db.close();
  });

  const timed = async (p: Promise<unknown>) => {
    const started = performance.now();
    const outcome = await code(p);
    return { outcome, ms: performance.now() - started };
  };

  it('fails storage calls with STORAGE_UNAVAILABLE within the timeout, then at once; ping, chat and game ops go on, the same player\'s too; it recovers', async () => {
    const ann = await t.guest('Hole Ann');
    const ben = await t.guest('Hole Ben');
    const { game } = await ann.call('game.create', { name: 'Hole', gameType: 'hole' });
    await ben.call('game.join', { gameId: game.id });
    // A session's first line looks up its chat ban in storage.
    await ben.call('chat.send', { channel: 'game', text: 'hello' });
    await ann.call('chat.send', { channel: 'game', text: 'hello' });

    db.blackhole(true);
    let stuckAnswered = false;
    const stuck = timed(ann.call('mail.list', {})).finally(() => (stuckAnswered = true));
    // While Ann's call waits on storage, Ben's requests that need none answer at once, and so do Ann's own: all of
    // them before her storage call gives up (TIMEOUT_MS), so none waited behind it. (Not a bound in milliseconds:
    // how fast "at once" is depends on the machine; whether they queued behind the stuck call does not.)
    for (const who of [ben, ann]) {
      const ping = await timed(who.call('session.ping', {}));
      const chat = await timed(who.call('chat.send', { channel: 'game', text: 'still here' }));
      const current = await timed(who.call('game.current', {}));
      expect(ping).toMatchObject({ outcome: 'ok' });
      expect(chat).toMatchObject({ outcome: 'ok' });
      expect(current).toMatchObject({ outcome: 'ok' });
      for (const r of [ping, chat, current]) expect(r.ms).toBeLessThan(TIMEOUT_MS);
    }
    expect(stuckAnswered).toBe(false);
    const first = await stuck;
    expect(first.outcome).toBe('STORAGE_UNAVAILABLE');
    expect(first.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(first.ms).toBeLessThan(TIMEOUT_MS + 1000);

    // Two more timeouts in a row open the breaker: from then on storage calls fail at once.
    for (let i = 0; i < 2; i++) expect((await timed(ben.call('profile.get', {}))).outcome).toBe('STORAGE_UNAVAILABLE');
    // The breaker is open: the call fails without waiting for a timeout.
    const fast = await timed(ann.call('profile.get', {}));
    expect(fast.outcome).toBe('STORAGE_UNAVAILABLE');
    expect(fast.ms).toBeLessThan(TIMEOUT_MS / 2);
    expect((await timed(ann.call('session.ping', {}))).outcome).toBe('ok');

    // Storage answers again: after the open period one call probes, and all is well.
    db.blackhole(false);
    expect((await onceRecovered(() => ann.call('profile.get', {}))).profile.name).toBe('Hole Ann');
    expect((await ben.call('profile.get', {})).profile.name).toBe('Hole Ben');
  });
});
