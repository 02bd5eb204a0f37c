import { QueueConfig } from '@foyer/shared';
import type { ErrorCode } from '@foyer/shared';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { applyParty, decideParty, partyInvitees, partyMembers, partyTimersOf, partyViewOf } from '../../server/src/domain/party.js';
import type { PartyCommand, PartyCtx, PartyDecision, PartyEvent, PartyRules, PartyState } from '../../server/src/domain/party.js';

const rules: PartyRules = { maxSize: 5, inviteTtlMs: 30_000 };
const T0 = 1_000_000;

const who = (userId: string) => ({ userId, name: `${userId[0]!.toUpperCase()}${userId.slice(1)}` });
type Ok = Extract<PartyDecision, { ok: true }>;
type Facts<T extends PartyCommand['type']> = Partial<Extract<PartyCommand, { type: T }> extends { facts: infer F } ? F : never>;

const queue = (q: Partial<z.input<typeof QueueConfig>> = {}) => QueueConfig.parse({ name: 'duo', teamSize: 2, ...q });

/** One party driven through decide/apply with a fake clock. */
class Harness {
  state: PartyState | undefined;
  now = T0;
  private ids = 0;
  readonly log: PartyEvent[] = [];

  ctx(): PartyCtx {
    return { now: this.now, newId: () => `id${++this.ids}` };
  }

  get s(): PartyState {
    if (!this.state) throw new Error('the party is gone');
    return this.state;
  }

  decide(cmd: PartyCommand): PartyDecision {
    return decideParty(this.state, cmd, this.ctx(), rules);
  }

  /** A command that must succeed: its events are applied, and its result must be the state they lead to. */
  ok(cmd: PartyCommand): Ok {
    const before = this.state && structuredClone(this.state);
    const d = this.decide(cmd);
    if (!d.ok) throw new Error(`${cmd.type} refused: ${d.code}`);
    expect(this.state).toEqual(before); // decide does not mutate
    for (const e of d.events) this.state = applyParty(this.state, e);
    this.log.push(...d.events);
    expect(d.result).toEqual(this.state ? partyViewOf(this.state) : null);
    return d;
  }

  refused(cmd: PartyCommand): ErrorCode {
    const d = this.decide(cmd);
    if (d.ok) throw new Error(`${cmd.type} was not refused`);
    return d.code;
  }

  invite(by: string, target: string, facts: Facts<'invite'> = {}): PartyCommand {
    return { type: 'invite', partyId: 'p1', by: who(by), target: who(target), facts: { targetInOtherPermanentParty: false, targetQueued: false, inviterQueued: false, ...facts } };
  }

  accept(userId: string, facts: Facts<'accept'> = {}): PartyCommand {
    return { type: 'accept', by: who(userId), facts: { inOtherPermanentParty: false, queued: false, ...facts } };
  }

  go(by: string, q: Partial<z.input<typeof QueueConfig>> = {}, facts: Facts<'go'> = {}): PartyCommand {
    return { type: 'go', by: who(by), queue: queue(q), facts: { memberQueued: false, ...facts } };
  }

  set(userId: string, attributes: Record<string, string | number | null>): PartyCommand {
    return { type: 'setAttributes', by: who(userId), attributes };
  }

  member(userId: string) {
    return this.s.members.find((m) => m.userId === userId);
  }
}

/** A party led by ann: `members` accepted (a second apart, in order), then `invited` are pending. */
function party(members: string[] = [], invited: string[] = [], leader = 'ann'): Harness {
  const h = new Harness();
  for (const u of members) {
    h.ok(h.invite(leader, u));
    h.now += 1000;
    h.ok(h.accept(u));
  }
  for (const u of invited) h.ok(h.invite(leader, u));
  return h;
}

const decline = (userId: string): PartyCommand => ({ type: 'decline', by: who(userId) });
const leave = (userId: string, reason: 'left' | 'disconnected' = 'left'): PartyCommand => ({ type: 'leave', userId, reason });
const kick = (by: string, userId: string): PartyCommand => ({ type: 'kick', by: who(by), userId });
const promote = (by: string, userId: string): PartyCommand => ({ type: 'promote', by: who(by), userId });
const expire = (h: Harness, userId: string): PartyCommand => ({ type: 'expireInvite', userId, invitedAt: h.s.invites.find((i) => i.userId === userId)!.invitedAt });
const drop = (userId: string): PartyCommand => ({ type: 'dropInvite', userId });
const evs = (d: Ok) => d.events.map((e) => e.ev);

