import { MemberAttributes } from '@foyer/shared';
import type { ErrorCode, EventData, PartyView, QueueConfig } from '@foyer/shared';
import { fail, Tx, type Decision, type Member } from './kit.js';

/**
 * One party, as a pure entity: `decideParty` checks a command against the
 * state and answers with events; `applyParty` is the only code that changes
 * state. The owner node and every replica apply the same events in the same
 * order, so they cannot drift.
 *
 * A party is *temporary* while only its leader is a member (everyone else is
 * a pending invite) and *permanent* once someone accepted; `permanent` is
 * `members.length > 1`, recomputed on every change, so a permanent party that
 * shrinks back to its leader with invites pending is temporary again. A
 * temporary party ends with its last invite; a party left with only its
 * leader and no invites ends at once.
 *
 * Versions: `party.created` is version 1; every other state-changing event
 * carries the version it produces, one more than the last. `party.snapshot`
 * is delivery only: it changes nothing and carries the party as it is (the
 * version of the event before it). `party.ended` carries none: the party is
 * gone.
 *
 * Audiences: every event but `party.created` (internal: the first invite's
 * reply and the replicas) names its recipients in `to`, fixed when it is
 * decided; the service delivers it exactly there.
 */

export interface PartyCtx {
  now: number;
  newId(): string;
}

export interface PartyRules {
  /** Members plus pending invites. */
  maxSize: number;
  /** How long an invite stays open; a repeat invite does not extend it. */
  inviteTtlMs: number;
}

/** Why a past invite is gone, so accept and decline can answer precisely. */
export type ClosedInvite = 'expired' | 'cancelled' | 'declined' | 'queued';

export interface PartyState extends PartyView {
  /**
   * userId → why that user's last invite ended without them joining. Accept
   * and decline answer INVITE_EXPIRED, INVITE_CANCELLED, IN_MATCHMAKING
   * ('queued': the party went into a queue) or INVITE_NOT_FOUND ('declined',
   * or no entry: never invited, or the invite vanished with a logout). A new
   * invite clears the entry.
   */
  closedInvites: Record<string, ClosedInvite>;
}

export type { Member } from './kit.js';

export type PartyCommand =
  /** The first invite creates the party (`partyId`, leader = inviter); later ones ignore `partyId`. */
  | { type: 'invite'; partyId: string; by: Member; target: Member; facts: { targetInOtherPermanentParty: boolean; targetQueued: boolean; inviterQueued: boolean } }
  | { type: 'accept'; by: Member; facts: { inOtherPermanentParty: boolean; queued: boolean } }
  | { type: 'decline'; by: Member }
  | { type: 'leave'; userId: string; reason: 'left' | 'disconnected' }
  | { type: 'kick'; by: Member; userId: string }
  | { type: 'promote'; by: Member; userId: string }
  /** Merged into the member's attributes; `null` removes a key. */
  | { type: 'setAttributes'; by: Member; attributes: Record<string, string | number | null> }
  | { type: 'go'; by: Member; queue: QueueConfig; facts: { memberQueued: boolean } }
  /** From the service: the party's ticket ended. */
  | { type: 'unqueue' }
  /** The timer of an invite; a stale one (invite gone, or re-created at another time) is a no-op. */
  | { type: 'expireInvite'; userId: string; invitedAt: number }
  /** The invitee's session ended: the invite vanishes without a trace (an accept after relogin is INVITE_NOT_FOUND). */
  | { type: 'dropInvite'; userId: string };

export interface PartyTimer {
  afterMs: number;
  command: PartyCommand;
}

/** The reply (the party as it is afterwards, null once it ended or when there is none), the events to apply in order, the timers to schedule. */
export type PartyDecision = Decision<PartyView, PartyEvent, PartyTimer>;

/**
 * `party.created` is internal and never delivered. `closed` on
 * `party.inviteEnded` is for replicas only (the protocol's data lacks it):
 * what the invite's end records in `closedInvites`, absent when nothing is
 * recorded (accepted, or dropped with a logout).
 */
