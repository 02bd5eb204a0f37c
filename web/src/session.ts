import { emptyChat, emptyGame, emptyMirror, emptySocial } from '@foyer/client-sdk';
import type { Chat, LobbyMirror, MirrorState } from '@foyer/client-sdk';
import type { ListFilter } from './model.js';

// ---- the tab's session (sessionStorage): a reload resumes it

const KEY = 'foyer.session';
export interface Saved {
  token: string;
  userId: string;
  name: string;
  lastSeq: number;
  subscriptionId?: string | null;
  startKey?: MirrorState['game']['startKey'];
  gameChat?: Chat;
  partyChat?: Chat;
  filter?: ListFilter;
  /** Mail acknowledged in this tab: a replayed mail.received of one of them is not shown again. */
  acked?: string[];
  activity?: string | null;
}

export function loadSession(): Saved | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as Saved) : undefined;
    return s && typeof s.token === 'string' && typeof s.lastSeq === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(mirror: LobbyMirror, token: string, lastSeq: number, filter: ListFilter): void {
  const m = mirror.state;
  if (!m.me) return;
  const saved: Saved = {
    token,
    userId: m.me.userId,
    name: m.me.name,
    lastSeq,
    subscriptionId: m.gameList.subscriptionId,
    startKey: m.game.startKey,
    gameChat: m.chat.game,
    partyChat: m.chat.party,
    filter,
    acked: m.social.acked,
    activity: m.social.activity,
  };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(saved));
  } catch {
    // Storage full or off: a reload will ask for a name again.
  }
}

export function forgetSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The mirror as this tab left it: chats, start key, status and acknowledged mail; the rest is fetched again. */
export function restoredMirror(saved: Saved | undefined): MirrorState {
  if (!saved) return emptyMirror;
  const game = saved.gameChat ?? emptyChat.game;
  const party = saved.partyChat ?? emptyChat.party;
  const nextLine = Math.max(0, ...game.lines.map((l) => l.id), ...party.lines.map((l) => l.id)) + 1;
  return {
    ...emptyMirror,
    game: { ...emptyGame, startKey: saved.startKey ?? null },
    chat: { game, party, nextLine },
    social: { ...emptySocial, activity: saved.activity ?? null, acked: saved.acked ?? [] },
  };
}

// ---- a guest remembered by this browser (localStorage): auth.guest with its device secret is the same guest again

const GUEST_KEY = 'foyer.guest';
export interface SavedGuest {
  userId: string;
  name: string;
  deviceSecret: string;
}

export function savedGuest(): SavedGuest | undefined {
  try {
    const raw = localStorage.getItem(GUEST_KEY);
    const g = raw ? (JSON.parse(raw) as SavedGuest) : undefined;
    return g && typeof g.deviceSecret === 'string' && typeof g.name === 'string' ? g : undefined;
  } catch {
    return undefined;
  }
}

export function saveGuest(g: SavedGuest | undefined): void {
  try {
    if (g) localStorage.setItem(GUEST_KEY, JSON.stringify(g));
    else localStorage.removeItem(GUEST_KEY);
  } catch {
    // Storage off: the guest is new at each login.
  }
}
