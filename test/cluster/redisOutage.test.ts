import { describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { errorCode, eventually, privateRedis, listedEverywhere, retrying, useCluster, within } from '../helpers/cluster.js';

// A Redis of this file's own, so that an outage never touches the one other tests share: a
// redis-server, or in the cluster-rc project a Redis Cluster of 3 masters, every one of them
// killed at once and started again (with its slots, without its data).
const outage = privateRedis();
const cluster = useCluster(outage.config);

// Scenario (d): Redis goes away mid-run and comes back empty (no persistence).
describe('cluster: Redis outage', () => {
  it('nodes are not ready while Redis is down, refuse what needs another node, and resync consistently after', async () => {
    const c = cluster();
    const watchers = await c.watchers();
    const a = await c.guest(0, 'Ann');
    const b = await c.guest(1, 'Bob');
    const cc = await c.guest(2, 'Cyd');
    const ia = new Inbox(a, GAME_EVENTS);
    const ic = new Inbox(cc, GAME_EVENTS);

    const g1 = (await a.call('game.create', { name: 'Before 1', gameType: 'outage', maxPlayers: 4 })).game;
    await listedEverywhere(watchers, g1.id);
    await b.call('game.join', { gameId: g1.id });
    const g2 = (await cc.call('game.create', { name: 'Before 2', gameType: 'outage', maxPlayers: 4 })).game;
    const before = await c.converged(watchers, 5000);
    expect(before.map((g) => g.id).sort()).toEqual([g1.id, g2.id].sort());

    // Redis dies (every master of a Redis Cluster).
    await outage.stop();
    await Promise.all(c.nodes.map((n) => n.waitNotReady(15_000)));
    for (const n of c.nodes) {
      expect(n.running, `${n.id} keeps running without Redis`).toBe(true);
      expect((await fetch(`${n.http}/healthz`)).status, `${n.id} /healthz`).toBe(200);
    }

    // Browsing is local and still answers; a join of a game another node owns is refused at once.
    const local = await within(b.call('games.list', { filter: { gameType: 'outage' } }), 5000, 'games.list on n2 during the outage');
    expect(local.games.map((g) => g.id).sort()).toEqual([g1.id, g2.id].sort());
    const t0 = Date.now();
    expect(await errorCode(b.call('game.join', { gameId: g2.id }))).toBe('NODE_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(4500);
    // The refused join cost B nothing: still in g1.
    expect((await b.call('game.current', {})).game?.id).toBe(g1.id);

    // Redis is back, empty: every node rejoins and resyncs.
    await outage.restart();
    await Promise.all(c.nodes.map((n) => n.waitReady(20_000)));
    const after = await c.converged(watchers, 10_000);
    expect(after.map((g) => g.id).sort()).toEqual([g1.id, g2.id].sort());
    for (const g of after) expect(g.players).toBe(g.id === g1.id ? 2 : 1);
    // Redis came back without the member set: every node added itself again, and none was taken for dead meanwhile.
    for (const n of c.nodes) expect(n.output().filter((l) => l.includes('node left the cluster')), `${n.id} declared a live node dead`).toEqual([]);

    // Cross-node work again: B moves to g2 (n3's), a new game on n1 reaches every node.
    const joined = await retrying(() => b.call('game.join', { gameId: g2.id }), 10_000);
    expect(joined.game.players.map((p) => p.userId)).toEqual([cc.userId, b.userId]);
    await within(ia.next('game.playerLeft', (e) => e.userId === b.userId && e.gameId === g1.id), 5000, 'A sees B leave g1 for g2');
    await within(ic.next('game.playerJoined', (e) => e.player.userId === b.userId), 5000, 'C sees B join g2');
    const subs = watchers.map((w) => new Inbox(w, ['games.added']));
    const dot = await c.guest(0, 'Dot'); // a newcomer (A creating a game would leave g1, and g1 would go)
    const g3 = (await dot.call('game.create', { name: 'After', gameType: 'outage' })).game;
    // The subscriptions made before the outage still deliver, on every node.
    for (const [i, inbox] of subs.entries()) {
      await within(inbox.next('games.added', (e) => e.game.id === g3.id), 5000, `the n${i + 1} watcher's subscription from before the outage gets games.added`);
    }
    const final = await c.converged(watchers, 10_000);
    expect(final.map((g) => g.id).sort()).toEqual([g1.id, g2.id, g3.id].sort());
    await c.checkInvariants();
  });

  it('a node killed while Redis is down is declared dead once Redis is back, and its game goes on on a survivor', async () => {
    const c = cluster();
    const [n1, n2, n3] = c.nodes;
    const watchers = await c.watchers('Watch2');
    const owner = await c.guest(2, 'Oli'); // n3: creates, so n3 owns the game
    const p1 = await c.guest(0, 'Pam'); // n1 and n2 hold the game for their players: either successor can take it over
    const p2 = await c.guest(1, 'Pat');
    const i2 = new Inbox(p2, GAME_EVENTS);
    const { game } = await owner.call('game.create', { name: 'Orphan', gameType: 'outage-kill', maxPlayers: 4 });
    await listedEverywhere(watchers, game.id);
    for (const p of [p1, p2]) await p.call('game.join', { gameId: game.id });
    await within(i2.next('game.playerJoined', (e) => e.player.userId === p2.userId), 5000, 'P2 sees its own join');

    // Redis goes, n3 dies meanwhile (kill -9: no bye, nothing written), Redis comes back empty.
    await outage.stop();
    await Promise.all(c.nodes.map((n) => n.waitNotReady(15_000)));
    await n3!.kill('SIGKILL');
    await outage.restart();
    await Promise.all([n1!, n2!].map((n) => n.waitReady(20_000)));

    // The survivors see n3 gone: it never polls again, and they judge it once their own polls have gone through for a timeout.
    const members = async (n: typeof n1) => ((await n!.admin('GET', '/admin/cluster')).body as { nodes: { id: string }[] }).nodes.map((x) => x.id).sort();
    await eventually(async () => (await Promise.all([n1, n2].map(members))).every((ids) => ids.join() === [n1!.id, n2!.id].sort().join()), 15_000, 'n1 and n2 to drop n3');
    // Its game is taken over: it takes commands again, and both players see them.
    await retrying(() => p1.call('game.setReady', { ready: true }), 15_000);
    await within(i2.next('game.playerUpdated', (e) => e.player.userId === p1.userId && e.player.ready), 5000, 'P2 sees P1 ready after the takeover');
    const cur = await retrying(() => p2.call('game.current', {}), 10_000);
    expect(cur.game?.id).toBe(game.id);
    expect(cur.game?.players.map((p) => p.userId)).toEqual(expect.arrayContaining([p1.userId, p2.userId]));
    // Listed on both survivors.
    const listed = await c.converged([watchers[0]!, watchers[1]!], 10_000, { gameType: 'outage-kill' });
    expect(listed.map((g) => g.id)).toEqual([game.id]);
  });
});
