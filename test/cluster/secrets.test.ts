import { GameServerApi } from '@foyer/client-sdk';
import { Redis, Cluster as RedisCluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { errorCode, retrying, useCluster, within, type TestCluster } from '../helpers/cluster.js';

const SERVER_SECRET = 'cluster-secrets-server-secret-0123456789';

const cluster = useCluster({ env: { FOYER_SERVER_SECRET: SERVER_SECRET } });

/** Everything published on an entity's own channel from now on, as a Redis client sees it (SUBSCRIBE, or SSUBSCRIBE on the master of its slot). */
async function entityWire(c: TestCluster, entity: string): Promise<{ messages: string[]; close: () => void }> {
  const messages: string[] = [];
  const channel = `${c.prefix}:{${entity}}`;
  if (!c.redisCluster) {
    const r = new Redis(c.redisUrl);
    r.on('message', (_ch: string, m: string) => messages.push(m));
    await r.subscribe(channel);
    return { messages, close: () => r.disconnect() };
  }
  const seed = new Redis(c.redisUrl);
  const ranges = (await seed.cluster('SLOTS')) as [number, number, [string, number]][];
  const slot = (await seed.cluster('KEYSLOT', channel)) as number;
  seed.disconnect();
  const [host, port] = ranges.find(([from, to]) => slot >= from && slot <= to)![2];
  const r = new Redis({ host, port });
  r.on('smessage', (_ch: string, m: string) => messages.push(m));
  await r.ssubscribe(channel);
  return { messages, close: () => r.disconnect() };
}

/** A plain GET of one key (on a Redis Cluster, through a cluster client: it finds the key's master). */
async function read(c: TestCluster, key: string): Promise<string | null> {
  const r = c.redisCluster
    ? new RedisCluster(c.redisCluster.split(',').map((s) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) })))
    : new Redis(c.redisUrl);
  try {
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

/** The refusal of a command, asked again while no node owns the game yet (a takeover under way). */
async function refusal(fn: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = await errorCode(fn());
    if (!['NODE_UNAVAILABLE', 'DISCONNECTED', 'TIMEOUT'].includes(code) || Date.now() >= deadline) return code;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cluster: a game\'s secrets stay with its owner', () => {
  it('no password, hash, salt or session key on the game\'s channel or in its stored snapshot; the owner checks; the secrets survive a kill -9', async () => {
    const c = cluster();
    const [n1] = c.nodes;
    const a = await c.guest(0, 'Sia'); // n1: creates, so n1 owns the game
    const b = await c.guest(1, 'Sol'); // n2: plays
    const cc = await c.guest(2, 'Sam'); // n3: watches
    const d = await c.guest(2, 'Sue'); // n3: watches after the failover
    const ia = new Inbox(a, ['game.sessionKey']);
    const ib = new Inbox(b, ['game.sessionKey']);
    const ic = new Inbox(cc, ['game.sessionKey', 'game.started']);

    const { game } = await a.call('game.create', { name: 'Sealed', gameType: 'secrets', maxPlayers: 2, password: 'first-password-1' });
    const entity = `game:${game.id}`;
    const wire = await entityWire(c, entity);
    let bKey = '';
    try {
      const passwords = ['first-password-1', 'second-password-2'];
      await a.call('game.update', { password: 'second-password-2' });
      // The player on n2: refused with a wrong password (by the owner), seated with the right one.
      expect(await errorCode(b.call('game.join', { gameId: game.id, password: 'first-password-1' }))).toBe('WRONG_PASSWORD');
      await b.call('game.join', { gameId: game.id, password: 'second-password-2' });
      expect(await errorCode(cc.call('game.join', { gameId: game.id, spectate: true, password: 'nope' }))).toBe('WRONG_PASSWORD');
      const watched = await cc.call('game.join', { gameId: game.id, spectate: true, password: 'second-password-2' });
      expect(watched.game.hasPassword).toBe(true);
      await a.call('game.start', {});
      // Each player's key reaches them alone, the one on n2 too; the spectator on n3 sees the start, no key.
      const [ka, kb] = await within(Promise.all([ia.next('game.sessionKey'), ib.next('game.sessionKey')]), 5000, 'both players get their key');
      await within(ic.next('game.started'), 5000, 'the spectator on n3 sees the start');
      expect(ic.of('game.sessionKey')).toHaveLength(0);
      bKey = kb.sessionKey;
      const keys = [ka.sessionKey, kb.sessionKey].map((k) => k.slice(k.lastIndexOf('.') + 1));

      // The secrets are stored apart, in the game's slot: what the owner's successor reads.
      const secret = JSON.parse((await read(c, `${c.prefix}:{${entity}}:secret`))!) as { passwordHash: string; passwordSalt: string; sessionKeys: Record<string, string> };
      expect(secret.passwordHash).toMatch(/^[0-9a-f]{64}$/);
      expect(Object.keys(secret.sessionKeys).sort()).toEqual([a.userId, b.userId].sort());
      const snapshot = (await read(c, `${c.prefix}:{${entity}}:snap`))!;
      expect(snapshot).toContain(game.id);
      // What every node with interest receives: the batches up to the start (a spectator joined after the last one).
      expect(wire.messages.some((m) => m.includes('game.started'))).toBe(true);
      for (const text of [snapshot, ...wire.messages]) {
        for (const s of [...passwords, secret.passwordHash, secret.passwordSalt, ...keys]) expect(text).not.toContain(s);
      }
      expect(c.logs()).not.toContain(secret.passwordHash);
    } finally {
      wire.close();
    }

    // kill -9 the owner: its successor rebuilds the game, secrets included, from the store.
    await n1!.kill('SIGKILL');
    expect(await refusal(() => d.call('game.join', { gameId: game.id, spectate: true, password: 'first-password-1' }), 10_000)).toBe('WRONG_PASSWORD');
    const joined = await retrying(() => d.call('game.join', { gameId: game.id, spectate: true, password: 'second-password-2' }), 10_000, ['NODE_UNAVAILABLE']);
    expect(joined.game.spectators.map((s) => s.userId)).toContain(d.userId);
    // The player's session key survived too: a game server uses it through n2.
    const holder = await new GameServerApi({ url: c.nodes[1]!.http, secret: SERVER_SECRET }).useSessionKey(bKey);
    expect(holder.userId).toBe(b.userId);
  });
});