describe('invite', () => {
  it('by a user without a party creates one with the inviter as leader, and tells the leader and the invitee', () => {
    const h = new Harness();
    const d = h.ok(h.invite('ann', 'bob'));
    const expiresAt = T0 + rules.inviteTtlMs;
    const invite = { userId: 'bob', name: 'Bob', invitedAt: T0, expiresAt };
    const view = {
      id: 'p1', leaderId: 'ann', members: [{ userId: 'ann', name: 'Ann', attributes: {}, joinedAt: T0 }], invites: [invite], permanent: false, queue: null, version: 2,
    };
    expect(d.events).toEqual([
      { ev: 'party.created', data: { party: { ...view, invites: [], version: 1 } } },
      { ev: 'party.invited', data: { partyId: 'p1', version: 2, userId: 'bob', from: who('ann'), expiresAt, party: view }, to: ['bob', 'ann'] },
    ]);
    expect(d.timers).toEqual([{ afterMs: rules.inviteTtlMs, command: { type: 'expireInvite', userId: 'bob', invitedAt: T0 } }]);
    expect(d.result).toEqual(view);
    expect(h.s.closedInvites).toEqual({});
  });

  it('tells the invitee and every member; the party snapshot in it shows the new invite', () => {
    const h = party(['bob']);
    h.now += 5000;
    const d = h.ok(h.invite('ann', 'cat'));
    expect(d.events).toEqual([
      { ev: 'party.invited', data: expect.objectContaining({ userId: 'cat', version: 5, expiresAt: h.now + rules.inviteTtlMs, party: partyViewOf(h.s) }), to: ['cat', 'ann', 'bob'] },
    ]);
  });

  it('refuses inviting oneself, with or without a party', () => {
    expect(new Harness().refused(new Harness().invite('ann', 'ann'))).toBe('INVITE_SELF');
    const h = party(['bob']);
    expect(h.refused(h.invite('ann', 'ann'))).toBe('INVITE_SELF');
  });

  it('refuses an inviter who is a member but not the leader', () => {
    const h = party(['bob']);
    expect(h.refused(h.invite('bob', 'cat'))).toBe('NOT_LEADER');
  });

  it('refuses an inviter who is not a member of the party at all (the service gives them their own)', () => {
    const h = party([], ['bob']);
    expect(h.refused(h.invite('bob', 'cat'))).toBe('NOT_IN_PARTY');
  });

  it('refuses one\'s own member again', () => {
    const h = party(['bob']);
    expect(h.refused(h.invite('ann', 'bob'))).toBe('ALREADY_MEMBER');
  });

  it('refuses a user in another permanent party', () => {
    expect(new Harness().refused(new Harness().invite('ann', 'bob', { targetInOtherPermanentParty: true }))).toBe('IN_OTHER_PARTY');
    const h = party(['bob']);
    expect(h.refused(h.invite('ann', 'cat', { targetInOtherPermanentParty: true }))).toBe('IN_OTHER_PARTY');
  });

  it('allows a user in a temporary party: one who holds other invites, or leads a party of invites', () => {
    const other = party([], ['cat'], 'bob'); // bob leads a temporary party; cat is invited there
    expect(other.s.permanent).toBe(false);
    const h = party([], ['dan']);
    h.ok(h.invite('ann', 'bob')); // the facts say "not in a permanent party"
    h.ok(h.invite('ann', 'cat'));
    expect(partyInvitees(h.s)).toEqual(['dan', 'bob', 'cat']);
  });

  it('allows the same user twice: nothing changes, the invite keeps its expiry and no new timer starts', () => {
    const h = party([], ['bob']);
    const before = structuredClone(h.s);
    h.now += 20_000;
    const d = h.ok(h.invite('ann', 'bob'));
    expect(d.events).toEqual([]);
    expect(d.timers).toEqual([]);
    expect(h.s).toEqual(before);
    expect(h.s.invites[0]!.expiresAt).toBe(T0 + rules.inviteTtlMs);
  });

  it('refuses when the invitee, the inviter or the party is in matchmaking', () => {
    for (const facts of [{ targetQueued: true }, { inviterQueued: true }]) {
      expect(new Harness().refused(new Harness().invite('ann', 'bob', facts))).toBe('IN_MATCHMAKING');
      const h = party(['bob']);
      expect(h.refused(h.invite('ann', 'cat', facts))).toBe('IN_MATCHMAKING');
    }
    const h = party(['bob']);
    h.ok(h.go('ann'));
    expect(h.refused(h.invite('ann', 'cat'))).toBe('IN_MATCHMAKING');
  });

  it('counts members and pending invites against the maximum of 5; a repeat invite of one already counted is fine', () => {
    const h = party(['bob', 'cat'], ['dan', 'eve']);
    expect(h.refused(h.invite('ann', 'fay'))).toBe('PARTY_FULL');
    expect(h.ok(h.invite('ann', 'eve')).events).toEqual([]);
    h.ok(kick('ann', 'dan'));
    h.ok(h.invite('ann', 'fay'));
    expect(h.refused(h.invite('ann', 'dan'))).toBe('PARTY_FULL');
  });

  it('checks in the documented order: INVITE_SELF, NOT_LEADER, ALREADY_MEMBER, IN_OTHER_PARTY, PARTY_FULL, IN_MATCHMAKING', () => {
    const all = { targetInOtherPermanentParty: true, targetQueued: true, inviterQueued: true };
    const h = party(['bob', 'cat'], ['dan', 'eve']);
    expect(h.refused(h.invite('bob', 'bob', all))).toBe('INVITE_SELF');
    expect(h.refused(h.invite('bob', 'cat', all))).toBe('NOT_LEADER');
    expect(h.refused(h.invite('ann', 'cat', all))).toBe('ALREADY_MEMBER');
    expect(h.refused(h.invite('ann', 'fay', all))).toBe('IN_OTHER_PARTY');
    expect(h.refused(h.invite('ann', 'fay', { targetQueued: true }))).toBe('PARTY_FULL');
    expect(h.refused(h.invite('ann', 'eve', { targetQueued: true }))).toBe('IN_MATCHMAKING'); // eve's invite counts already
  });

  it('clears what is recorded of the user\'s past invite', () => {
    const h = party(['bob'], ['cat']);
    h.ok(kick('ann', 'cat'));
    expect(h.s.closedInvites).toEqual({ cat: 'cancelled' });
    h.ok(h.invite('ann', 'cat'));
    expect(h.s.closedInvites).toEqual({});
    h.ok(h.accept('cat'));
  });
});

