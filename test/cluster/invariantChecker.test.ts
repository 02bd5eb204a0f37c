import { LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Invariants } from '../helpers/invariants.js';

// The checker itself, against a scripted server (no cluster): each invariant must fire on a crafted stream.

let wss: WebSocketServer;
let url: string;
const sockets = new Map<string, WebSocket>();
let nextUser = 0;

beforeAll(async () => {
  wss = await new Promise<WebSocketServer>((resolve) => {
    const s: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const req = JSON.parse(String(raw)) as { id: number; op: string; data: { name: string } };
      if (req.op === 'auth.guest') {
        const userId = `u${++nextUser}`;
        sockets.set(userId, ws);
        ws.send(JSON.stringify({ re: req.id, ok: true, data: { userId, name: req.data.name, token: `t-${userId}`, expiresAt: Date.now() + 3_600_000 } }));
      } else ws.send(JSON.stringify({ re: req.id, ok: true, data: {} }));
    });
  });
});
afterAll(async () => {
  for (const ws of wss.clients) ws.terminate();
  await new Promise((r) => wss.close(r));
});

/** A tracked, logged-in client and a way to push it events (then a round trip, so they have arrived). */
async function watched(inv: Invariants, name: string) {
  const c = inv.track(new LobbyClient({ url, reconnect: false }), name);
  await c.connect();
  await c.call('auth.guest', { name });
  const ws = sockets.get(c.userId!)!;
  // A fake node: every event on one stream, numbered in one epoch.
  let offset = 0;
  return {
    c,
    async push(...evs: [string, unknown][]) {
      for (const [ev, data] of evs) ws.send(JSON.stringify({ ev, stream: `user:${c.userId}`, offset: ++offset, epoch: 'e1', data }));
      await c.call('session.ping', {});
    },
  };
}

const player = (userId: string) => ({ userId, name: userId, slot: 1, teamIndex: 0, level: 1, rating: 1000, ready: false, connected: true, confirmed: false, joinedAt: 1 });
const summary = (id: string, version: number, extra: Record<string, unknown> = {}) => ({
  id, name: 'g', gameType: 't', ownerId: 'o', ownerName: 'o', players: 1, maxPlayers: 2, freeSeats: 1, spectators: 0, hasPassword: false, locked: false, closed: false,
  inProgress: false, friendsJoinOnly: false, startMode: 'manual', minLevel: null, maxLevel: null, school: null, attributes: {}, meanLevel: 1, meanRating: 1000, createdAt: 1, version, ...extra,
});

describe('the invariant checker', () => {
  it('stays quiet on a consistent stream', async () => {
    const inv = new Invariants();
    const a = await watched(inv, 'A');
    const b = await watched(inv, 'B');
    const me = a.c.userId!;
    await a.push(
      ['game.playerJoined', { gameId: 'g1', version: 1, player: player(me) }],
      ['game.playerLeft', { gameId: 'g1', version: 2, userId: me, reason: 'joinedAnother', ownerId: 'x' }],
      ['game.playerJoined', { gameId: 'g2', version: 4, player: player(me) }],
      ['games.added', { subscriptionId: 's', game: summary('g2', 4) }],
    );
    await b.push(['games.added', { subscriptionId: 's', game: summary('g2', 4) }], ['games.updated', { subscriptionId: 's', game: summary('g2', 5, { players: 2, freeSeats: 0 }) }]);
    expect(inv.check()).toEqual([]);
    await a.c.close();
    await b.c.close();
  });

  it('flags a user in two games, a game over maxPlayers, a ticket matched twice, disagreeing nodes and versions going back', async () => {
    const inv = new Invariants();
    const a = await watched(inv, 'A');
    const b = await watched(inv, 'B');
    const me = a.c.userId!;
    await a.push(
      ['game.playerJoined', { gameId: 'g1', version: 1, player: player(me) }],
      ['game.playerJoined', { gameId: 'g2', version: 1, player: player(me) }], // no leave from g1
      ['games.added', { subscriptionId: 's', game: summary('g3', 7, { players: 3, maxPlayers: 2 }) }],
      ['game.playerUpdated', { gameId: 'g2', version: 5, player: player(me) }],
      ['game.playerUpdated', { gameId: 'g2', version: 4, player: player(me) }],
    );
    const ready = (matchId: string, gameId: string) => ({ ticketId: 'T1', queue: 'duel', status: 'ready', queuedAt: 1, match: { matchId, acceptBy: 2, teams: [[{ userId: me, name: 'A', accepted: true }]] }, gameId });
    await a.push(['mm.status', ready('m1', 'g9')], ['game.playerLeft', { gameId: 'g9', version: 2, userId: me, reason: 'left', ownerId: 'x' }], ['mm.status', ready('m2', 'g10')]);
    await b.push(['games.added', { subscriptionId: 's', game: summary('g3', 7, { players: 3, maxPlayers: 2, name: 'other' }) }]);
    const v = inv.check().join('\n');
    expect(v).toMatch(/entered game g2 .* while still in game g1/);
    expect(v).toMatch(/g3 v7 is listed with 3 players, maxPlayers 2/);
    expect(v).toMatch(/game:g2: game.playerUpdated carries version 4 after version 5/);
    expect(v).toMatch(/ticket T1 was matched twice/);
    expect(v).toMatch(/two views of summary g3 at version 7 differ/);
    expect(() => inv.assertClean()).toThrow(/invariant violation/);
    await a.c.close();
    await b.c.close();
  });
});
