import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const EVENTS: EventName[] = ['presence.changed', 'friends.changed', 'party.memberLeft', 'party.invited', 'mm.status', ...GAME_EVENTS];
/** Nodes of a run share one database: every name is unique. */
const unique = (base: string) => `${base}-${Math.random().toString(36).slice(2, 8)}`;

interface P {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
  token: string;
}

describe('session.logout', () => {
  let t: TestNode;
  beforeAll(async () => {
    // A grace period far longer than the test: only the logout itself can end the session in time.
    t = await startTestNode({ reconnectGraceMs: 120_000, queues: [{ name: 'solo', teams: 2, teamSize: 1 }] });
  });
  afterAll(() => t.stop());

  async function player(base: string): Promise<P> {
    const c = t.client();
    const inbox = new Inbox(c, EVENTS);
    await c.connect();
    const me = await c.call('auth.guest', { name: unique(base) });
    return { c, inbox, id: me.userId, token: me.token };
  }

  it('ends the session at once: the friend\'s next presence event is offline; the game and party are left', async () => {
    const ann = await player('Ann');
    const ben = await player('Ben');
    await ann.c.call('friends.request', { userId: ben.id });
    await ben.c.call('friends.accept', { userId: ann.id });
    const { game } = await ben.c.call('game.create', { name: 'Logout', gameType: unique('logout') });
    await ann.c.call('game.join', { gameId: game.id });
    const { party } = await ben.c.call('party.invite', { userId: ann.id });
    await ann.c.call('party.accept', { partyId: party.id });
    await ben.inbox.next('presence.changed', (d) => d.userId === ann.id && d.presence.status === 'inGame');
    const seenBefore = ben.inbox.seen.length;

    await ann.c.logout();
    expect(ann.c.state).toBe('closed');
    expect(ann.c.token).toBeUndefined();

    const offline = await ben.inbox.next('presence.changed', (d) => d.userId === ann.id && d.presence.status === 'offline');
    expect(offline.presence).toEqual({ status: 'offline', activity: null });
    // One event: nothing about Ann's presence came between the logout and "offline".
    const after = ben.inbox.seen.slice(seenBefore);
    expect(after.find((e) => e.ev === 'presence.changed' && e.data.userId === ann.id)?.data).toBe(offline);
    await ben.inbox.next('game.playerLeft', (d) => d.userId === ann.id);
    await ben.inbox.next('party.memberLeft', (d) => d.userId === ann.id);
    expect((await ben.c.call('game.current', {})).game?.players.map((p) => p.userId)).toEqual([ben.id]);
    expect((await ben.c.call('friends.list', {})).friends.find((f) => f.userId === ann.id)?.presence).toEqual({ status: 'offline', activity: null });
  });

  it('leaves the queue, and the old token cannot resume the session', async () => {
    const cy = await player('Cy');
    await cy.c.call('mm.join', { queue: 'solo' });
    await cy.c.logout();

    const again = t.client();
    await again.connect();
    const r = await again.call('session.resume', { token: cy.token, lastSeq: 0 });
    expect(r.userId).toBe(cy.id);
    expect(r.resumed).toBe(false);
    expect((await again.call('mm.current', {})).ticket).toBeNull();
  });

  it('closes the connection with 4010 LOGGED_OUT after the reply', async () => {
    const dee = await player('Dee');
    const closed = new Promise<{ code?: number; name?: string }>((resolve) => dee.c.onState((state, info) => state === 'closed' && resolve(info.close ?? {})));
    // A raw call rather than logout(): the client does not close first, so the server's close is what it sees.
    expect(await dee.c.call('session.logout', {})).toEqual({});
    expect(await closed).toMatchObject({ code: 4010, name: 'LOGGED_OUT' });
  });
});