describe('invite expiry', () => {
  it('ends the invite after 30 s as expired, telling the invitee and the members; accept then says INVITE_EXPIRED', () => {
    const h = party(['bob'], ['cat']);
    h.now = T0 + 30_000;
    const d = h.ok(expire(h, 'cat'));
    expect(d.events).toEqual([{ ev: 'party.inviteEnded', data: { partyId: 'p1', version: 6, userId: 'cat', reason: 'expired' }, to: ['cat', 'ann', 'bob'], closed: 'expired' }]);
    expect(h.s.closedInvites).toEqual({ cat: 'expired' });
    expect(h.refused(h.accept('cat'))).toBe('INVITE_EXPIRED');
    expect(h.refused(decline('cat'))).toBe('INVITE_EXPIRED');
  });

  it('ends a temporary party with its last invite, and the leader is told', () => {
    const h = party([], ['bob', 'cat']);
    expect(evs(h.ok(expire(h, 'bob')))).toEqual(['party.inviteEnded']);
    const d = h.ok(expire(h, 'cat'));
    expect(d.events.at(-1)).toEqual({ ev: 'party.ended', data: { partyId: 'p1', reason: 'expired' }, to: ['ann'] });
    expect(d.result).toBeNull();
    expect(h.state).toBeUndefined();
  });

  it('ignores a stale timer: the invite is gone, or was sent anew since', () => {
    const h = party(['bob'], ['cat']);
    const first = expire(h, 'cat');
    h.ok(kick('ann', 'cat'));
    expect(h.ok(first).events).toEqual([]);
    h.now += 1000;
    h.ok(h.invite('ann', 'cat'));
    expect(h.ok(first).events).toEqual([]);
    expect(partyInvitees(h.s)).toEqual(['cat']);
    expect(h.ok({ type: 'expireInvite', userId: 'zed', invitedAt: T0 }).events).toEqual([]);
  });

  it('is a no-op once the party is gone', () => {
    const d = new Harness().ok({ type: 'expireInvite', userId: 'bob', invitedAt: T0 });
    expect(d).toEqual({ ok: true, result: null, events: [], timers: [] });
  });
});

describe('accept', () => {
  it('tells the invitee and the members the invite is over, the members who joined, and the newcomer everything', () => {
    const h = party(['bob'], ['cat']);
    h.now += 7000;
    const d = h.ok(h.accept('cat'));
    const member = { userId: 'cat', name: 'Cat', attributes: {}, joinedAt: h.now };
    expect(d.events).toEqual([
      { ev: 'party.inviteEnded', data: { partyId: 'p1', version: 6, userId: 'cat', reason: 'accepted' }, to: ['cat', 'ann', 'bob'] },
      { ev: 'party.memberJoined', data: { partyId: 'p1', version: 7, member }, to: ['ann', 'bob'] },
      { ev: 'party.snapshot', data: { party: partyViewOf(h.s) }, to: ['cat'] },
    ]);
    expect(h.s.version).toBe(7); // the snapshot changes nothing
    expect(partyMembers(h.s)).toEqual(['ann', 'bob', 'cat']);
    expect(h.s.invites).toEqual([]);
    expect(h.s.closedInvites).toEqual({});
  });

  it('makes a temporary party permanent', () => {
    const h = party([], ['bob']);
    expect(h.s.permanent).toBe(false);
    h.ok(h.accept('bob'));
    expect(h.s.permanent).toBe(true);
  });

  it('refuses when there is no such invite, or no such party', () => {
    const h = party(['bob']);
    expect(h.refused(h.accept('cat'))).toBe('INVITE_NOT_FOUND');
    expect(h.refused(h.accept('bob'))).toBe('INVITE_NOT_FOUND'); // a member holds no invite
    expect(new Harness().refused(new Harness().accept('bob'))).toBe('INVITE_NOT_FOUND');
  });

  it('refuses an expired invite (INVITE_EXPIRED)', () => {
    const h = party(['bob'], ['cat']);
    h.ok(expire(h, 'cat'));
    expect(h.refused(h.accept('cat'))).toBe('INVITE_EXPIRED');
  });

  it('refuses an invite the leader cancelled with a kick (INVITE_CANCELLED)', () => {
    const h = party(['bob'], ['cat']);
    h.ok(kick('ann', 'cat'));
    expect(h.refused(h.accept('cat'))).toBe('INVITE_CANCELLED');
  });

  it('refuses a second invite after joining a permanent party (ALREADY_IN_PARTY)', () => {
    const h = party([], ['bob']);
    expect(h.refused(h.accept('bob', { inOtherPermanentParty: true }))).toBe('ALREADY_IN_PARTY');
  });

  it('refuses after logout and relogin: the invite is gone without a trace (INVITE_NOT_FOUND)', () => {
    const h = party(['bob'], ['cat']);
    h.ok(drop('cat'));
    expect(h.refused(h.accept('cat'))).toBe('INVITE_NOT_FOUND');
    expect(h.refused(decline('cat'))).toBe('INVITE_NOT_FOUND');
  });

  it('refuses after the party went into matchmaking (IN_MATCHMAKING)', () => {
    const h = party(['bob'], ['cat']);
    h.ok(h.go('ann'));
    expect(h.refused(h.accept('cat'))).toBe('IN_MATCHMAKING');
  });

  it('refuses an invitee who is in matchmaking (IN_MATCHMAKING)', () => {
    const h = party([], ['bob']);
    expect(h.refused(h.accept('bob', { queued: true }))).toBe('IN_MATCHMAKING');
  });

  it('checks the invite first, then ALREADY_IN_PARTY, then IN_MATCHMAKING', () => {
    const h = party(['bob'], ['cat']);
    const both = { inOtherPermanentParty: true, queued: true };
    expect(h.refused(h.accept('dan', both))).toBe('INVITE_NOT_FOUND');
    expect(h.refused(h.accept('cat', both))).toBe('ALREADY_IN_PARTY');
  });

  it('is allowed while leading one\'s own temporary party; leaving that one ends it and tells its invitees', () => {
    const own = party([], ['dan'], 'bob');
    const h = party([], ['bob']);
    h.ok(h.accept('bob')); // the facts: bob's own party is temporary, so not "another permanent party"
    expect(h.s.permanent).toBe(true);
    // The service then takes bob out of the party he led:
    expect(own.ok(leave('bob')).events).toEqual([{ ev: 'party.ended', data: { partyId: 'p1', reason: 'empty' }, to: ['bob', 'dan'] }]);
  });
});

