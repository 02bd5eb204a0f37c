import { LobbyError, type LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { eventually, listedEverywhere, nextState, retrying, useCluster, within } from '../helpers/cluster.js';

// --drain: SIGTERM drains as POST /admin/drain does (second test).
const cluster = useCluster({ env: { FOYER_DRAIN_TIMEOUT_MS: '20000' }, args: ['--drain'] });

/** What the load may run into while a node drains; anything else (TIMEOUT, INTERNAL, CLOSED…) is a failure. */
const EXPECTED = new Set(['NODE_DRAINING', 'NODE_UNAVAILABLE', 'DISCONNECTED', 'GAME_NOT_FOUND', 'NOT_IN_GAME', 'GAME_FULL']);

interface Load {
  rounds: number;
  errors: Map<string, number>;
  unexpected: string[];
}

/** One host and one guest playing create → join → chat → leave → leave until `stop.done`. */
async function pairLoop(host: LobbyClient, guest: LobbyClient, i: number, stop: { done: boolean }, load: Load): Promise<void> {
  while (!stop.done) {
    try {
      const { game } = await host.call('game.create', { name: `load ${i}`, gameType: 'drain-load', maxPlayers: 2 });
      await guest.call('game.join', { gameId: game.id });
      await host.call('chat.send', { channel: 'game', text: `round ${load.rounds}` });
      await guest.call('game.leave', {});
      await host.call('game.leave', {});
      load.rounds++;
    } catch (err) {
      const code = err instanceof LobbyError ? err.code : String(err);
      load.errors.set(code, (load.errors.get(code) ?? 0) + 1);
      if (!EXPECTED.has(code)) load.unexpected.push(`pair ${i}: ${code}: ${(err as Error).message}`);
      // A short pause so a node that refuses does not turn the loop into a spin.
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

// Scenario (e): one node drains while clients on every node keep working.
describe('cluster: drain', () => {
  it('n1 drains under load: refuses new work, hands over, moves its clients (4004), waits for its started game, exits 0', async () => {
    const c = cluster();
    const [n1, n2, n3] = c.nodes;
    const watchers = await c.watchers();

    // A started game owned by n1: the drain waits for it.
    const sa = await c.guest(0, 'StartA');
    const sb = await c.guest(1, 'StartB');
    const isa = new Inbox(sa, GAME_EVENTS);
    const isb = new Inbox(sb, GAME_EVENTS);
    const running = (await sa.call('game.create', { name: 'Running', gameType: 'drain-run', maxPlayers: 2 })).game;
    await listedEverywhere(watchers, running.id);
    await sb.call('game.join', { gameId: running.id });
    await sa.call('game.start', {});
    await within(isb.next('game.started', (e) => e.gameId === running.id), 5000, 'B on n2 sees the game start');

    // A ticket queued through n1 ('team' needs six players, so it waits).
    const q = await c.guest(0, 'Queued');
    const ticket = await q.call('mm.join', { queue: 'team' });

    // An idle game owned by n1 with a player from n3: handed over, not waited for.
    const ia = await c.guest(0, 'IdleA');
    const ib = await c.guest(2, 'IdleB');
    const idle = (await ia.call('game.create', { name: 'Idle', gameType: 'drain-idle', maxPlayers: 4 })).game;
    await listedEverywhere(watchers, idle.id);
    await ib.call('game.join', { gameId: idle.id });

    // Load: six pairs, two hosted on each node, each guest on the next node.
    const PAIRS = 6;
    const hostHome = (i: number) => i % 3;
    const guestHome = (i: number) => (i + 1) % 3;
    const hosts = await Promise.all(Array.from({ length: PAIRS }, (_, i) => c.guest(hostHome(i), `Host${i + 1}`)));
    const guests = await Promise.all(Array.from({ length: PAIRS }, (_, i) => c.guest(guestHome(i), `Guest${i + 1}`)));
    const load: Load = { rounds: 0, errors: new Map(), unexpected: [] };
    const stop = { done: false };
    const loops = hosts.map((h, i) => pairLoop(h, guests[i]!, i, stop, load));

    // A probe on n1 only, without reconnection: it sees the refusal (or the drain's close).
    const probe = c.client(0, 'Probe', { url: [n1!.url], reconnect: false });
    const probeClosed = nextState(probe, 'closed');
    await probe.connect();
    await probe.call('auth.guest', { name: 'Probe' });

    // Every client of n1 must be closed with 4004 and come back on another node.
    const onN1 = [watchers[0]!, sa, q, ia, ...hosts.filter((_, i) => hostHome(i) === 0), ...guests.filter((_, i) => guestHome(i) === 0)];
    const closeCodes = new Map<LobbyClient, (number | undefined)[]>();
    const moved = onN1.map(
      (x) =>
        new Promise<void>((resolve) => {
          closeCodes.set(x, []);
          x.onState((s, info) => {
            if (s === 'reconnecting') closeCodes.get(x)!.push(info.close?.code);
            if ((s === 'resynced' || s === 'resumed' || s === 'connected') && x.url !== n1!.url) resolve();
          });
        }),
    );

    // Some load before the drain.
    await eventually(() => load.rounds >= 12, 15_000, 'twelve rounds of load before the drain');
    const roundsBefore = load.rounds;

    expect(await n1!.drain()).toBe(202);
    const refused = await probe.call('game.create', { name: 'Too late', gameType: 'drain-probe' }).then(
      () => 'ok',
      (err: LobbyError) => err.code,
    );
    if (refused === 'DISCONNECTED') {
      // The drain closed the probe before it answered: with 4004, which tells clients to move.
      expect((await within(probeClosed, 5000, 'the probe is closed')).info.close?.code).toBe(4004);
    } else {
      expect(refused).toBe('NODE_DRAINING');
    }
    await n1!.waitNotReady(5000);

    await within(Promise.all(moved), 15_000, 'every client of n1 is closed and reconnects to another node');
    for (const x of onN1) {
      expect(closeCodes.get(x)?.[0], `first close seen by ${x.userId}`).toBe(4004);
      expect([n2!.url, n3!.url]).toContain(x.url);
    }

    // Its started game keeps it alive; its queue and idle games live on elsewhere meanwhile.
    expect(n1!.running).toBe(true);
    const curQ = await retrying(() => q.call('mm.current', {}), 10_000);
    expect(curQ.ticket).toMatchObject({ ticketId: ticket.ticketId, status: 'queued' });
    const curIdle = await retrying(() => ia.call('game.current', {}), 10_000);
    expect(curIdle.game?.id).toBe(idle.id);
    await retrying(() => ia.call('game.update', { name: 'Idle, moved' }), 10_000);
    expect((await sb.call('game.current', {})).game?.id).toBe(running.id);

    // The game server ends the started game: the drained node has nothing left and exits 0.
    const ended = await n1!.admin('POST', `/admin/games/${running.id}/end`);
    expect(ended.status).toBe(200);
    await within(isa.next('game.ended', (e) => e.gameId === running.id), 5000, 'A (moved off n1) gets game.ended');
    const exit = await within(n1!.exited, 15_000, 'n1 exits once drained');
    expect(exit).toEqual({ code: 0, signal: null });

    // The load went on through the drain and after it.
    await eventually(() => load.rounds >= roundsBefore + 24, 15_000, 'more rounds of load during and after the drain');
    stop.done = true;
    await within(Promise.all(loops), 15_000, 'the load loops finish');
    expect(load.unexpected, `errors seen: ${JSON.stringify([...load.errors])}`).toEqual([]);

    // Every client is on n2 or n3 and usable; the survivors agree.
    for (const x of [...watchers, ...hosts, ...guests, sa, sb, q, ia, ib]) {
      expect([n2!.url, n3!.url]).toContain(x.url);
      await x.call('session.ping', {});
    }
    await c.converged(watchers, 10_000);
    await c.checkInvariants();
  });

  it('with --drain, SIGTERM drains: n2 hands its idle game over, its clients move (4004) to n3, it exits 0', async () => {
    const c = cluster();
    const [, n2, n3] = c.nodes;
    const x = await c.guest(1, 'Sig'); // n2, then n3
    const y = await c.guest(2, 'Peer'); // n3
    const iy = new Inbox(y, GAME_EVENTS);
    const { game } = await x.call('game.create', { name: 'Handed over', gameType: 'drain-sigterm', maxPlayers: 4 });
    await listedEverywhere([x, y], game.id);
    await y.call('game.join', { gameId: game.id });
    const closes: (number | undefined)[] = [];
    x.onState((s, info) => s === 'reconnecting' && closes.push(info.close?.code));
    const moved = nextState(x, 'resynced', 'resumed', 'connected', 'closed');

    const exit = await within(n2!.kill('SIGTERM'), 15_000, 'n2 drains and exits after SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    // A drained session may be handed over (resumed) or started afresh (resynced); either way the client is usable.
    expect(['resumed', 'resynced']).toContain((await within(moved, 10_000, 'the n2 client comes back on n3')).state);
    expect(closes[0]).toBe(4004);
    expect(x.url).toBe(n3!.url);

    // The game lives on at n3, with both players, and takes its owner's commands.
    const cur = await retrying(() => x.call('game.current', {}), 10_000);
    expect(cur.game?.players.map((p) => p.userId)).toEqual([x.userId, y.userId]);
    await retrying(() => x.call('game.update', { name: 'Handed over, renamed' }), 10_000);
    await within(iy.next('game.updated', (e) => e.game.name === 'Handed over, renamed'), 5000, 'the peer sees the owner\'s update');
    await c.checkInvariants();
  });
});
