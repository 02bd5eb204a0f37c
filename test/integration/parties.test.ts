import { eventsOf, type EventName, type LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAME_EVENTS, Inbox, until } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy } from '../helpers/proxy.js';

const PARTY_EVENTS: EventName[] = [...eventsOf('party'), 'mm.status', ...GAME_EVENTS];

interface P {
  c: LobbyClient;
  inbox: Inbox;
  id: string;
}

const QUEUES = JSON.stringify([
  { name: 'trio', teams: 2, teamSize: 3, requiredAttributes: ['character'], uniqueAttribute: 'character' },
  { name: 'duo', teams: 2, teamSize: 2 },
]);

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);

describe('parties (the rules matrix)', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ inviteTtlMs: 400, reconnectGraceMs: 200, queues: JSON.parse(QUEUES) });
  });
  afterAll(() => t.stop());

  async function p(name: string): Promise<P> {
    const c = t.client();
    const inbox = new Inbox(c, PARTY_EVENTS);
    await c.connect();
    const me = await c.call('auth.guest', { name });
    return { c, inbox, id: me.userId };
  }

  /** A permanent party: leader plus accepted members. */
  async function party(leader: P, ...members: P[]) {
    let view;
    for (const m of members) {
      view = (await leader.c.call('party.invite', { userId: m.id })).party;
      await m.c.call('party.accept', { partyId: view.id });
    }
    return view!.id;
  }

  describe('invite', () => {
    it('refuses unknown, offline and self; creates a party for an inviter without one', async () => {
      const [a, b] = await Promise.all([p('InvA'), p('InvB')]);
      expect(await code(a.c.call('party.invite', { userId: 'g:nobody' }))).toBe('USER_NOT_FOUND');
      const gone = await p('Gone');
      await gone.c.close();
      await until(() => !t.node.gateway.sessions.has(gone.id)); // its grace period is over
      expect(await code(a.c.call('party.invite', { userId: gone.id }))).toBe('USER_OFFLINE');
      expect(await code(a.c.call('party.invite', { userId: a.id }))).toBe('INVITE_SELF');
      const { party } = await a.c.call('party.invite', { userId: b.id });
      expect(party).toMatchObject({ leaderId: a.id, permanent: false, members: [{ userId: a.id }], invites: [{ userId: b.id }] });
      const invited = await b.inbox.next('party.invited');
      expect(invited).toMatchObject({ partyId: party.id, from: { userId: a.id }, userId: b.id });
    });

    it('refuses a non-leader, a member again, a user in another permanent party; allows a temporary one and a repeat', async () => {
      const [a, b, c, d, e] = await Promise.all([p('IA'), p('IB'), p('IC'), p('ID'), p('IE')]);
      await party(a, b);
      expect(await code(b.c.call('party.invite', { userId: c.id }))).toBe('NOT_LEADER');
      expect(await code(a.c.call('party.invite', { userId: b.id }))).toBe('ALREADY_MEMBER');
      await party(d, e);
      expect(await code(a.c.call('party.invite', { userId: d.id }))).toBe('IN_OTHER_PARTY');
      // c leads a temporary party (invites only): inviting c is allowed.
      await c.c.call('party.invite', { userId: e.id }).catch(() => {});
      const first = (await a.c.call('party.invite', { userId: c.id })).party.invites.find((i) => i.userId === c.id)!;
      const again = (await a.c.call('party.invite', { userId: c.id })).party.invites.find((i) => i.userId === c.id)!;
      expect(again.expiresAt).toBe(first.expiresAt);
    });

    it('counts pending invites toward the size limit', async () => {
      const ps = await Promise.all(['S0', 'S1', 'S2', 'S3', 'S4', 'S5'].map(p));
      for (const x of ps.slice(1, 5)) await ps[0]!.c.call('party.invite', { userId: x.id });
      expect(await code(ps[0]!.c.call('party.invite', { userId: ps[5]!.id }))).toBe('PARTY_FULL');
    });
  });

  describe('accept and decline', () => {
    it('refuses no such, expired and cancelled invites', async () => {
      const [a, b, c] = await Promise.all([p('AA'), p('AB'), p('AC')]);
      expect(await code(b.c.call('party.accept', { partyId: 'no-such-party' }))).toBe('INVITE_NOT_FOUND');
      const { party } = await a.c.call('party.invite', { userId: b.id });
      await a.c.call('party.invite', { userId: c.id });
      await a.c.call('party.kick', { userId: c.id });
      expect(await code(c.c.call('party.accept', { partyId: party.id }))).toBe('INVITE_CANCELLED');
      expect(await code(c.c.call('party.decline', { partyId: party.id }))).toBe('INVITE_CANCELLED');
      const expired = await b.inbox.next('party.inviteEnded', (d) => d.userId === b.id && d.reason === 'expired');
      expect(expired.partyId).toBe(party.id);
      // The leader was told, and the temporary party ended with its last invite.
      await a.inbox.next('party.inviteEnded', (d) => d.userId === b.id && d.reason === 'expired');
      expect((await a.inbox.next('party.ended')).reason).toBe('expired');
      expect(await code(b.c.call('party.accept', { partyId: party.id }))).toBe('INVITE_NOT_FOUND');
    });

    it('joins on accept: members get memberJoined, the newcomer a snapshot; a second invite after joining is refused', async () => {
      const [a, b, c] = await Promise.all([p('JA'), p('JB'), p('JC')]);
      const { party } = await a.c.call('party.invite', { userId: b.id });
      await c.c.call('party.invite', { userId: b.id });
      const joined = await b.c.call('party.accept', { partyId: party.id });
      expect(joined.party.permanent).toBe(true);
      expect((await a.inbox.next('party.memberJoined')).member.userId).toBe(b.id);
      expect((await b.inbox.next('party.snapshot')).party.members.map((m) => m.userId)).toEqual([a.id, b.id]);
      const other = (await c.c.call('party.current', {})).party!;
      expect(await code(b.c.call('party.accept', { partyId: other.id }))).toBe('ALREADY_IN_PARTY');
    });

    it('allows accepting while leading a temporary party of one\'s own, which ends', async () => {
      const [a, b, c] = await Promise.all([p('TA'), p('TB'), p('TC')]);
      const own = (await b.c.call('party.invite', { userId: c.id })).party;
      const { party } = await a.c.call('party.invite', { userId: b.id });
      await b.c.call('party.accept', { partyId: party.id });
      expect((await c.inbox.next('party.ended', (d) => d.partyId === own.id)).partyId).toBe(own.id);
      expect((await b.c.call('party.current', {})).party!.id).toBe(party.id);
    });

    it('decline tells the leader; an invite is gone after logout and relogin', async () => {
      const [a, b, c, d] = await Promise.all([p('DA'), p('DB'), p('DC'), p('DD')]);
      const partyId = await party(a, c); // permanent, so it outlives declined invites
      await a.c.call('party.invite', { userId: b.id });
      await b.c.call('party.decline', { partyId });
      expect((await a.inbox.next('party.inviteEnded', (x) => x.userId === b.id)).reason).toBe('declined');
      expect(await code(b.c.call('party.decline', { partyId }))).not.toBe('ok');

      await a.c.call('party.invite', { userId: d.id });
      const token = d.c.token!;
      await d.c.close();
      await a.inbox.next('party.inviteEnded', (x) => x.userId === d.id);
      const again = t.client();
      await again.connect();
      await again.call('auth.token', { token });
      expect(await code(again.call('party.accept', { partyId }))).toBe('INVITE_NOT_FOUND');
    });
  });

  describe('leave, kick, promote, attributes', () => {
    it('leave: refuses without a party (even with an invite); the leader leaving passes leadership in join order', async () => {
      const [a, b, c, x] = await Promise.all([p('LA'), p('LB'), p('LC'), p('LX')]);
      expect(await code(x.c.call('party.leave', {}))).toBe('NOT_IN_PARTY');
      await party(a, b, c);
      await a.c.call('party.invite', { userId: x.id });
      expect(await code(x.c.call('party.leave', {}))).toBe('NOT_IN_PARTY');
      await a.c.call('party.leave', {});
      expect((await c.inbox.next('party.memberLeft', (d) => d.userId === a.id)).leaderId).toBe(b.id);
      await c.c.call('party.leave', {});
      // Only the leader is left, but x's invite is pending: a temporary party, alive until its last invite goes.
      expect((await b.c.call('party.current', {})).party).toMatchObject({ permanent: false, invites: [{ userId: x.id }] });
      await b.c.call('party.kick', { userId: x.id });
      expect((await b.inbox.next('party.ended')).partyId).toBeTruthy();
      expect((await b.c.call('party.current', {})).party).toBeNull();
    });

    it('kick: refuses without a party, self, non-leader, unknown, and a second kick', async () => {
      const [a, b, c, x] = await Promise.all([p('KA'), p('KB'), p('KC'), p('KX')]);
      expect(await code(x.c.call('party.kick', { userId: a.id }))).toBe('NOT_IN_PARTY');
      await party(a, b, c);
      expect(await code(a.c.call('party.kick', { userId: a.id }))).toBe('KICK_SELF');
      expect(await code(b.c.call('party.kick', { userId: c.id }))).toBe('NOT_LEADER');
      expect(await code(a.c.call('party.kick', { userId: x.id }))).toBe('NOT_A_MEMBER');
      await a.c.call('party.kick', { userId: c.id });
      expect((await c.inbox.next('party.memberLeft', (d) => d.userId === c.id)).reason).toBe('kicked');
      expect(await code(a.c.call('party.kick', { userId: c.id }))).toBe('NOT_A_MEMBER');
    });

    it('promote hands leadership over; attributes are shared with the party and validated', async () => {
      const [a, b, x] = await Promise.all([p('PA'), p('PB'), p('PX')]);
      expect(await code(x.c.call('party.setAttributes', { attributes: { character: 'mage' } }))).toBe('NOT_IN_PARTY');
      await party(a, b);
      expect(await code(b.c.call('party.promote', { userId: b.id }))).toBe('NOT_LEADER');
      await a.c.call('party.promote', { userId: b.id });
      expect((await a.inbox.next('party.leaderChanged')).leaderId).toBe(b.id);
      await a.c.call('party.setAttributes', { attributes: { character: 'mage', level: 12 } });
      expect((await b.inbox.next('party.memberUpdated')).attributes).toEqual({ character: 'mage', level: 12 });
      expect(await code(a.c.call('party.setAttributes', { attributes: { character: { nested: true } } as never }))).toBe('BAD_REQUEST');
    });

    it('chat reaches the party only', async () => {
      const [a, b, x] = await Promise.all([p('CA'), p('CB'), p('CX')]);
      const id = await party(a, b);
      await a.c.call('chat.send', { channel: 'party', text: 'ready?' });
      expect(await b.inbox.next('chat.message')).toMatchObject({ channel: 'party', partyId: id, text: 'ready?' });
      expect(await code(x.c.call('chat.send', { channel: 'party', text: 'hi' }))).toBe('NOT_IN_PARTY');
      await x.c.call('session.ping', {});
      expect(x.inbox.of('chat.message')).toEqual([]);
    });
  });

  describe('going into matchmaking', () => {
    it('go: refuses no party, temporary party, missing attributes, duplicate characters, a non-leader', async () => {
      const [a, b, c] = await Promise.all([p('GA'), p('GB'), p('GC')]);
      expect(await code(a.c.call('party.go', { queue: 'trio' }))).toBe('NOT_IN_PARTY');
      await a.c.call('party.invite', { userId: b.id });
      expect(await code(a.c.call('party.go', { queue: 'trio' }))).toBe('PARTY_TEMPORARY');
      await party(a, b, c);
      expect(await code(b.c.call('party.go', { queue: 'trio' }))).toBe('NOT_LEADER');
      expect(await code(a.c.call('party.go', { queue: 'nope' }))).toBe('QUEUE_NOT_FOUND');
      expect(await code(a.c.call('party.go', { queue: 'trio' }))).toBe('MISSING_ATTRIBUTES');
      await a.c.call('party.setAttributes', { attributes: { character: 'mage' } });
      await b.c.call('party.setAttributes', { attributes: { character: 'mage' } });
      await c.c.call('party.setAttributes', { attributes: { character: 'rogue' } });
      expect(await code(a.c.call('party.go', { queue: 'trio' }))).toBe('DUPLICATE_ATTRIBUTE');
      await b.c.call('party.setAttributes', { attributes: { character: 'cleric' } });
      const ticket = await a.c.call('party.go', { queue: 'trio' });
      expect(ticket).toMatchObject({ queue: 'trio', status: 'queued' });
      for (const m of [a, b, c]) expect((await m.inbox.next('mm.status')).status).toBe('queued');
      expect((await b.inbox.next('party.queueChanged')).queue).toBe('trio');
    });

    it('while queued: no invites, no accepts, frozen attributes, no solo queue; leave stops the whole party\'s ticket', async () => {
      const [a, b, x, y, solo] = await Promise.all([p('QA'), p('QB'), p('QX'), p('QY'), p('QSolo')]);
      const id = await party(a, b);
      // an invite to y made before go; go drops it
      await a.c.call('party.invite', { userId: y.id });
      await a.c.call('party.go', { queue: 'duo' });
      expect(await code(y.c.call('party.accept', { partyId: id }))).toBe('IN_MATCHMAKING');
      expect(await code(y.c.call('party.decline', { partyId: id }))).toBe('IN_MATCHMAKING');
      expect(await code(a.c.call('party.invite', { userId: x.id }))).toBe('IN_MATCHMAKING');
      expect(await code(x.c.call('party.invite', { userId: a.id }))).toBe('IN_OTHER_PARTY');
      await solo.c.call('mm.join', { queue: 'duo' });
      expect(await code(x.c.call('party.invite', { userId: solo.id }))).toBe('IN_MATCHMAKING');
      expect(await code(b.c.call('party.setAttributes', { attributes: { character: 'x' } }))).toBe('IN_MATCHMAKING');
      expect(await code(b.c.call('mm.join', { queue: 'duo' }))).toBe('IN_PARTY');
      await b.c.call('party.leave', {});
      const stopped = await a.inbox.next('mm.status', (d) => d.status === 'cancelled');
      expect(stopped.reason).toBe('partyChanged');
      expect((await b.inbox.next('mm.status', (d) => d.status === 'cancelled')).ticketId).toBe(stopped.ticketId);
    });

    it('kick after go stops the party\'s matchmaking for everybody', async () => {
      const [a, b] = await Promise.all([p('KgA'), p('KgB')]);
      await party(a, b);
      await a.c.call('party.go', { queue: 'duo' });
      await a.c.call('party.kick', { userId: b.id });
      expect((await b.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('partyChanged');
      expect((await a.c.call('mm.current', {})).ticket).toBeNull();
    });

    it('a member who disconnects past the grace period leaves, and the party\'s ticket stops', async () => {
      const [a, b] = await Promise.all([p('DgA'), p('DgB')]);
      await party(a, b);
      await a.c.call('party.go', { queue: 'duo' });
      await b.c.close();
      expect((await a.inbox.next('party.memberLeft', (d) => d.userId === b.id)).reason).toBe('disconnected');
      expect((await a.inbox.next('mm.status', (d) => d.status === 'cancelled')).reason).toBe('partyChanged');
    });

    it('a member who comes back within the grace period resumes the party stream: what happened meanwhile is replayed', async () => {
      const proxy = await startProxy(t.node.port);
      try {
        const [a] = await Promise.all([p('SnapA')]);
        const b: P = await (async () => {
          const c = t.client({ url: `ws://127.0.0.1:${proxy.port}` });
          const inbox = new Inbox(c, PARTY_EVENTS);
          await c.connect();
          return { c, inbox, id: (await c.call('auth.guest', { name: 'SnapB' })).userId };
        })();
        const id = await party(a, b);
        const streams: [string, string][] = [];
        b.c.onStream((stream, state) => streams.push([stream, state]));
        const resumed = new Promise<void>((resolve) => b.c.onState((s) => s === 'resumed' && resolve()));
        proxy.block(true);
        proxy.cut();
        await until(() => !t.node.gateway.sessions.get(b.id)?.link); // the server saw the connection go
        await a.c.call('party.setAttributes', { attributes: { role: 'away-test' } });
        proxy.block(false);
        await resumed;
        const missed = await b.inbox.next('party.memberUpdated', (d) => d.userId === a.id && d.attributes.role === 'away-test');
        expect(missed.partyId).toBe(id);
        expect(streams).toContainEqual([`party:${id}`, 'resumed']);
        expect(streams).toContainEqual([`user:${b.id}`, 'resumed']);
        // Replayed, not resynced: no snapshot of the party came again.
        expect(b.inbox.of('party.snapshot').filter((x) => x.party.id === id)).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });

    it('game.join withParty: everyone joins if seats allow, or nobody does', async () => {
      const [a, b, c, host, host2] = await Promise.all([p('WpA'), p('WpB'), p('WpC'), p('WpH'), p('WpH2')]);
      await party(a, b, c);
      const small = (await host.c.call('game.create', { name: 'Small', gameType: 'wp', maxPlayers: 3 })).game;
      expect(await code(b.c.call('game.join', { gameId: small.id, withParty: true }))).toBe('NOT_LEADER');
      expect(await code(a.c.call('game.join', { gameId: small.id, withParty: true }))).toBe('GAME_FULL');
      expect((await host.c.call('game.current', {})).game!.players).toHaveLength(1);
      const big = (await host2.c.call('game.create', { name: 'Big', gameType: 'wp', maxPlayers: 4 })).game;
      const joined = await a.c.call('game.join', { gameId: big.id, withParty: true });
      expect(joined.game.players.map((x) => x.userId).sort()).toEqual([host2.id, a.id, b.id, c.id].sort());
    });
  });
});
