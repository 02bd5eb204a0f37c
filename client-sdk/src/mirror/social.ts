import type { EventData } from '@foyer/shared';
import { isEvent, isReply, keep, type EventInput, type MirrorInput } from './input.js';

/** A friend, a request either way, or a user one blocked (friends.list, friends.changed). */
export type Friend = EventData<'friends.changed'>['friend'];
/** One message of one's inbox (mail.list, mail.received). */
export type Mail = EventData<'mail.received'>['mail'];

/** Friends with their presence, one's own activity, and one's inbox. */
export interface SocialMirror {
  /** Friends, requests both ways and blocked users, by name; null until friends.list answered. */
  friends: Friend[] | null;
  /** The activity text one's friends see (presence.set). */
  activity: string | null;
  /** Unacknowledged mail, as listed and received (one copy of each, oldest first). */
  mail: Mail[];
  mailLoaded: boolean;
  /** Mail acknowledged (the latest ACKED_KEEP): a repeated mail.received of one of them is dropped. */
  acked: string[];
  /** Friend events of the last moments, applied again over a friends.list answer they crossed. */
  recent: EventInput[];
}

export const emptySocial: SocialMirror = { friends: null, activity: null, mail: [], mailLoaded: false, acked: [], recent: [] };

const ACKED_KEEP = 500;
const FRIEND_EVENTS = ['friends.changed', 'presence.changed', 'friends.profileChanged'] as const;
type FriendEvent = Extract<EventInput, { ev: (typeof FRIEND_EVENTS)[number] }>;

/** Friends, presence and mail after `input` (user.snapshot brings the friends; its unacknowledged mail follows as mail.received). */
export function reduceSocial(s: SocialMirror, input: MirrorInput): SocialMirror {
  if (isEvent(input, ...FRIEND_EVENTS)) return { ...s, friends: applyFriendEvent(s.friends, input), recent: keep(s.recent, input) };
  if (isReply(input, 'friends.list')) {
    let friends: Friend[] = [...input.result.friends].sort(byName);
    // Events that crossed the answer: each one is a change at least as new as the list.
    for (const e of s.recent) if (e.at >= input.sentAt) friends = applyFriendEvent(friends, e as FriendEvent)!;
    return { ...s, friends };
  }
  // The user stream resynced: the friends as they are now. Events before it on that stream are older, so none is applied again;
  // the ones after it follow on the same stream.
  if (isEvent(input, 'user.snapshot')) return { ...s, friends: [...input.data.friends].sort(byName), recent: [] };
  if (isReply(input, 'friends.request', 'friends.accept')) return { ...s, friends: s.friends && upsert(s.friends, input.result.friend) };
  if (isReply(input, 'friends.unblock')) return { ...s, friends: s.friends && s.friends.filter((x) => x.userId !== input.data.userId) };
  if (isReply(input, 'presence.set')) return { ...s, activity: input.result.presence.activity };
  if (isEvent(input, 'mail.received')) {
    const m = input.data.mail;
    // Delivered at least once: keep one copy.
    if (s.acked.includes(m.id) || s.mail.some((x) => x.id === m.id)) return s;
    return { ...s, mail: mergeMail(s.mail, [m]) };
  }
  if (isReply(input, 'mail.list')) {
    // Together with what mail.received brought meanwhile: nothing leaves the inbox but by mail.ack.
    const acked = new Set(s.acked);
    return { ...s, mail: mergeMail(s.mail, input.result.mail.filter((m) => !acked.has(m.id))), mailLoaded: true };
  }
  if (isReply(input, 'mail.ack')) {
    const gone = new Set(input.data.ids);
    return { ...s, mail: s.mail.filter((m) => !gone.has(m.id)), acked: [...s.acked.filter((id) => !gone.has(id)), ...gone].slice(-ACKED_KEEP) };
  }
  return s;
}

function applyFriendEvent(list: Friend[] | null, e: FriendEvent): Friend[] | null {
  if (!list) return list; // friends.list is on its way (or failed: its retry brings everything)
  switch (e.ev) {
    case 'friends.changed':
      return e.data.removed ? list.filter((x) => x.userId !== e.data.friend.userId) : upsert(list, e.data.friend);
    case 'presence.changed': {
      const { userId, name, presence } = e.data;
      return list.map((x) => (x.userId === userId ? { ...x, name, presence } : x));
    }
    case 'friends.profileChanged': {
      const { userId, profile } = e.data;
      return list.map((x) => (x.userId === userId ? { ...x, name: profile.name } : x));
    }
  }
}

function upsert(list: readonly Friend[], f: Friend): Friend[] {
  return [...list.filter((x) => x.userId !== f.userId), f].sort(byName);
}

function mergeMail(a: readonly Mail[], b: readonly Mail[]): Mail[] {
  const byId = new Map(a.map((m) => [m.id, m]));
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.sentAt - y.sentAt || x.id.localeCompare(y.id));
}

const byName = (a: Friend, b: Friend) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId);