describe('decline', () => {
  it('tells the invitee and the members, and records the decline (a later accept finds nothing)', () => {
    const h = party(['bob'], ['cat']);
    const d = h.ok(decline('cat'));
    expect(d.events).toEqual([{ ev: 'party.inviteEnded', data: { partyId: 'p1', version: 6, userId: 'cat', reason: 'declined' }, to: ['cat', 'ann', 'bob'], closed: 'declined' }]);
    expect(h.s.closedInvites).toEqual({ cat: 'declined' });
    expect(h.refused(h.accept('cat'))).toBe('INVITE_NOT_FOUND');
  });

  it('refuses no such, an expired and a cancelled invite', () => {
    const h = party(['bob'], ['cat', 'dan']);
    expect(h.refused(decline('eve'))).toBe('INVITE_NOT_FOUND');
    h.ok(expire(h, 'cat'));
    expect(h.refused(decline('cat'))).toBe('INVITE_EXPIRED');
    h.ok(kick('ann', 'dan'));
    expect(h.refused(decline('dan'))).toBe('INVITE_CANCELLED');
    expect(new Harness().refused(decline('bob'))).toBe('INVITE_NOT_FOUND');
  });

  it('refuses after the party went into matchmaking', () => {
    const h = party(['bob'], ['cat']);
    h.ok(h.go('ann'));
    expect(h.refused(decline('cat'))).toBe('IN_MATCHMAKING');
  });

  it('ends a temporary party when its last invite is declined', () => {
    const h = party([], ['bob']);
    expect(evs(h.ok(decline('bob')))).toEqual(['party.inviteEnded', 'party.ended']);
    expect(h.log.at(-1)).toEqual({ ev: 'party.ended', data: { partyId: 'p1', reason: 'expired' }, to: ['ann'] });
    expect(h.state).toBeUndefined();
  });
});

