import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { useCluster, within } from '../helpers/cluster.js';

const cluster = useCluster();

interface Row {
  id: string;
  name: string;
  ownerId: string;
  ownerNode: string | null;
  players: { userId: string; name: string }[];
}

// A node holds a game's state only by interest; the admin console of any node still finds and shows every game.
describe('cluster: admin game views see every game', () => {
  it('a game on n1 (listed, and a hidden one) is found by the admin search and shown by the admin game view on n2 and n3, with its players and no secret', async () => {
    const c = cluster();
    const gameType = 'admin-views';
    const ann = await c.guest(0, 'Ann');
    const bob = await c.guest(0, 'Bob');
    // Browsers on n2 and n3: their list subscriptions say when those nodes list the game (a list takes no interest in it).
    const browsers = await Promise.all([c.guest(1, 'Vic'), c.guest(2, 'Wes')]);
    const subs = await Promise.all(browsers.map(async (b) => ({ inbox: new Inbox(b, ['games.added']), sub: await b.call('games.subscribe', { filter: { gameType } }) })));

    const { game } = await ann.call('game.create', { name: 'Ann secret room', gameType, password: 'hunter22', maxPlayers: 4 });
    await bob.call('game.join', { gameId: game.id, password: 'hunter22' });
    const cid = await c.guest(0, 'Cid');
    const { game: hidden } = await cid.call('game.create', { name: 'Cid hidden room', gameType, hidden: true, maxPlayers: 2 });
    await Promise.all(subs.map(({ inbox, sub }, i) => within(inbox.next('games.added', (d) => d.subscriptionId === sub.subscriptionId && d.game.id === game.id), 5000, `n${i + 2} lists the game`)));

    for (const node of [c.nodes[1]!, c.nodes[2]!]) {
      const search = async (q: string) => {
        const r = await node.admin('GET', `/admin/games?${q}`);
        expect(r.status).toBe(200);
        return (r.body as { games: Row[] }).games;
      };
      const byName = await search(`q=${encodeURIComponent('ann secret')}`);
      expect(byName.map((g) => g.id)).toEqual([game.id]);
      expect(byName[0]!.players.map((p) => p.name)).toEqual(['Ann', 'Bob']);
      expect(byName[0]!.ownerNode).toBe(c.nodes[0]!.id);
      expect((await search(`gameType=${gameType}`)).map((g) => g.id)).toEqual([game.id]); // the hidden game is not listed
      expect((await search(`player=${bob.userId}`)).map((g) => g.id)).toEqual([game.id]);
      expect((await search(`q=${hidden.id}`)).map((g) => g.id)).toEqual([hidden.id]);
      expect(await search(`gameType=${gameType}&player=${encodeURIComponent('nobody here')}`)).toEqual([]);

      const view = await node.admin('GET', `/admin/games/${game.id}`);
      expect(view.status).toBe(200);
      expect(view.body).toMatchObject({ id: game.id, name: 'Ann secret room', gameType, ownerId: ann.userId, hasPassword: true, state: 'open', ownerNode: c.nodes[0]!.id });
      expect((view.body as Row).players.map((p) => p.userId)).toEqual([ann.userId, bob.userId]);
      const text = JSON.stringify(view.body);
      for (const secret of ['passwordHash', 'passwordSalt', 'sessionKeys', 'keysUsed', 'hunter22']) expect(text).not.toContain(secret);
      expect(JSON.stringify(byName)).not.toContain('hunter22');

      expect((await node.admin('GET', '/admin/games/no-such-game')).status).toBe(404);
      // The user view finds Bob's game too, though his session and his game are on n1.
      const user = await node.admin('GET', `/admin/users/${bob.userId}`);
      expect((user.body as { game: unknown }).game).toMatchObject({ id: game.id, name: 'Ann secret room', spectating: false });
    }
  });
});