export type PartyEvent =
  | { ev: 'party.created'; data: { party: PartyView } }
  /** To the invitee and the members. */
  | { ev: 'party.invited'; data: EventData<'party.invited'>; to: string[] }
  /** To the invitee and the members (only the members when the invitee's session ended). */
  | { ev: 'party.inviteEnded'; data: EventData<'party.inviteEnded'>; to: string[]; closed?: ClosedInvite }
  /** To the newcomer. Delivery only: no state change, no new version. */
  | { ev: 'party.snapshot'; data: EventData<'party.snapshot'>; to: string[] }
  /** To the members already there. */
  | { ev: 'party.memberJoined'; data: EventData<'party.memberJoined'>; to: string[] }
  /** To the members, including the one leaving. */
  | { ev: 'party.memberLeft'; data: EventData<'party.memberLeft'>; to: string[] }
  | { ev: 'party.memberUpdated'; data: EventData<'party.memberUpdated'>; to: string[] }
  | { ev: 'party.leaderChanged'; data: EventData<'party.leaderChanged'>; to: string[] }
  | { ev: 'party.queueChanged'; data: EventData<'party.queueChanged'>; to: string[] }
  /** To the members and the pending invitees: for them it also ends their invite (no separate inviteEnded 'partyEnded'). */
  | { ev: 'party.ended'; data: EventData<'party.ended'>; to: string[] };

type Command<T extends PartyCommand['type']> = Extract<PartyCommand, { type: T }>;
type EndReason = EventData<'party.ended'>['reason'];

// ---------------------------------------------------------------- views

export function partyViewOf(s: PartyState): PartyView {
  const { closedInvites: _, ...view } = s;
  return copyShared(view);
}

/** The members' ids, in join order (the leader among them). */
export function partyMembers(s: PartyState): string[] {
  return s.members.map((m) => m.userId);
}

/** The pending invitees' ids. */
export function partyInvitees(s: PartyState): string[] {
  return s.invites.map((i) => i.userId);
}

/**
 * The timers a node that takes the party over must schedule: each pending
 * invite's expiry (overdue ones at once). The same commands the invites'
 * own timers carry, so a duplicate from the old owner is a no-op.
 */
export function partyTimersOf(s: PartyState, now: number): PartyTimer[] {
  return s.invites.map((i) => ({ afterMs: Math.max(0, i.expiresAt - now), command: { type: 'expireInvite', userId: i.userId, invitedAt: i.invitedAt } }));
}

// ---------------------------------------------------------------- apply

export function applyParty(state: PartyState | undefined, e: PartyEvent): PartyState | undefined {
  if (e.ev === 'party.created') return fromView(e.data.party, {});
  if (!state || e.ev === 'party.ended') return undefined;
  if (e.ev === 'party.snapshot') return state;
  const s: PartyState = { ...state, version: e.data.version };
  switch (e.ev) {
    case 'party.invited':
      return fromView({ ...e.data.party, version: e.data.version }, without(s.closedInvites, e.data.userId));
    case 'party.inviteEnded': {
      const closedInvites = e.closed ? { ...s.closedInvites, [e.data.userId]: e.closed } : s.closedInvites;
      return { ...s, invites: s.invites.filter((i) => i.userId !== e.data.userId), closedInvites };
    }
    case 'party.memberJoined':
      return withMembers(s, [...s.members, { ...e.data.member, attributes: { ...e.data.member.attributes } }]);
    case 'party.memberLeft':
      return withMembers({ ...s, leaderId: e.data.leaderId }, s.members.filter((m) => m.userId !== e.data.userId));
    case 'party.memberUpdated':
      return { ...s, members: s.members.map((m) => (m.userId === e.data.userId ? { ...m, attributes: { ...e.data.attributes } } : m)) };
    case 'party.leaderChanged':
      return { ...s, leaderId: e.data.leaderId };
    case 'party.queueChanged':
      return { ...s, queue: e.data.queue };
  }
}

function fromView(view: PartyView, closedInvites: Record<string, ClosedInvite>): PartyState {
  return { ...copyShared(view), closedInvites };
}

const withMembers = (s: PartyState, members: PartyState['members']): PartyState => ({ ...s, members, permanent: members.length > 1 });

/** State and the views handed out must not share mutable parts. */
function copyShared<T extends Pick<PartyView, 'members' | 'invites'>>(v: T): T {
  return { ...v, members: v.members.map((m) => ({ ...m, attributes: { ...m.attributes } })), invites: v.invites.map((i) => ({ ...i })) };
}

// ---------------------------------------------------------------- decide

