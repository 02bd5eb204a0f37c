import { describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { useCluster, within } from '../helpers/cluster.js';

const cluster = useCluster();

// Scenario (a): one game seen, joined, talked in and left from three nodes.
describe('cluster: a game across nodes', () => {
  it('A on n1 creates, B on n2 lists and watches it, joins, they chat, C on n3 sees the count change, they leave', async () => {
    const c = cluster();
    const watchers = await c.watchers();
    const a = await c.guest(0, 'Ann');
    const b = await c.guest(1, 'Bob');
    const cid = await c.guest(2, 'Cid');
    const ia = new Inbox(a, GAME_EVENTS);
    const ib = new Inbox(b, GAME_EVENTS);
    const ic = new Inbox(cid, GAME_EVENTS);
    const gameType = 'cross-a';
    const subB = await b.call('games.subscribe', { filter: { gameType } });
    const subC = await cid.call('games.subscribe', { filter: { gameType } });
    expect(subB.games).toEqual([]);

    const { game } = await a.call('game.create', { name: 'Ann room', gameType, maxPlayers: 3 });
    expect(game.players.map((p) => p.userId)).toEqual([a.userId]);

    // B on n2: live through the subscription, then in a plain list read.
    const added = await within(ib.next('games.added', (d) => d.subscriptionId === subB.subscriptionId && d.game.id === game.id), 5000, 'B on n2 gets games.added for the game created on n1');
    expect(added.game).toMatchObject({ name: 'Ann room', ownerName: 'Ann', players: 1, maxPlayers: 3, freeSeats: 2, version: game.version });
    const page = await b.call('games.list', { filter: { gameType } });
    expect(page.games.map((g) => g.id)).toEqual([game.id]);
    await within(ic.next('games.added', (d) => d.subscriptionId === subC.subscriptionId && d.game.id === game.id), 5000, 'C on n3 gets games.added');

    // B joins a game owned by another node.
    const joined = await b.call('game.join', { gameId: game.id });
    expect(joined.game.players.map((p) => p.userId)).toEqual([a.userId, b.userId]);
    const seenByA = await within(ia.next('game.playerJoined', (d) => d.player.userId === b.userId), 5000, 'A on n1 sees B join');
    expect(seenByA.player).toMatchObject({ name: 'Bob', slot: 2 });
    const twoOnC = await within(ic.next('games.updated', (d) => d.game.id === game.id && d.game.players === 2), 5000, 'C on n3 sees 2 players');
    expect(twoOnC.game.freeSeats).toBe(1);

    // Both see the same game (n2 reads its replica, n1 its own).
    const [curA, curB] = await Promise.all([a.call('game.current', {}), b.call('game.current', {})]);
    expect(curA.game?.id).toBe(game.id);
    expect(curB.game?.id).toBe(game.id);
    expect(curB.game?.players.map((p) => p.userId)).toEqual([a.userId, b.userId]);

    // Chat both ways.
    await a.call('chat.send', { channel: 'game', text: 'hello from n1' });
    const lineB = await within(ib.next('chat.message', (d) => d.text === 'hello from n1'), 5000, 'B on n2 gets A\'s chat line');
    expect(lineB).toMatchObject({ channel: 'game', gameId: game.id, from: { userId: a.userId, name: 'Ann' } });
    await b.call('chat.send', { channel: 'game', text: 'hi from n2' });
    await within(ia.next('chat.message', (d) => d.text === 'hi from n2'), 5000, 'A on n1 gets B\'s chat line');
    // C is not in the game: no chat for it.
    await cid.call('session.ping', {});
    expect(ic.of('chat.message')).toEqual([]);

    // Leaving, seen everywhere.
    await b.call('game.leave', {});
    const left = await within(ia.next('game.playerLeft', (d) => d.userId === b.userId), 5000, 'A sees B leave');
    expect(left.reason).toBe('left');
    await within(ic.next('games.updated', (d) => d.game.id === game.id && d.game.players === 1), 5000, 'C on n3 sees 1 player again');
    expect((await b.call('game.current', {})).game).toBeNull();

    await a.call('game.leave', {});
    await within(ib.next('games.removed', (d) => d.gameId === game.id), 5000, 'B on n2 sees the empty game removed');
    await within(ic.next('games.removed', (d) => d.gameId === game.id), 5000, 'C on n3 sees the empty game removed');

    const list = await c.converged(watchers, 5000, { gameType });
    expect(list).toEqual([]);
    await c.checkInvariants();
  });

});