describe('leave (disband)', () => {
  it('refuses a user without a party, and one who only holds an invite', () => {
    expect(new Harness().refused(leave('ann'))).toBe('NOT_IN_PARTY');
    const h = party(['bob'], ['cat']);
    expect(h.refused(leave('cat'))).toBe('NOT_IN_PARTY');
    expect(h.refused(leave('zed'))).toBe('NOT_IN_PARTY');
  });

  it('from a permanent party: memberLeft to the members, the one leaving included', () => {
    const h = party(['bob', 'cat']);
    const d = h.ok(leave('bob', 'disconnected'));
    expect(d.events).toEqual([{ ev: 'party.memberLeft', data: { partyId: 'p1', version: 8, userId: 'bob', reason: 'disconnected', leaderId: 'ann' }, to: ['ann', 'bob', 'cat'] }]);
    expect(partyMembers(h.s)).toEqual(['ann', 'cat']);
  });

  it('from a temporary party: the leader leaving ends it, and the pending invitees are told', () => {
    const h = party([], ['bob', 'cat']);
    const d = h.ok(leave('ann'));
    expect(d.events).toEqual([{ ev: 'party.ended', data: { partyId: 'p1', reason: 'empty' }, to: ['ann', 'bob', 'cat'] }]);
    expect(d.result).toBeNull();
    expect(h.refused(h.accept('bob'))).toBe('INVITE_NOT_FOUND');
  });

  it('passes leadership to the next member in join order', () => {
    const h = party(['bob', 'cat', 'dan']);
    h.ok(leave('cat'));
    h.ok(h.invite('ann', 'cat'));
    h.ok(h.accept('cat')); // cat now joined after dan
    expect(h.ok(leave('ann')).events[0]!.data).toMatchObject({ userId: 'ann', leaderId: 'bob' });
    expect(h.ok(leave('bob')).events[0]!.data).toMatchObject({ userId: 'bob', leaderId: 'dan' });
    expect(h.s.leaderId).toBe('dan');
    expect(h.refused(h.invite('cat', 'eve'))).toBe('NOT_LEADER');
    h.ok(h.invite('dan', 'eve'));
  });

  it('ends a party left with only its leader and no invites, telling the leader', () => {
    const h = party(['bob']);
    const d = h.ok(leave('ann'));
    expect(d.events).toEqual([
      { ev: 'party.memberLeft', data: { partyId: 'p1', version: 5, userId: 'ann', reason: 'left', leaderId: 'bob' }, to: ['ann', 'bob'] },
      { ev: 'party.ended', data: { partyId: 'p1', reason: 'empty' }, to: ['bob'] },
    ]);
    expect(h.state).toBeUndefined();
  });

  it('keeps a party left with only its leader while invites are pending: it is temporary again', () => {
    const h = party(['bob'], ['cat']);
    h.ok(leave('bob'));
    expect(h.s).toMatchObject({ permanent: false, leaderId: 'ann' });
    expect(h.refused(h.go('ann'))).toBe('PARTY_TEMPORARY');
    expect(evs(h.ok(expire(h, 'cat')))).toEqual(['party.inviteEnded', 'party.ended']);
  });

  it('after go: the whole party leaves the queue first (the service cancels the ticket)', () => {
    const h = party(['bob', 'cat']);
    h.ok(h.go('ann', { teamSize: 3 }));
    const d = h.ok(leave('cat'));
    expect(d.events).toEqual([
      { ev: 'party.queueChanged', data: { partyId: 'p1', version: 9, queue: null }, to: ['ann', 'bob', 'cat'] },
      { ev: 'party.memberLeft', data: { partyId: 'p1', version: 10, userId: 'cat', reason: 'left', leaderId: 'ann' }, to: ['ann', 'bob', 'cat'] },
    ]);
    expect(h.s.queue).toBeNull();
  });

  it('after go, a party of two: queue stopped, then ended', () => {
    const h = party(['bob']);
    h.ok(h.go('ann'));
    expect(evs(h.ok(leave('bob', 'disconnected')))).toEqual(['party.queueChanged', 'party.memberLeft', 'party.ended']);
  });
});

describe('kick', () => {
  it('refuses a kicker without a party, oneself, a kicker who is not the leader, an unknown target', () => {
    expect(new Harness().refused(kick('ann', 'bob'))).toBe('NOT_IN_PARTY');
    const h = party(['bob', 'cat'], ['dan']);
    expect(h.refused(kick('dan', 'bob'))).toBe('NOT_IN_PARTY'); // an invitee
    expect(h.refused(kick('ann', 'ann'))).toBe('KICK_SELF');
    expect(h.refused(kick('bob', 'cat'))).toBe('NOT_LEADER');
    expect(h.refused(kick('bob', 'bob'))).toBe('NOT_LEADER');
    expect(h.refused(kick('ann', 'zed'))).toBe('NOT_A_MEMBER');
  });

  it('removes a member as kicked; a second kick of the same member is refused', () => {
    const h = party(['bob', 'cat']);
    const d = h.ok(kick('ann', 'bob'));
    expect(d.events).toEqual([{ ev: 'party.memberLeft', data: { partyId: 'p1', version: 8, userId: 'bob', reason: 'kicked', leaderId: 'ann' }, to: ['ann', 'bob', 'cat'] }]);
    expect(h.refused(kick('ann', 'bob'))).toBe('NOT_A_MEMBER');
  });

  it('cancels a pending invite, telling the invitee and the members; a second kick of it is refused', () => {
    const h = party(['bob'], ['cat']);
    const d = h.ok(kick('ann', 'cat'));
    expect(d.events).toEqual([{ ev: 'party.inviteEnded', data: { partyId: 'p1', version: 6, userId: 'cat', reason: 'cancelled' }, to: ['cat', 'ann', 'bob'], closed: 'cancelled' }]);
    expect(h.s.closedInvites).toEqual({ cat: 'cancelled' });
    expect(h.refused(kick('ann', 'cat'))).toBe('NOT_A_MEMBER');
  });

  it('ends a temporary party whose last invite it cancels', () => {
    const h = party([], ['bob']);
    expect(evs(h.ok(kick('ann', 'bob')))).toEqual(['party.inviteEnded', 'party.ended']);
  });

  it('ends a party it leaves with only the leader and no invites', () => {
    const h = party(['bob']);
    const d = h.ok(kick('ann', 'bob'));
    expect(d.events.at(-1)).toEqual({ ev: 'party.ended', data: { partyId: 'p1', reason: 'empty' }, to: ['ann'] });
  });

  it('after go: the whole party leaves the queue', () => {
    const h = party(['bob', 'cat']);
    h.ok(h.go('ann', { teamSize: 3 }));
    expect(evs(h.ok(kick('ann', 'cat')))).toEqual(['party.queueChanged', 'party.memberLeft']);
    expect(h.s.queue).toBeNull();
  });
});