export function decideParty(state: PartyState | undefined, cmd: PartyCommand, ctx: PartyCtx, rules: PartyRules): PartyDecision {
  if (cmd.type === 'invite') return invite(state, cmd, ctx, rules);
  if (!state) {
    switch (cmd.type) {
      case 'accept':
      case 'decline':
        return fail('INVITE_NOT_FOUND');
      case 'unqueue':
      case 'expireInvite':
      case 'dropInvite':
        return { ok: true, result: null, events: [], timers: [] }; // the party is gone already
      default:
        return fail('NOT_IN_PARTY');
    }
  }
  const tx = newTx(state);
  const s = state;
  switch (cmd.type) {
    case 'accept': {
      const refusal = inviteRefusal(s, cmd.by.userId);
      if (refusal) return fail(refusal);
      if (cmd.facts.inOtherPermanentParty) return fail('ALREADY_IN_PARTY');
      if (cmd.facts.queued) return fail('IN_MATCHMAKING');
      const audience = partyMembers(s);
      tx.emit(inviteEnded(tx, cmd.by.userId, 'accepted', [cmd.by.userId, ...audience]));
      const member = { userId: cmd.by.userId, name: cmd.by.name, attributes: {}, joinedAt: ctx.now };
      tx.emit({ ev: 'party.memberJoined', data: { partyId: s.id, version: tx.next, member }, to: audience });
      return tx.emit({ ev: 'party.snapshot', data: { party: partyViewOf(tx.s) }, to: [cmd.by.userId] }).done();
    }
    case 'decline': {
      const refusal = inviteRefusal(s, cmd.by.userId);
      if (refusal) return fail(refusal);
      tx.emit(inviteEnded(tx, cmd.by.userId, 'declined', [cmd.by.userId, ...partyMembers(s)], 'declined'));
      return endIfAlone(tx, 'expired').done();
    }
    case 'leave':
      if (!memberOf(s, cmd.userId)) return fail('NOT_IN_PARTY');
      return removeMember(tx, cmd.userId, cmd.reason).done();
    case 'kick':
      if (!memberOf(s, cmd.by.userId)) return fail('NOT_IN_PARTY');
      if (cmd.by.userId !== s.leaderId) return fail('NOT_LEADER');
      if (cmd.userId === cmd.by.userId) return fail('KICK_SELF');
      if (inviteOf(s, cmd.userId)) {
        tx.emit(inviteEnded(tx, cmd.userId, 'cancelled', [cmd.userId, ...partyMembers(s)], 'cancelled'));
        return endIfAlone(tx, 'expired').done();
      }
      if (!memberOf(s, cmd.userId)) return fail('NOT_A_MEMBER');
      return removeMember(tx, cmd.userId, 'kicked').done();
    case 'promote':
      if (!memberOf(s, cmd.by.userId)) return fail('NOT_IN_PARTY');
      if (cmd.by.userId !== s.leaderId) return fail('NOT_LEADER');
      if (!memberOf(s, cmd.userId)) return fail('NOT_A_MEMBER');
      if (cmd.userId === s.leaderId) return tx.done();
      return tx.emit({ ev: 'party.leaderChanged', data: { partyId: s.id, version: tx.next, leaderId: cmd.userId }, to: partyMembers(s) }).done();
    case 'setAttributes':
      return setAttributes(tx, cmd);
    case 'go':
      return go(tx, cmd);
    case 'unqueue':
      return s.queue === null ? tx.done() : tx.emit(queueChanged(tx, null)).done();
    case 'expireInvite': {
      const i = inviteOf(s, cmd.userId);
      if (!i || i.invitedAt !== cmd.invitedAt) return tx.done(); // stale: gone, or invited anew since
      tx.emit(inviteEnded(tx, cmd.userId, 'expired', [cmd.userId, ...partyMembers(s)], 'expired'));
      return endIfAlone(tx, 'expired').done();
    }
    case 'dropInvite':
      if (!inviteOf(s, cmd.userId)) return tx.done();
      // The invitee is gone: only the members hear of it, and nothing is recorded.
      tx.emit(inviteEnded(tx, cmd.userId, 'cancelled', partyMembers(s)));
      return endIfAlone(tx, 'expired').done();
  }
}

/**
 * Invite refusals, in the order the protocol documents (USER_NOT_FOUND and
 * USER_OFFLINE are the service's): INVITE_SELF, NOT_LEADER, ALREADY_MEMBER,
 * IN_OTHER_PARTY, PARTY_FULL, IN_MATCHMAKING. An inviter who is not a member
 * of an existing party is NOT_IN_PARTY (the service sends a user's invites to
 * the party they lead, or creates one).
 */
