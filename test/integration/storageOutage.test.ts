import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);

/**
 * Postgres "goes down" for one node only: the node reaches the database
 * through a proxy that drops and refuses connections, so the rest of the
 * test run, sharing the real server, is undisturbed.
 */
describe('storage outage', () => {
  let t: TestNode;
  let db: Proxy;
  beforeAll(async () => {
    const url = new URL(inject('databaseUrl'));
    db = await startProxy(Number(url.port || 5432), url.hostname);
    url.hostname = '127.0.0.1';
    url.port = String(db.port);
    t = await startTestNode({ databaseUrl: url.toString() });
  });
  afterAll(async () => {
    await t.stop();
    await db.close();
  });

  it('answers STORAGE_UNAVAILABLE for what needs the database, keeps games going, and recovers without a restart', async () => {
    const ann = await t.guest('Outage Ann');
    const ben = await t.guest('Outage Ben');
    await ann.call('profile.update', { level: 42 }); // acknowledged before the outage
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
    expect((await newcomer.call('auth.guest', { name: 'Back again' })).name).toBe('Back again');
    expect((await ann.call('profile.get', {})).profile.level).toBe(42);
  });
});
