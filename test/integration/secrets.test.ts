import { type LobbyClient, type LobbyState, type WebSocketConstructor } from '@foyer/client-sdk';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { withNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

/** Every frame one client received and sent, as the exact text on the wire. */
interface Wire {
  name: string;
  received: string[];
  sent: string[];
}

/** The `ws` WebSocket, keeping every frame that goes through it: the SDK is handed this class. */
function recording(wire: Wire): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => wire.received.push(String(data)));
    }

    override send(data: string): void {
      wire.sent.push(data);
      super.send(data);
    }
  } as unknown as WebSocketConstructor;
}

function backLive(c: LobbyClient): Promise<LobbyState> {
  return new Promise((resolve) => {
    const off = c.onState((s) => (s === 'resumed' || s === 'resynced') && (off(), resolve(s)));
  });
}

interface Seat {
  wire: Wire;
  client: LobbyClient;
  proxy: Proxy;
}

async function seat(t: TestNode, name: string): Promise<Seat> {
  const wire: Wire = { name, received: [], sent: [] };
  const proxy = await startProxy(t.node.port);
  const client = t.client({ url: `ws://127.0.0.1:${proxy.port}`, WebSocket: recording(wire) });
  await client.connect();
  await client.call('auth.guest', { name });
  return { wire, client, proxy };
}

/** Keeps `s` away while `fn` runs (its session waits in grace), then lets it resume. */
async function away(t: TestNode, s: Seat, fn: () => Promise<void>): Promise<LobbyState> {
  s.proxy.block(true);
  s.proxy.cut();
  await until(() => !t.node.gateway.sessions.get(s.client.userId!)?.link);
  await fn();
  const live = backLive(s.client);
  s.proxy.block(false);
  return live;
}

const frames = (xs: string[], needle: string) => xs.filter((x) => x.includes(needle));

describe('secrets on the wire', () => {
  it('a scripted session records every frame every client receives and finds no password hash and no other player\'s session key', () =>
    // A short history: the spectator kept away comes back to the game's snapshot rather than a replay.
    withNode({ streamHistoryEvents: 3 }, async (t) => {
      const [host, guest, watcher, lister] = [await seat(t, 'Host'), await seat(t, 'Guest'), await seat(t, 'Watcher'), await seat(t, 'Lister')];
      const all = [host, guest, watcher, lister];
      try {
        // Lists that show the game: by type, by having a password, everything.
        for (const filter of [{ gameType: 'secret' }, { hasPassword: true }, {}]) await lister.client.call('games.subscribe', { filter });
        await watcher.client.call('games.subscribe', { filter: { gameType: 'secret' } });

        const first = 'open-sesame-1f2e3d';
        const second = 'new-door-9a8b7c';
        const wrong = 'not-the-door-5d4c';
        const { game } = await host.client.call('game.create', { name: 'Vault', gameType: 'secret', password: first, maxPlayers: 3 });
        expect(game.hasPassword).toBe(true);
        const state = () => t.node.games.all.get(game.id)!;
        const secrets: string[] = [];
        const keep = () => {
          const s = state();
          expect(s.passwordHash).toMatch(/^[0-9a-f]{64}$/);
          secrets.push(s.passwordHash!, s.passwordSalt);
        };
        keep();

        await expect(watcher.client.call('game.join', { gameId: game.id, password: wrong })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
        await expect(guest.client.call('game.join', { gameId: game.id })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
        await guest.client.call('game.join', { gameId: game.id, password: first });
        await host.client.call('chat.send', { channel: 'game', text: 'welcome' });

        // A new password: the game's hash and salt change; the old and the new must both stay unseen.
        const updated = await host.client.call('game.update', { password: second, name: 'Vault 2' });
        expect(updated.game).toMatchObject({ hasPassword: true, name: 'Vault 2' });
        keep();
        expect(secrets[2]).not.toBe(secrets[0]);
        await expect(watcher.client.call('game.join', { gameId: game.id, spectate: true, password: first })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
        await watcher.client.call('game.join', { gameId: game.id, spectate: true, password: second });

        await host.client.call('party.invite', { userId: lister.client.userId! });
        await until(() => lister.wire.received.some((x) => x.includes('"party.invited"')));
        const [held] = (await lister.client.call('party.current', {})).invites;
        await lister.client.call('party.accept', { partyId: held!.partyId });
        await lister.client.call('chat.send', { channel: 'party', text: 'in the party' });

        // The guest is away when the game starts: its key waits in its user stream's history and is replayed to it alone.
        // The watcher is away while more happens in the game than its history keeps: it gets the game's snapshot.
        const guestBack = await away(t, guest, async () => {
          const back = await away(t, watcher, async () => {
            await host.client.call('game.start', {});
            for (const text of ['one', 'two', 'three', 'four']) await host.client.call('chat.send', { channel: 'game', text });
          });
          expect(back).toBe('resumed');
        });
        expect(guestBack).toBe('resumed');
        await until(() => frames(watcher.wire.received, '"game.snapshot"').length === 1);

        // Each one fetches what it may see, then a round trip: everything due has arrived.
        for (const s of all) {
          await s.client.call('game.current', {});
          await s.client.call('games.list', { filter: { gameType: 'secret' } });
          await s.client.call('party.current', {});
          await s.client.call('session.ping', {});
        }

        // Each player got their own key, the one the server holds for them, on their own user stream, and nobody else did.
        const keys = state().sessionKeys;
        expect(Object.keys(keys).sort()).toEqual([host.client.userId!, guest.client.userId!].sort());
        for (const p of [host, guest]) {
          const own = p.wire.received.map((x) => JSON.parse(x)).filter((f) => f.ev === 'game.sessionKey');
          expect(own).toEqual([expect.objectContaining({ stream: `user:${p.client.userId}`, data: expect.objectContaining({ gameId: game.id, sessionKey: keys[p.client.userId!] }) })]);
          for (const other of all) if (other !== p) expect(frames(other.wire.received, keys[p.client.userId!]!), `${other.wire.name} holds ${p.wire.name}'s key`).toEqual([]);
        }
        expect(frames(watcher.wire.received, '"game.sessionKey"')).toEqual([]);
        // The spectator's snapshot and the lists did reach them (so the scan below looked at them).
        expect(frames(lister.wire.received, '"games.added"').length).toBeGreaterThanOrEqual(3);
        expect(frames(watcher.wire.received, `"game.snapshot"`)[0]).toContain(game.id);

        for (const s of all) {
          for (const secret of secrets) expect(frames(s.wire.received, secret), `${s.wire.name} received a password hash or salt`).toEqual([]);
          for (const plain of [first, second, wrong]) {
            expect(frames(s.wire.received, plain), `${s.wire.name} received a password`).toEqual([]);
            // Only the one who typed it sent it.
            if (s !== host && s !== guest && s !== watcher) expect(frames(s.wire.sent, plain)).toEqual([]);
          }
        }
        expect(frames(guest.wire.sent, second)).toEqual([]);
        // Nor does the node write them down.
        for (const secret of [...secrets, first, second, wrong]) expect(frames(t.logs, secret), 'the log holds a password or its hash').toEqual([]);
      } finally {
        await Promise.all(all.map((s) => s.proxy.close()));
      }
    }));
});