function invite(state: PartyState | undefined, cmd: Command<'invite'>, ctx: PartyCtx, rules: PartyRules): PartyDecision {
  const { by, target, facts } = cmd;
  if (target.userId === by.userId) return fail('INVITE_SELF');
  if (state && !memberOf(state, by.userId)) return fail('NOT_IN_PARTY');
  if (state && state.leaderId !== by.userId) return fail('NOT_LEADER');
  if (state && memberOf(state, target.userId)) return fail('ALREADY_MEMBER');
  if (facts.targetInOtherPermanentParty) return fail('IN_OTHER_PARTY');
  const pending = state && inviteOf(state, target.userId);
  const size = state ? state.members.length + state.invites.length : 1;
  if (!pending && size >= rules.maxSize) return fail('PARTY_FULL');
  if (state?.queue != null || facts.targetQueued || facts.inviterQueued) return fail('IN_MATCHMAKING');
  // A repeat invite refreshes nothing: the invite keeps its expiry, and its timer stands.
  if (state && pending) return newTx(state).done();

  const tx = state ? newTx(state) : createdTx(cmd.partyId, by, ctx);
  const added = { userId: target.userId, name: target.name, invitedAt: ctx.now, expiresAt: ctx.now + rules.inviteTtlMs };
  const s = tx.s;
  const version = tx.next;
  const party = partyViewOf({ ...s, invites: [...s.invites, added], version });
  tx.emit({
    ev: 'party.invited',
    data: { partyId: s.id, version, userId: target.userId, from: { userId: by.userId, name: by.name }, expiresAt: added.expiresAt, party },
    to: [target.userId, ...partyMembers(s)],
  });
  tx.timers.push({ afterMs: rules.inviteTtlMs, command: { type: 'expireInvite', userId: target.userId, invitedAt: added.invitedAt } });
  return tx.done();
}

function setAttributes(tx: PartyTx, cmd: Command<'setAttributes'>): PartyDecision {
  const s = tx.s;
  const m = memberOf(s, cmd.by.userId);
  if (!m) return fail('NOT_IN_PARTY');
  if (s.queue !== null) return fail('IN_MATCHMAKING'); // queue-relevant choices are frozen while queued
  const changes = Object.entries(cmd.attributes);
  const kept = Object.entries(m.attributes).filter(([k]) => !Object.hasOwn(cmd.attributes, k));
  const set = changes.filter((c): c is [string, string | number] => c[1] !== null);
  const attributes: Record<string, string | number> = Object.fromEntries([...kept, ...set]);
  const checked = MemberAttributes.safeParse(attributes);
  if (!checked.success) return fail('BAD_REQUEST', checked.error.issues[0]?.message ?? 'invalid attributes');
  if (sameRecord(attributes, m.attributes)) return tx.done();
  return tx.emit({ ev: 'party.memberUpdated', data: { partyId: s.id, version: tx.next, userId: m.userId, attributes }, to: partyMembers(s) }).done();
}

type GoCheck = [ErrorCode, (s: PartyState, g: Command<'go'>) => boolean];

/** The refusals after membership and leadership, in the order the protocol documents: the first that applies answers. */
const goChecks: GoCheck[] = [
  ['PARTY_TEMPORARY', (s) => !s.permanent],
  ['IN_MATCHMAKING', (s, g) => s.queue !== null || g.facts.memberQueued],
  ['MISSING_ATTRIBUTES', (s, g) => s.members.some((m) => g.queue.requiredAttributes.some((k) => !Object.hasOwn(m.attributes, k)))],
  ['PARTY_SIZE_NOT_ALLOWED', (s, g) => !(g.queue.partySizes ?? range(1, g.queue.teamSize)).includes(s.members.length)],
  ['DUPLICATE_ATTRIBUTE', (s, g) => g.queue.uniqueAttribute !== undefined && repeats(s.members.map((m) => attributeOf(m.attributes, g.queue.uniqueAttribute!)))],
  // Sides matter only in a queue that pairs side A against side B.
  ['SIDE_CONFLICT', (s, g) => g.queue.sides && ['A', 'B'].every((side) => s.members.some((m) => attributeOf(m.attributes, 'side') === side))],
];

/** The leader queues the party: every pending invite is dropped (recorded as 'queued'), then the party is in the queue. */
function go(tx: PartyTx, cmd: Command<'go'>): PartyDecision {
  const s = tx.s;
  if (!memberOf(s, cmd.by.userId)) return fail('NOT_IN_PARTY');
  if (s.leaderId !== cmd.by.userId) return fail('NOT_LEADER');
  const refusal = goChecks.find(([, refuses]) => refuses(s, cmd));
  if (refusal) return fail(refusal[0]);
  for (const i of s.invites) tx.emit(inviteEnded(tx, i.userId, 'cancelled', [i.userId, ...partyMembers(s)], 'queued'));
  return tx.emit(queueChanged(tx, cmd.queue.name)).done();
}

