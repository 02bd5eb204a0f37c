/**
 * The SDK clients of the peers driver (bench/peersDriver.ts), wherever they
 * run: in a worker thread (bench/peersWorker.ts), or in the harness's own
 * thread (FOYER_DRIVER_WORKERS=0, as the harness runs the peers' clients).
 * They use the SDK's public API only, as a studio's client would.
 */
import { LobbyClient } from '@foyer/client-sdk';
import { socketClass } from './lib/clients.js';
import { Errors } from './lib/format.js';

export interface ClientEvents {
  /** A chat line received: the harness's `t`, the server's `at` (its clock when it took the line), and when it was read. */
  line(t: number, at: number, read: number): void;
  refused(code: string): void;
  /** A seated client's connection ended before the harness closed it (a slow reader cut off, say): its close code. */
  lost(code: number): void;
}

export interface Seated {
  slots: number[];
  failed: { count: number; samples: [string, number][] };
}

const Socket = socketClass();

export class PeerClients {
  readonly #clients: LobbyClient[] = [];
  #closing = false;

  constructor(private readonly events: ClientEvents) {}

  /**
   * Seats a group of clients in one game: each logs in as a guest; the first
   * of them logged in creates the game and each other one joins it once both
   * its login and the game are done (a group waits for no straggler's login
   * before its game exists). Returns the seated clients' slots.
   */
  async join(g: number, size: number, R: number, url: string): Promise<Seated> {
    const errors = new Errors();
    let created: Promise<string> | undefined;
    const seat = async (i: number): Promise<LobbyClient | undefined> => {
      const c = new LobbyClient({ url, WebSocket: Socket, reconnect: false, callTimeoutMs: 30_000 });
      try {
        await c.connect();
        await c.call('auth.guest', { name: `peer-${g * R + i}` });
        if (created) await c.call('game.join', { gameId: await created });
        else await (created = c.call('game.create', { name: `peers ${g}`, gameType: 'chat', maxPlayers: R }).then((r) => r.game.id));
        return c;
      } catch (err) {
        errors.add(err);
        void c.close();
        return undefined;
      }
    };
    const seated = (await Promise.all(Array.from({ length: size }, (_, i) => seat(i)))).filter((c) => c !== undefined);
    const { events } = this;
    const slots = seated.map((c) => {
      c.on('chat.message', (d) => {
        // The harness's message is { t }; the line's text is that object as JSON (see send below).
        if (d.channel === 'game') events.line((JSON.parse(d.text) as { t: number }).t, d.at, Date.now());
      });
      c.onRefusal((_op, err) => events.refused(err.code));
      c.onState((state, info) => state === 'closed' && !this.#closing && events.lost(info.close?.code ?? 0));
      return this.#clients.push(c) - 1;
    });
    return { slots, failed: { count: errors.count, samples: [...errors.samples] } };
  }

  /** A chat line to the client's game carrying the harness's `t`, without id as a game's chat would: no reply unless refused. */
  send(slot: number, t: number): void {
    this.#clients[slot]!.send('chat.send', { channel: 'game', text: JSON.stringify({ t }) });
  }

  close(): void {
    this.#closing = true;
    for (const c of this.#clients) void c.close();
  }
}
