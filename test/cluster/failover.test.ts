import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { listedEverywhere, nextState, retrying, useCluster, within } from '../helpers/cluster.js';

const cluster = useCluster();

const EVENTS: EventName[] = [...GAME_EVENTS, 'party.invited', 'party.memberJoined', 'party.memberLeft', 'party.snapshot', 'party.ended', 'mm.status'];

/** How long the survivors may take to notice a dead node (1.5 s timeout in tests) and take over its entities. */
const FAILOVER_MS = 10_000;

/** Resolves when `client` is back on another node after losing its own: 'resynced' (a new session) or 'resumed'. */
function back(client: LobbyClient) {
  return nextState(client, 'resynced', 'resumed', 'connected', 'closed');
}

// Scenario (c): a node dies (kill -9) while it owns a game, a party and queued tickets with players on other nodes.
describe('cluster: failover of a killed node', () => {
  it('the game owned by the killed node continues on the survivors; its players there reconnect and resume', async () => {
    const c = cluster();
    const [n1, n2, n3] = c.nodes;
    const watchers = await c.watchers();
    const a = await c.guest(0, 'Ann'); // n1: creates, so n1 owns the game
    const d = await c.guest(0, 'Dee'); // n1
    const b = await c.guest(1, 'Bob'); // n2
    const cc = await c.guest(2, 'Cal'); // n3
    const inbox = new Map([a, d, b, cc].map((x) => [x, new Inbox(x, EVENTS)]));
    const box = (x: LobbyClient) => inbox.get(x)!;

    const { game } = await a.call('game.create', { name: 'Survivor', gameType: 'failover', maxPlayers: 6 });
    await listedEverywhere(watchers, game.id);
    for (const x of [b, cc, d]) await x.call('game.join', { gameId: game.id });
    await within(box(a).next('game.playerJoined', (e) => e.player.userId === d.userId), 5000, 'A sees the last join');
    await c.converged(watchers, 5000);

    // kill -9 the owner.
    const aBack = back(a);
    const dBack = back(d);
    const exit = await n1!.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    const killedAt = Date.now();

    // A request that needs the dead owner is answered (an error or, once taken over, a success), never left hanging.
    const t0 = Date.now();
    const first = await b.call('game.setReady', { ready: true }).then(
      () => 'ok',
      (err: { code: string }) => err.code,
    );
    expect(['ok', 'NODE_UNAVAILABLE']).toContain(first);
    expect(Date.now() - t0).toBeLessThan(4500);

    // The players whose node died come back through their url list, on n2.
    const [sa, sd] = await within(Promise.all([aBack, dBack]), FAILOVER_MS, 'A and D reconnect to another node');
    expect(sa.state).toBe('resynced');
    expect(sd.state).toBe('resynced');
    // The next address in their list is n2; a refused resume (the dead node not yet declared dead) moves them on to n3.
    for (const x of [a, d]) expect([n2!.url, n3!.url]).toContain(x.url);

    // Everyone is still in the game, on every surviving node.
    for (const x of [a, d, b, cc]) {
      const cur = await retrying(() => x.call('game.current', {}), FAILOVER_MS);
      expect(cur.game?.id, `game.current of ${x.userId}`).toBe(game.id);
      expect(cur.game?.players.map((p) => p.userId).sort()).toEqual([a.userId, b.userId, cc.userId, d.userId].sort());
    }
    // Still listed on the survivors.
    const survivors = [watchers[1]!, watchers[2]!];
    const listed = await c.converged(survivors, FAILOVER_MS, { gameType: 'failover' });
    expect(listed.map((g) => g.id)).toEqual([game.id]);

    // The game takes commands again: the successor owns it.
    await retrying(() => b.call('game.setReady', { ready: true }), FAILOVER_MS);
    await within(box(cc).next('game.playerUpdated', (e) => e.player.userId === b.userId && e.player.ready), 5000, 'C on n3 sees B ready after the takeover');
    await within(box(a).next('game.playerUpdated', (e) => e.player.userId === b.userId && e.player.ready), 5000, 'A (resynced on n2) sees B ready');
    const updated = await retrying(() => a.call('game.update', { name: 'Survivor II' }), FAILOVER_MS);
    expect(updated.game.name).toBe('Survivor II');
    await within(box(cc).next('game.updated', (e) => e.game.name === 'Survivor II'), 5000, 'C sees the owner\'s update');
    await cc.call('chat.send', { channel: 'game', text: 'still here' });
    for (const x of [a, d, b]) await within(box(x).next('chat.message', (e) => e.text === 'still here'), 5000, `${x.userId} gets chat after the failover`);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(FAILOVER_MS * 2);

    // Leaving works as before; the empty game goes from every list.
    for (const x of [b, cc, d, a]) await x.call('game.leave', {});
    const gone = await c.converged(survivors, 5000, { gameType: 'failover' });
    expect(gone).toEqual([]);
    await c.checkInvariants();
  });

  it('a party and queued tickets of a killed node survive on another node (after the first one restarts)', async () => {
    const c = cluster();
    const [n1, n2, n3] = c.nodes;
    // The node killed above comes back on its address and joins the cluster.
    await n1!.restart();
    const p = await c.guest(1, 'Pia'); // n2: leads the party, so n2 owns it
    const q = await c.guest(2, 'Quy'); // n3
    const r = await c.guest(0, 'Rex'); // n1 (restarted)
    const t = await c.guest(1, 'Tom'); // n2: queued
    const u = await c.guest(2, 'Uma'); // n3: queued
    const boxes = new Map([p, q, r, t, u].map((x) => [x, new Inbox(x, EVENTS)]));
    const box = (x: LobbyClient) => boxes.get(x)!;

    // A user who just logged in on another node may not be known online here yet (USER_OFFLINE): retried, bounded.
    const invite = (to: LobbyClient) => retrying(() => p.call('party.invite', { userId: to.userId! }), 5000, ['USER_OFFLINE']);
    const { party } = await invite(q);
    await within(box(q).next('party.invited', (e) => e.partyId === party.id), 5000, 'Q on n3 invited');
    await q.call('party.accept', { partyId: party.id });
    await invite(r);
    await within(box(r).next('party.invited', (e) => e.partyId === party.id), 5000, 'R on the restarted n1 invited');
    await r.call('party.accept', { partyId: party.id });
    await within(box(p).next('party.memberJoined', (e) => e.member.userId === r.userId), 5000, 'P sees R join');

    // 'team' needs six players: these tickets wait in the queue.
    const tt = await t.call('mm.join', { queue: 'team' });
    const tu = await u.call('mm.join', { queue: 'team' });
    expect(tt.status).toBe('queued');

    const pBack = back(p);
    const tBack = back(t);
    await n2!.kill('SIGKILL');
    const [sp, st] = await within(Promise.all([pBack, tBack]), FAILOVER_MS, 'P and T reconnect to another node');
    expect(sp.state).toBe('resynced');
    expect(st.state).toBe('resynced');
    for (const x of [p, t]) expect([n3!.url, n1!.url]).toContain(x.url);

    // The party: same id, same members, same leader, from every node.
    for (const x of [p, q, r]) {
      const cur = await retrying(() => x.call('party.current', {}), FAILOVER_MS);
      expect(cur.party?.id, `party.current of ${x.userId}`).toBe(party.id);
      expect(cur.party?.leaderId).toBe(p.userId);
      expect(cur.party?.members.map((m) => m.userId)).toEqual([p.userId, q.userId, r.userId]);
    }
    // Party chat flows again.
    await retrying(() => q.call('chat.send', { channel: 'party', text: 'party lives' }), FAILOVER_MS);
    for (const x of [p, r]) await within(box(x).next('chat.message', (e) => e.text === 'party lives'), 5000, `${x.userId} gets party chat after the failover`);

    // The tickets: still queued, same ids; and they can be cancelled (the queue answers again).
    const curT = await retrying(() => t.call('mm.current', {}), FAILOVER_MS);
    expect(curT.ticket).toMatchObject({ ticketId: tt.ticketId, status: 'queued', queue: 'team' });
    const curU = await retrying(() => u.call('mm.current', {}), FAILOVER_MS);
    expect(curU.ticket).toMatchObject({ ticketId: tu.ticketId, status: 'queued' });
    await retrying(() => t.call('mm.cancel', {}), FAILOVER_MS);
    expect((await t.call('mm.current', {})).ticket?.status ?? null).not.toBe('queued');
    await c.checkInvariants();
  });
});
