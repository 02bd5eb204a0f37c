import type { PartyView } from '@foyer/shared';
import { eventsOf } from '@foyer/shared';
import { goneStream, isEvent, isReply, keep, streamId, takeWaiting, type EventInput, type MirrorInput } from './input.js';

/** An invite one holds. */
export interface Invite {
  partyId: string;
  from: { userId: string; name: string };
  expiresAt: number;
  /** When this client first saw it (local clock), for a countdown. */
  seenAt: number;
  /** The party as it was when the invite was sent (absent when fetched with party.current). */
  party?: PartyView;
}

/** One's party and the invites one holds, as the client knows them. */
export interface PartyMirror {
  party: PartyView | null;
  invites: Invite[];
  /** An event skipped a version: fetch party.current. */
  stale: boolean;
  /** Events for a party whose snapshot has not arrived yet. */
  waiting: EventInput[];
}

export const emptyParty: PartyMirror = { party: null, invites: [], stale: false, waiting: [] };

const PARTY_EVENTS = eventsOf('party');
type PartyEvent = Extract<EventInput, { ev: (typeof PARTY_EVENTS)[number] }>;

/** One's party after `input`: party events, the replies that carry one's party or invites, the invites of a user snapshot, and the party's stream gone. */
export function reduceParty(s: PartyMirror, input: MirrorInput, me: string | undefined): PartyMirror {
  if (isEvent(input, ...PARTY_EVENTS)) return onPartyEvent(s, input, me);
  if (isReply(input, 'party.current')) return enter({ ...s, invites: invitesFrom(s, input.result.invites, input.at) }, input.result.party, input.at, me);
  // The user stream resynced: the invites one holds are these (the party has a stream, and a snapshot, of its own).
  if (isEvent(input, 'user.snapshot')) return { ...s, invites: invitesFrom(s, input.data.invites, input.at) };
  const gone = goneStream(input);
  if (gone !== undefined) {
    const id = streamId(gone, 'party');
    if (id === undefined) return s;
    const kept = s.waiting.filter((w) => (w.data as { partyId?: string }).partyId !== id);
    if (s.party?.id === id) return { ...s, party: null, stale: false, waiting: kept };
    return kept.length === s.waiting.length ? s : { ...s, waiting: kept };
  }
  if (isReply(input, 'party.accept')) return enter(dropInvite(s, input.data.partyId), input.result.party, input.at, me);
  if (isReply(input, 'party.decline')) return dropInvite(s, input.data.partyId);
  if (isReply(input, 'party.invite')) return enter(s, input.result.party, input.at, me);
  if (isReply(input, 'party.leave')) return enter(s, null, input.at, me);
  return s;
}

/** The invites the server lists, keeping when this client first saw each (and the party it came with). */
function invitesFrom(s: PartyMirror, listed: readonly { partyId: string; from: Invite['from']; expiresAt: number }[], at: number): Invite[] {
  const known = new Map(s.invites.map((i) => [i.partyId, i]));
  return listed.map((i): Invite => {
    const k = known.get(i.partyId);
    return { ...i, seenAt: k?.seenAt ?? at, ...(k?.party && { party: k.party }) };
  });
}

function dropInvite(s: PartyMirror, partyId: string): PartyMirror {
  return s.invites.some((i) => i.partyId === partyId) ? { ...s, invites: s.invites.filter((i) => i.partyId !== partyId) } : s;
}

/** A party from a reply or a snapshot event, or none; waiting events of that party are applied on top of it. */
function enter(s: PartyMirror, view: PartyView | null, at: number, me: string | undefined): PartyMirror {
  const cur = s.party;
  if (view && cur && cur.id === view.id && cur.version > view.version) return s;
  if (!view) return { ...s, party: null, stale: false };
  const { taken, rest } = takeWaiting(s.waiting, at, (w) => (w.data as { partyId?: string }).partyId === view.id && isEvent(w, ...PARTY_EVENTS));
  let next: PartyMirror = { ...s, party: view, stale: false, waiting: rest };
  for (const w of taken) next = onPartyEvent(next, w as PartyEvent, me);
  return next;
}

function onPartyEvent(s: PartyMirror, input: PartyEvent, me: string | undefined): PartyMirror {
  const p = s.party;
  switch (input.ev) {
    case 'party.invited': {
      const e = input.data;
      if (e.userId !== me) break;
      const invite: Invite = { partyId: e.partyId, from: e.from, expiresAt: e.expiresAt, seenAt: input.at, party: e.party };
      return { ...s, invites: [...s.invites.filter((i) => i.partyId !== e.partyId), invite] };
    }
    case 'party.inviteEnded':
      if (input.data.userId === me) return dropInvite(s, input.data.partyId);
      break;
    case 'party.snapshot': {
      const view = input.data.party;
      return !p || p.id !== view.id || view.version >= p.version ? enter(s, view, input.at, me) : s;
    }
    case 'party.ended': {
      const next = dropInvite(s, input.data.partyId);
      return p && p.id === input.data.partyId ? { ...next, party: null } : { ...next, waiting: keep(s.waiting, input) };
    }
  }
  const { partyId, version } = input.data as { partyId: string; version: number };
  if (!p || p.id !== partyId) return { ...s, waiting: keep(s.waiting, input) };
  if (version <= p.version) return s;
  const stale = s.stale || version > p.version + 1;
  let next: PartyView = { ...p, version };
  switch (input.ev) {
    case 'party.invited':
      next = { ...input.data.party, version };
      break;
    case 'party.inviteEnded': {
      const e = input.data;
      next.invites = p.invites.filter((i) => i.userId !== e.userId);
      break;
    }
    case 'party.memberJoined': {
      const { member } = input.data;
      next.members = [...p.members.filter((m) => m.userId !== member.userId), member];
      next.permanent = next.members.length > 1;
      break;
    }
    case 'party.memberLeft': {
      const e = input.data;
      if (e.userId === me) return { ...s, party: null };
      next.members = p.members.filter((m) => m.userId !== e.userId);
      next.leaderId = e.leaderId;
      next.permanent = next.members.length > 1;
      break;
    }
    case 'party.memberUpdated': {
      const e = input.data;
      next.members = p.members.map((m) => (m.userId === e.userId ? { ...m, attributes: e.attributes } : m));
      break;
    }
    case 'party.leaderChanged':
      next.leaderId = input.data.leaderId;
      break;
    case 'party.queueChanged':
      next.queue = input.data.queue;
      break;
  }
  return { ...s, party: next, stale };
}
