import type { EventName, LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { retrying, useCluster, within } from '../helpers/cluster.js';

const cluster = useCluster();

const PARTY_EVENTS: EventName[] = ['party.invited', 'party.inviteEnded', 'party.snapshot', 'party.memberJoined', 'party.memberLeft', 'party.leaderChanged', 'party.ended', 'chat.message'];

// Scenario (b): a party and a match whose players sit on different nodes.
describe('cluster: parties and matchmaking across nodes', () => {
  it('A on n1 invites B on n2 and C on n3; they accept and talk in the party', async () => {
    const c = cluster();
    const a = await c.guest(0, 'Ada');
    const b = await c.guest(1, 'Ben');
    const cc = await c.guest(2, 'Cat');
    const ia = new Inbox(a, PARTY_EVENTS);
    const ib = new Inbox(b, PARTY_EVENTS);
    const ic = new Inbox(cc, PARTY_EVENTS);

    // A user who just logged in on another node may not be known online on n1 yet (USER_OFFLINE): retried, bounded.
    const invite = (to: LobbyClient) => retrying(() => a.call('party.invite', { userId: to.userId! }), 5000, ['USER_OFFLINE']);
    const invited = await invite(b);
    const partyId = invited.party.id;
    expect(invited.party.invites.map((i) => i.userId)).toEqual([b.userId]);
    const got = await within(ib.next('party.invited', (d) => d.partyId === partyId), 5000, 'B on n2 gets the invite from n1');
    expect(got).toMatchObject({ userId: b.userId, from: { userId: a.userId, name: 'Ada' } });
    expect(got.party.leaderId).toBe(a.userId);
    // B holds the invite as its own node sees it.
    const heldB = await b.call('party.current', {});
    expect(heldB.party).toBeNull();
    expect(heldB.invites.map((i) => i.partyId)).toEqual([partyId]);

    const accepted = await b.call('party.accept', { partyId });
    expect(accepted.party.members.map((m) => m.userId)).toEqual([a.userId, b.userId]);
    await within(ia.next('party.memberJoined', (d) => d.member.userId === b.userId), 5000, 'A on n1 sees B join the party');

    await invite(cc);
    await within(ic.next('party.invited', (d) => d.partyId === partyId), 5000, 'C on n3 gets the invite');
    await cc.call('party.accept', { partyId });
    await within(ia.next('party.memberJoined', (d) => d.member.userId === cc.userId), 5000, 'A sees C join');
    await within(ib.next('party.memberJoined', (d) => d.member.userId === cc.userId), 5000, 'B on n2 sees C (n3) join');

    // Every node tells its member the same party.
    const views = await Promise.all([a, b, cc].map((x) => x.call('party.current', {})));
    for (const v of views) {
      expect(v.party?.id).toBe(partyId);
      expect(v.party?.members.map((m) => m.userId)).toEqual([a.userId, b.userId, cc.userId]);
    }

    await b.call('chat.send', { channel: 'party', text: 'hello party from n2' });
    for (const [who, inbox] of [['A on n1', ia], ['C on n3', ic]] as const) {
      const line = await within(inbox.next('chat.message', (d) => d.text === 'hello party from n2'), 5000, `${who} gets B's party chat`);
      expect(line).toMatchObject({ channel: 'party', partyId, from: { userId: b.userId, name: 'Ben' } });
    }
    await a.call('chat.send', { channel: 'party', text: 'hi from the leader' });
    await within(ib.next('chat.message', (d) => d.text === 'hi from the leader'), 5000, 'B on n2 gets the leader\'s line');

    // C leaves; the others see it, and the party goes on.
    await cc.call('party.leave', {});
    await within(ia.next('party.memberLeft', (d) => d.userId === cc.userId), 5000, 'A sees C leave');
    await within(ib.next('party.memberLeft', (d) => d.userId === cc.userId), 5000, 'B sees C leave');
    expect((await cc.call('party.current', {})).party).toBeNull();
    await c.checkInvariants();
  });

  it('two players on different nodes queue for a duel, both accept, and sit in the same game', async () => {
    const c = cluster();
    const d = await c.guest(1, 'Dan');
    const e = await c.guest(2, 'Eve');
    const id = new Inbox(d, ['mm.status', 'game.started']);
    const ie = new Inbox(e, ['mm.status', 'game.started']);

    const [td, te] = await Promise.all([d.call('mm.join', { queue: 'duel' }), e.call('mm.join', { queue: 'duel' })]);
    // The reply is the ticket as the player's node holds it when it answers: two players queued at once for a
    // duel may already be matched by then.
    expect(td.status).toMatch(/^(queued|found)$/);
    expect(te.status).toMatch(/^(queued|found)$/);
    expect(td.ticketId).not.toBe(te.ticketId);

    const foundD = await within(id.next('mm.status', (s) => s.status === 'found'), 10_000, 'Dan (n2) gets a match');
    const foundE = await within(ie.next('mm.status', (s) => s.status === 'found'), 10_000, 'Eve (n3) gets a match');
    expect(foundD.match?.matchId).toBe(foundE.match?.matchId);
    expect(foundD.match?.teams.flat().map((p) => p.userId).sort()).toEqual([d.userId, e.userId].sort());

    await Promise.all([d.call('mm.accept', {}), e.call('mm.accept', {})]);
    const readyD = await within(id.next('mm.status', (s) => s.status === 'ready'), 10_000, 'Dan gets ready');
    const readyE = await within(ie.next('mm.status', (s) => s.status === 'ready'), 10_000, 'Eve gets ready');
    expect(readyD.gameId).toBeTruthy();
    expect(readyD.gameId).toBe(readyE.gameId);
    expect(readyD.sessionKey).toBeTruthy();
    expect(readyD.sessionKey).not.toBe(readyE.sessionKey);

    // Both nodes seat both players in that one game.
    const [gd, ge] = await Promise.all([d.call('game.current', {}), e.call('game.current', {})]);
    expect(gd.game?.id).toBe(readyD.gameId);
    expect(ge.game?.id).toBe(readyD.gameId);
    expect(gd.game?.players.map((p) => p.userId).sort()).toEqual([d.userId, e.userId].sort());
    expect(gd.game?.inProgress).toBe(true);
    expect((await d.call('mm.current', {})).ticket?.status ?? 'none').toMatch(/ready|none/);

    // Each confirms with its own key, whichever node owns the game.
    await d.call('game.confirm', { sessionKey: readyD.sessionKey! });
    await e.call('game.confirm', { sessionKey: readyE.sessionKey! });
    await c.checkInvariants();
  });
});
