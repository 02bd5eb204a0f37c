import { emptyChat, emptyGame, emptyMirror, emptySocial } from '@foyer/client-sdk';
import type { Chat, LobbyClient, LobbyMirror, MirrorState } from '@foyer/client-sdk';
import type { ListFilter } from './model.js';

/** Where the tab stands in each stream it receives (LobbyClient.positions), for session.resume after a reload. */
export type Positions = ReturnType<LobbyClient['positions']>;

// ---- the tab's session (sessionStorage): a reload resumes it

const KEY = 'foyer.session';
export interface Saved {
  token: string;
  userId: string;
  name: string;
  /** Saved together with the mirror's chats and acknowledged mail: events after these positions are the ones the tab has not shown. */
  positions: Positions;
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
    return s && typeof s.token === 'string' && Array.isArray(s.positions) ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(mirror: LobbyMirror, token: string, positions: Positions, filter: ListFilter): void {
  const m = mirror.state;
  if (!m.me) return;
  const saved: Saved = {
    token,
    userId: m.me.userId,
    name: m.me.name,
    positions,
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

/**
 * The mirror as this tab left it: who it is, chats, start key, status and
 * acknowledged mail; the rest is fetched again. (The SDK resumes the session
 * itself, so no login reply tells the mirror who it is.)
 */
export function restoredMirror(saved: Saved | undefined): MirrorState {
  if (!saved) return emptyMirror;
  const game = saved.gameChat ?? emptyChat.game;
  const party = saved.partyChat ?? emptyChat.party;
  const nextLine = Math.max(0, ...game.lines.map((l) => l.id), ...party.lines.map((l) => l.id)) + 1;
  return {
    ...emptyMirror,
    me: { userId: saved.userId, name: saved.name },
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