describe('promote', () => {
  it('hands leadership to another member, by the leader only', () => {
    const h = party(['bob'], ['cat']);
    expect(h.refused(promote('zed', 'bob'))).toBe('NOT_IN_PARTY');
    expect(h.refused(promote('bob', 'bob'))).toBe('NOT_LEADER');
    expect(h.refused(promote('ann', 'cat'))).toBe('NOT_A_MEMBER'); // an invitee is not a member
    expect(h.refused(promote('ann', 'zed'))).toBe('NOT_A_MEMBER');
    expect(h.ok(promote('ann', 'ann')).events).toEqual([]);
    const d = h.ok(promote('ann', 'bob'));
    expect(d.events).toEqual([{ ev: 'party.leaderChanged', data: { partyId: 'p1', version: 6, leaderId: 'bob' }, to: ['ann', 'bob'] }]);
    expect(h.s.leaderId).toBe('bob');
    expect(h.refused(kick('ann', 'bob'))).toBe('NOT_LEADER');
    h.ok(kick('bob', 'cat'));
  });
});

describe('setAttributes', () => {
  it('merges into what was set, null removing a key; the party hears the whole set', () => {
    const h = party(['bob']);
    h.ok(h.set('bob', { character: 'mage', level: 7 }));
    const d = h.ok(h.set('bob', { level: null, side: 'A' }));
    expect(d.events).toEqual([{ ev: 'party.memberUpdated', data: { partyId: 'p1', version: 6, userId: 'bob', attributes: { character: 'mage', side: 'A' } }, to: ['ann', 'bob'] }]);
    expect(h.member('bob')?.attributes).toEqual({ character: 'mage', side: 'A' });
  });

  it('is a no-op when nothing changes', () => {
    const h = party(['bob']);
    h.ok(h.set('bob', { character: 'mage' }));
    expect(h.ok(h.set('bob', { character: 'mage', level: null })).events).toEqual([]);
  });

  it('is allowed in a temporary and in a permanent party', () => {
    const h = party([], ['bob']);
    h.ok(h.set('ann', { character: 'mage' }));
    h.ok(h.accept('bob'));
    h.ok(h.set('ann', { character: 'rogue' }));
    h.ok(h.set('bob', { character: 'mage' }));
  });

  it('refuses a user without a party, even one with invites', () => {
    expect(new Harness().refused(new Harness().set('ann', { a: 1 }))).toBe('NOT_IN_PARTY');
    const h = party([], ['bob']);
    expect(h.refused(h.set('bob', { a: 1 }))).toBe('NOT_IN_PARTY');
  });

  it('refuses an invalid value: more than 16 attributes once merged', () => {
    const h = party(['bob']);
    h.ok(h.set('bob', Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))));
    expect(h.refused(h.set('bob', { k16: 16 }))).toBe('BAD_REQUEST');
    h.ok(h.set('bob', { k0: null, k16: 16 }));
  });

  it('refuses changes while the party is queued (choices are frozen)', () => {
    const h = party(['bob']);
    h.ok(h.go('ann'));
    expect(h.refused(h.set('bob', { character: 'mage' }))).toBe('IN_MATCHMAKING');
  });

  it('is safe for keys that name Object.prototype members', () => {
    const h = party(['bob']);
    h.ok(h.set('bob', JSON.parse('{"__proto__": "x", "constructor": 1}') as Record<string, string | number>));
    expect(Object.keys(h.member('bob')!.attributes)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(h.member('bob')!.attributes)).toBe(Object.prototype);
    h.ok(h.set('bob', JSON.parse('{"__proto__": null}') as Record<string, null>));
    expect(h.member('bob')!.attributes).toEqual({ constructor: 1 });
  });
});

