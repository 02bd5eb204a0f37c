import { GameServerApi, GameServerApiError } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { useCluster, within } from '../helpers/cluster.js';

const SERVER_SECRET = 'cluster-game-server-secret-0123456789';

const cluster = useCluster({ env: { FOYER_SERVER_SECRET: SERVER_SECRET } });

describe('cluster: a game server uses a session key through any node', () => {
  it('a key of a game owned by node A is used through node B; a second use through node C is refused', async () => {
    const c = cluster();
    const [nodeA, nodeB, nodeC] = c.nodes;
    const ann = await c.guest(0, 'KeyAnn');
    const bob = await c.guest(1, 'KeyBob');
    const ia = new Inbox(ann, ['game.sessionKey', 'game.playerUpdated']);
    const ib = new Inbox(bob, ['game.sessionKey']);
    const { game } = await ann.call('game.create', { name: 'Keyed', gameType: 'gsapi-cluster', maxPlayers: 2 });
    await bob.call('game.join', { gameId: game.id });
    await ann.call('game.start', {});
    // Bob's key comes from node B, which holds his session and publishes it on his own stream.
    const [, started] = await Promise.all([ia.next('game.sessionKey'), ib.next('game.sessionKey')]);
    const key = started.sessionKey;
    const owner = await nodeA!.admin('GET', `/admin/games/${game.id}`);
    expect((owner.body as { ownerNode: string }).ownerNode).toBe(nodeA!.id);

    const viaB = new GameServerApi({ url: nodeB!.http, secret: SERVER_SECRET });
    const viaC = new GameServerApi({ url: nodeC!.http, secret: SERVER_SECRET });
    const holder = await viaB.useSessionKey(key);
    expect(holder).toMatchObject({ userId: bob.userId, name: 'KeyBob', gameId: game.id, gameType: 'gsapi-cluster', slot: 2 });
    const refused = await viaC.useSessionKey(key).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(GameServerApiError);
    expect(refused).toMatchObject({ status: 409, code: 'SESSION_KEY_USED' });
    // The owner's decision reached the players: Bob is confirmed for Ann on node A.
    await within(ia.next('game.playerUpdated', (d) => d.player.userId === bob.userId && d.player.confirmed), 5000, 'Ann sees Bob confirmed');

    // Two game servers racing for Ann's key through B and C: exactly one wins.
    const annKey = (await ia.next('game.sessionKey')).sessionKey;
    const race = await Promise.allSettled([viaB.useSessionKey(annKey), viaC.useSessionKey(annKey)]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(race.find((r) => r.status === 'rejected')).toMatchObject({ reason: { status: 409, code: 'SESSION_KEY_USED' } });

    // No node logged a key.
    const secretPart = (k: string) => k.slice(k.lastIndexOf('.') + 1);
    expect(c.logs()).not.toContain(secretPart(key));
    expect(c.logs()).not.toContain(secretPart(annKey));
    await c.checkInvariants();
  });
});
