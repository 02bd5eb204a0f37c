import type { LobbyClient } from '@foyer/client-sdk';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useCluster, within, type TestCluster } from '../helpers/cluster.js';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';

const cluster = useCluster();
const PASSWORD = 'pw-listfeed-9f3c1a';
const LIST_SHARDS = 16;

/** A connection to every master of the cluster's Redis (one, or each of a Redis Cluster's). */
async function masters(c: TestCluster): Promise<Redis[]> {
  if (!c.redisCluster) return [new Redis(c.redisUrl)];
  const seed = new Redis(c.redisUrl);
  const nodes = (await seed.cluster('NODES')) as string;
  seed.disconnect();
  return nodes
    .split('\n')
    .filter((line) => / master/.test(line) && !/fail/.test(line))
    .map((line) => {
      const [host, port] = line.split(' ')[1]!.split('@')[0]!.split(':');
      return new Redis({ host: host!, port: Number(port) });
    });
}

/** Everything published on the cluster's game list channels from now on, as a Redis client sees it (SUBSCRIBE, or SSUBSCRIBE on a Redis Cluster). */
async function listWire(c: TestCluster): Promise<{ messages: string[]; close: () => void }> {
  const messages: string[] = [];
  const channels = Array.from({ length: LIST_SHARDS }, (_, n) => `${c.prefix}:{games:${n}}`);
  if (!c.redisCluster) {
    const r = new Redis(c.redisUrl);
    r.on('message', (_ch: string, m: string) => messages.push(m));
    await r.subscribe(...channels);
    return { messages, close: () => r.disconnect() };
  }
  // Each channel on the master that serves its slot.
  const seed = new Redis(c.redisUrl);
  const ranges = (await seed.cluster('SLOTS')) as [number, number, [string, number]][];
  const conns = new Map<string, Redis>();
  for (const ch of channels) {
    const slot = (await seed.cluster('KEYSLOT', ch)) as number;
    const [host, port] = ranges.find(([from, to]) => slot >= from && slot <= to)![2];
    let r = conns.get(`${host}:${port}`);
    if (!r) {
      conns.set(`${host}:${port}`, (r = new Redis({ host, port })));
      r.on('smessage', (_ch: string, m: string) => messages.push(m));
    }
    await r.ssubscribe(ch);
  }
  seed.disconnect();
  return { messages, close: () => conns.forEach((r) => r.disconnect()) };
}

/** Cuts a node's subscriber connections (on every master): what is published until they are back, it does not hear. */
async function cutSubscriber(c: TestCluster, nodeId: string): Promise<number> {
  let killed = 0;
  for (const r of await masters(c)) {
    const clients = (await r.client('LIST')) as string;
    for (const line of clients.split('\n')) {
      if (!line.includes(` name=${c.prefix}:${nodeId}:sub `)) continue;
      killed += Number(await r.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!));
    }
    r.disconnect();
  }
  return killed;
}

const listOf = async (client: LobbyClient, gameType: string) => (await client.call('games.list', { limit: 100, filter: { gameType } })).games;

describe('cluster: the game list fed by list summaries', () => {
  it('a game changed on n1 is listed on n2 and n3 with the same version and fields, and no listing on the wire carries a secret', async () => {
    const c = cluster();
    const wire = await listWire(c);
    try {
      const gameType = 'lf-same';
      const a = await c.guest(0, 'Ann');
      const b = await c.guest(1, 'Bob');
      const watch = await c.guest(2, 'Wes');
      const iw = new Inbox(watch, GAME_EVENTS);
      const sub = await watch.call('games.subscribe', { filter: { gameType } });
      const { game } = await a.call('game.create', { name: 'Secret room', gameType, maxPlayers: 4, password: PASSWORD, attributes: { map: 'dune' } });
      await b.call('game.join', { gameId: game.id, password: PASSWORD });
      await a.call('game.update', { name: 'Renamed room', locked: true });
      const want = (await a.call('game.current', {})).game!;
      await within(iw.next('games.updated', (d) => d.subscriptionId === sub.subscriptionId && d.game.name === 'Renamed room'), 5000, 'n3 hears of the rename');
      const lists = await c.converged(await c.watchers(), 5000, { gameType });
      expect(lists.map((g) => g.id)).toEqual([game.id]);
      const everywhere = await Promise.all([a, b, watch].map((cl) => listOf(cl, gameType)));
      for (const l of everywhere) expect(l).toEqual(everywhere[0]);
      expect(everywhere[0]![0]).toMatchObject({ name: 'Renamed room', players: 2, hasPassword: true, locked: true, attributes: { map: 'dune' }, version: want.version });

      const mine = wire.messages.filter((m) => m.includes(game.id));
      expect(mine.length).toBeGreaterThan(0);
      for (const m of wire.messages) {
        expect(m).not.toContain(PASSWORD);
        expect(m).not.toMatch(/passwordHash|sessionKey|scrypt|\$argon/i);
        expect(m.length).toBeLessThan(1500);
      }
    } finally {
      wire.close();
    }
  });

  it('a node whose subscriber connection was cut, and a node started later, list every game as it is now', async () => {
    const c = cluster();
    const gameType = 'lf-catchup';
    const owners = await Promise.all([0, 1, 0, 1, 0, 1].map((home, i) => c.guest(home, `Own${i}`)));
    const games = [];
    for (const [i, o] of owners.entries()) games.push((await o.call('game.create', { name: `Room ${i}`, gameType, maxPlayers: 4 })).game);
    const watchers = await c.watchers('W1');
    await c.converged(watchers, 5000, { gameType });

    // n3's subscriber is cut; meanwhile one game ends, one changes, one is created.
    expect(await cutSubscriber(c, c.nodes[2]!.id)).toBeGreaterThan(0);
    await owners[0]!.call('game.leave', {});
    await owners[1]!.call('game.update', { name: 'Changed meanwhile', maxPlayers: 6 });
    const late = await c.guest(0, 'Late');
    const born = (await late.call('game.create', { name: 'Born meanwhile', gameType, maxPlayers: 2 })).game;
    const now = await c.converged(watchers, 10_000, { gameType });
    expect(now.map((g) => g.name).sort()).toEqual(['Born meanwhile', 'Changed meanwhile', 'Room 2', 'Room 3', 'Room 4', 'Room 5']);

    // n3 restarts (an empty list) while the others go on: it lists what is there when it is back.
    await c.nodes[2]!.kill();
    await owners[2]!.call('game.leave', {});
    await owners[3]!.call('game.update', { name: 'Changed while n3 was down' });
    await c.nodes[2]!.restart();
    const fresh = await c.guest(2, 'Fresh');
    const all = await c.converged([watchers[0]!, watchers[1]!, fresh], 10_000, { gameType });
    expect(all.map((g) => g.id).sort()).toEqual([born.id, games[1]!.id, games[3]!.id, games[4]!.id, games[5]!.id].sort());
    expect(all.find((g) => g.id === games[3]!.id)?.name).toBe('Changed while n3 was down');
    const [onN1, onN3] = await Promise.all([listOf(watchers[0]!, gameType), listOf(fresh, gameType)]);
    expect(onN3).toEqual(onN1);
  });
});