describe('go', () => {
  it('queues the party: every pending invite ends (recorded as queued), then queueChanged; the result is the party', () => {
    const h = party(['bob'], ['cat', 'dan']);
    const d = h.ok(h.go('ann', { name: 'duo' }));
    expect(d.events).toEqual([
      { ev: 'party.inviteEnded', data: { partyId: 'p1', version: 7, userId: 'cat', reason: 'cancelled' }, to: ['cat', 'ann', 'bob'], closed: 'queued' },
      { ev: 'party.inviteEnded', data: { partyId: 'p1', version: 8, userId: 'dan', reason: 'cancelled' }, to: ['dan', 'ann', 'bob'], closed: 'queued' },
      { ev: 'party.queueChanged', data: { partyId: 'p1', version: 9, queue: 'duo' }, to: ['ann', 'bob'] },
    ]);
    expect(d.result).toMatchObject({ queue: 'duo', invites: [], version: 9 });
    expect(h.s.closedInvites).toEqual({ cat: 'queued', dan: 'queued' });
  });

  it('refuses a user without a party, and one who only holds an invite', () => {
    expect(new Harness().refused(new Harness().go('ann'))).toBe('NOT_IN_PARTY');
    const h = party(['bob'], ['cat']);
    expect(h.refused(h.go('cat'))).toBe('NOT_IN_PARTY');
  });

  it('refuses a member who is not the leader', () => {
    const h = party(['bob']);
    expect(h.refused(h.go('bob'))).toBe('NOT_LEADER');
  });

  it('refuses a temporary party (nobody accepted)', () => {
    const h = party([], ['bob']);
    expect(h.refused(h.go('ann', { teamSize: 1 }))).toBe('PARTY_TEMPORARY');
  });

  it('refuses when a member is in matchmaking already, or the party is queued', () => {
    const h = party(['bob']);
    expect(h.refused(h.go('ann', {}, { memberQueued: true }))).toBe('IN_MATCHMAKING');
    h.ok(h.go('ann'));
    expect(h.refused(h.go('ann'))).toBe('IN_MATCHMAKING');
  });

  it('refuses when a member lacks a required attribute', () => {
    const h = party(['bob']);
    h.ok(h.set('ann', { character: 'mage' }));
    expect(h.refused(h.go('ann', { requiredAttributes: ['character'] }))).toBe('MISSING_ATTRIBUTES');
    h.ok(h.set('bob', { character: 'rogue' }));
    h.ok(h.go('ann', { requiredAttributes: ['character'] }));
  });

  it('refuses a size the queue does not take: partySizes, or 1..teamSize', () => {
    const h = party(['bob', 'cat']);
    expect(h.refused(h.go('ann', { teamSize: 2 }))).toBe('PARTY_SIZE_NOT_ALLOWED');
    expect(h.refused(h.go('ann', { teamSize: 5, partySizes: [1, 2, 5] }))).toBe('PARTY_SIZE_NOT_ALLOWED');
    h.ok(h.go('ann', { teamSize: 3 }));
  });

  it('refuses two members with the same value of the unique attribute (unset values do not clash)', () => {
    const h = party(['bob', 'cat']);
    h.ok(h.set('ann', { character: 'mage' }));
    h.ok(h.set('bob', { character: 'mage' }));
    expect(h.refused(h.go('ann', { teamSize: 3, uniqueAttribute: 'character' }))).toBe('DUPLICATE_ATTRIBUTE');
    h.ok(h.set('bob', { character: null }));
    h.ok(h.go('ann', { teamSize: 3, uniqueAttribute: 'character' }));
  });

  it('refuses members who want sides A and B (any or unset go with either)', () => {
    const h = party(['bob', 'cat']);
    h.ok(h.set('ann', { side: 'A' }));
    h.ok(h.set('bob', { side: 'any' }));
    h.ok(h.set('cat', { side: 'B' }));
    expect(h.refused(h.go('ann', { teamSize: 3, sides: true }))).toBe('SIDE_CONFLICT');
    h.ok(h.set('cat', { side: 'A' }));
    h.ok(h.go('ann', { teamSize: 3, sides: true }));
  });

  // Each check, as a party state that fails it (a members' setup) and the go that meets it.
  it('checks in the documented order: NOT_IN_PARTY, NOT_LEADER, PARTY_TEMPORARY, IN_MATCHMAKING, MISSING_ATTRIBUTES, PARTY_SIZE_NOT_ALLOWED, DUPLICATE_ATTRIBUTE, SIDE_CONFLICT', () => {
    const failing = { requiredAttributes: ['level'], teamSize: 2, uniqueAttribute: 'character' };
    const h = party(['bob', 'cat'], ['dan']);
    h.ok(h.set('ann', { character: 'mage', side: 'A' }));
    h.ok(h.set('bob', { character: 'mage', side: 'B' }));
    h.ok(h.set('cat', { character: 'rogue' }));
    const queued = { memberQueued: true };
    expect(h.refused(h.go('dan', failing, queued))).toBe('NOT_IN_PARTY');
    expect(h.refused(h.go('bob', failing, queued))).toBe('NOT_LEADER');
    const temp = party([], ['bob']);
    expect(temp.refused(temp.go('ann', failing, queued))).toBe('PARTY_TEMPORARY');
    expect(h.refused(h.go('ann', failing, queued))).toBe('IN_MATCHMAKING');
    expect(h.refused(h.go('ann', failing))).toBe('MISSING_ATTRIBUTES');
    expect(h.refused(h.go('ann', { ...failing, requiredAttributes: [] }))).toBe('PARTY_SIZE_NOT_ALLOWED');
    expect(h.refused(h.go('ann', { ...failing, requiredAttributes: [], teamSize: 3 }))).toBe('DUPLICATE_ATTRIBUTE');
    expect(h.refused(h.go('ann', { teamSize: 3, sides: true }))).toBe('SIDE_CONFLICT');
  });

  it('ignores sides in a queue without sides', () => {
    const h = party(['bob']);
    h.ok(h.set('ann', { side: 'A' }));
    h.ok(h.set('bob', { side: 'B' }));
    h.ok(h.go('ann', { teamSize: 2 }));
  });

  it('freezes choices and takes no invites while queued; unqueue opens the party again', () => {
    const h = party(['bob']);
    h.ok(h.go('ann'));
    expect(h.refused(h.set('ann', { character: 'mage' }))).toBe('IN_MATCHMAKING');
    expect(h.refused(h.invite('ann', 'cat'))).toBe('IN_MATCHMAKING');
    const d = h.ok({ type: 'unqueue' });
    expect(d.events).toEqual([{ ev: 'party.queueChanged', data: { partyId: 'p1', version: h.s.version, queue: null }, to: ['ann', 'bob'] }]);
    expect(h.ok({ type: 'unqueue' }).events).toEqual([]);
    h.ok(h.set('ann', { character: 'mage' }));
    h.ok(h.invite('ann', 'cat'));
  });

  it('leaves the party as it was when refused', () => {
    const h = party(['bob'], ['cat']);
    const before = structuredClone(h.s);
    h.refused(h.go('ann', { requiredAttributes: ['character'] }));
    expect(h.s).toEqual(before);
  });
});