/**
 * A member leaves or is kicked. A queued party leaves its queue first (the
 * service cancels the ticket on that queueChanged). The leader's leaving
 * passes leadership to the next member in join order. The last member's
 * leaving ends the party; so does leaving the leader alone without invites.
 */
function removeMember(tx: PartyTx, userId: string, reason: EventData<'party.memberLeft'>['reason']): PartyTx {
  if (tx.s.queue !== null) tx.emit(queueChanged(tx, null));
  const s = tx.s;
  const rest = s.members.filter((m) => m.userId !== userId);
  const [heir] = rest;
  if (!heir) return tx.emit(ended(s, 'empty'));
  const leaderId = s.leaderId === userId ? heir.userId : s.leaderId;
  tx.emit({ ev: 'party.memberLeft', data: { partyId: s.id, version: tx.next, userId, reason, leaderId }, to: partyMembers(s) });
  return endIfAlone(tx, 'empty');
}

/** A party down to its leader with no invite left is over. */
function endIfAlone(tx: PartyTx, reason: EndReason): PartyTx {
  return tx.s.members.length <= 1 && tx.s.invites.length === 0 ? tx.emit(ended(tx.s, reason)) : tx;
}

/** Accept and decline: why this user holds no invite to take up, if they hold none. */
function inviteRefusal(s: PartyState, userId: string): ErrorCode | undefined {
  if (inviteOf(s, userId)) return s.queue !== null ? 'IN_MATCHMAKING' : undefined;
  const closed = Object.hasOwn(s.closedInvites, userId) ? s.closedInvites[userId] : undefined;
  switch (closed) {
    case 'expired':
      return 'INVITE_EXPIRED';
    case 'cancelled':
      return 'INVITE_CANCELLED';
    case 'queued':
      return 'IN_MATCHMAKING';
    default:
      return 'INVITE_NOT_FOUND';
  }
}

// ---------------------------------------------------------------- helpers

type PartyTx = Tx<PartyState, PartyEvent, PartyTimer, PartyView>;

const newTx = (s: PartyState): PartyTx => new Tx<PartyState, PartyEvent, PartyTimer, PartyView>(s, { apply: applyParty, view: partyViewOf });

/** A new party led by `leader`, at version 1. */
function createdTx(id: string, leader: Member, ctx: PartyCtx): PartyTx {
  const party: PartyView = {
    id,
    leaderId: leader.userId,
    members: [{ userId: leader.userId, name: leader.name, attributes: {}, joinedAt: ctx.now }],
    invites: [],
    permanent: false,
    queue: null,
    version: 1,
  };
  const e: PartyEvent = { ev: 'party.created', data: { party } };
  const tx = newTx(applyParty(undefined, e)!);
  tx.events.push(e);
  return tx;
}

function inviteEnded(tx: PartyTx, userId: string, reason: EventData<'party.inviteEnded'>['reason'], to: string[], closed?: ClosedInvite): PartyEvent {
  return { ev: 'party.inviteEnded', data: { partyId: tx.s.id, version: tx.next, userId, reason }, to, ...(closed && { closed }) };
}

const queueChanged = (tx: PartyTx, queue: string | null): PartyEvent => ({ ev: 'party.queueChanged', data: { partyId: tx.s.id, version: tx.next, queue }, to: partyMembers(tx.s) });

const ended = (s: PartyState, reason: EndReason): PartyEvent => ({ ev: 'party.ended', data: { partyId: s.id, reason }, to: [...partyMembers(s), ...partyInvitees(s)] });

const memberOf = (s: PartyState, userId: string) => s.members.find((m) => m.userId === userId);
const inviteOf = (s: PartyState, userId: string) => s.invites.find((i) => i.userId === userId);
const attributeOf = (a: Record<string, string | number>, key: string) => (Object.hasOwn(a, key) ? a[key] : undefined);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Two set values alike (unset ones do not count). */
function repeats(values: (string | number | undefined)[]): boolean {
  const set = values.filter((v) => v !== undefined);
  return new Set(set).size < set.length;
}

function sameRecord(a: Record<string, string | number>, b: Record<string, string | number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

function without<V>(record: Record<string, V>, key: string): Record<string, V> {
  if (!Object.hasOwn(record, key)) return record;
  const { [key]: _, ...rest } = record;
  return rest;
}