describe('logout', () => {
  it('a member\'s session ending leaves the party (reason disconnected) and stops its matchmaking', () => {
    const h = party(['bob', 'cat']);
    h.ok(h.go('ann', { teamSize: 3 }));
    const d = h.ok(leave('bob', 'disconnected'));
    expect(evs(d)).toEqual(['party.queueChanged', 'party.memberLeft']);
    expect(d.events[1]!.data).toMatchObject({ userId: 'bob', reason: 'disconnected' });
  });

  it('an invitee\'s session ending drops the invite: the members are told, nothing is recorded', () => {
    const h = party(['bob'], ['cat']);
    const d = h.ok(drop('cat'));
    expect(d.events).toEqual([{ ev: 'party.inviteEnded', data: { partyId: 'p1', version: 6, userId: 'cat', reason: 'cancelled' }, to: ['ann', 'bob'] }]);
    expect(h.s.closedInvites).toEqual({});
    expect(h.ok(drop('cat')).events).toEqual([]);
  });

  it('a temporary party whose last invitee is gone ends', () => {
    const h = party([], ['bob']);
    expect(evs(h.ok(drop('bob')))).toEqual(['party.inviteEnded', 'party.ended']);
    expect(h.log.at(-1)).toMatchObject({ data: { reason: 'expired' }, to: ['ann'] });
  });

  it('a permanent party whose last member left ends', () => {
    const h = party(['bob']);
    expect(evs(h.ok(leave('bob', 'disconnected')))).toEqual(['party.memberLeft', 'party.ended']);
    expect(h.state).toBeUndefined();
  });
});

describe('gone party', () => {
  it('answers the service\'s commands with no-ops and the users\' with refusals', () => {
    const h = new Harness();
    for (const cmd of [{ type: 'unqueue' } as const, drop('bob'), { type: 'expireInvite', userId: 'bob', invitedAt: T0 } as const]) {
      expect(h.ok(cmd)).toEqual({ ok: true, result: null, events: [], timers: [] });
    }
    expect(h.refused(promote('ann', 'bob'))).toBe('NOT_IN_PARTY');
    expect(h.refused(h.set('ann', {}))).toBe('NOT_IN_PARTY');
  });
});

describe('views', () => {
  it('partyViewOf shows no closedInvites and shares nothing mutable with the state', () => {
    const h = party(['bob'], ['cat', 'dan']);
    h.ok(h.set('bob', { character: 'mage' }));
    h.ok(kick('ann', 'dan'));
    const v = partyViewOf(h.s);
    expect(v).not.toHaveProperty('closedInvites');
    v.members[1]!.attributes['character'] = 'rogue';
    v.members[0]!.name = 'Mallory';
    v.invites[0]!.expiresAt = 0;
    expect(h.member('bob')?.attributes).toEqual({ character: 'mage' });
    expect(h.s.members[0]!.name).toBe('Ann');
    expect(h.s.invites[0]!.expiresAt).toBe(T0 + 1000 + rules.inviteTtlMs);
  });

  it('partyMembers in join order, partyInvitees, and partyTimersOf for a node taking the party over', () => {
    const h = party(['bob'], ['cat']);
    h.now += 10_000;
    h.ok(h.invite('ann', 'dan'));
    expect(partyMembers(h.s)).toEqual(['ann', 'bob']);
    expect(partyInvitees(h.s)).toEqual(['cat', 'dan']);
    const now = h.now + 25_000;
    expect(partyTimersOf(h.s, now)).toEqual([
      { afterMs: 0, command: { type: 'expireInvite', userId: 'cat', invitedAt: T0 + 1000 } },
      { afterMs: 5000, command: { type: 'expireInvite', userId: 'dan', invitedAt: h.now } },
    ]);
  });
});

describe('replicas', () => {
  it('reach the same state from the same events, also after a JSON round trip', () => {
    const h = party(['bob', 'cat'], ['dan', 'eve']);
    h.ok(h.set('bob', { character: 'mage', side: 'A' }));
    h.ok(kick('ann', 'dan'));
    h.ok(expire(h, 'eve'));
    h.ok(promote('ann', 'cat'));
    h.ok(leave('cat'));
    h.ok(h.invite('ann', 'fay'));
    h.ok(h.go('ann'));
    const replica = (JSON.parse(JSON.stringify(h.log)) as PartyEvent[]).reduce<PartyState | undefined>(applyParty, undefined);
    expect(replica).toEqual(h.state);
    expect(replica?.closedInvites).toEqual({ dan: 'cancelled', eve: 'expired', fay: 'queued' });
  });
});
