import type { EventOf, GameSummary } from '@foyer/shared';
import { eventsOf } from '@foyer/shared';
import { goneStream, isEvent, isReply, keep, takeWaiting, type EventInput, type MirrorInput } from './input.js';

/**
 * One game list subscription (games.subscribe) as the client knows it. Its
 * `subscriptionId` is the list's stream (`games:<key>`), shared by every
 * session subscribed to the same filter.
 */
export interface GameListMirror {
  subscriptionId: string | null;
  /** Newest first. */
  games: GameSummary[];
  /** Events of a subscription whose reply has not arrived yet. */
  waiting: EventInput[];
}

export const emptyGameList: GameListMirror = { subscriptionId: null, games: [], waiting: [] };

/** The events that change a list one game at a time; games.snapshot replaces it whole. */
const LIST_EVENTS = eventsOf('games').filter((e): e is Exclude<EventOf<'games'>, 'games.snapshot'> => e !== 'games.snapshot');
type ListEvent = Extract<EventInput, { ev: (typeof LIST_EVENTS)[number] }>;

/**
 * The subscribed list after `input`: its events and snapshots,
 * games.subscribe and games.unsubscribe, its stream gone, and a new session
 * (which has no subscription). A subscription that ends leaves its games on
 * show until the next subscription's page replaces them.
 */
export function reduceGameList(s: GameListMirror, input: MirrorInput): GameListMirror {
  if (isEvent(input, ...LIST_EVENTS)) return onListEvent(s, input);
  if (isEvent(input, 'games.snapshot')) {
    // The list stream resynced: its first page as it is now, in place of the changes missed. A snapshot
    // for a subscription whose reply is still on its way is older than that reply's page: nothing to keep.
    const d = input.data;
    return d.subscriptionId === s.subscriptionId ? { ...s, games: [...d.games].sort(newestFirst) } : s;
  }
  if (isReply(input, 'games.subscribe')) {
    const id = input.result.subscriptionId;
    // The same filter is the same stream: what arrived for it before this request went out belongs to an earlier subscription to it.
    const sentAt = input.sentAt;
    const { taken, rest } = takeWaiting(s.waiting, input.at, (w) => (w.data as { subscriptionId?: string }).subscriptionId === id);
    let next: GameListMirror = { subscriptionId: id, games: [...input.result.games].sort(newestFirst), waiting: rest };
    for (const w of taken) if (w.at >= sentAt) next = onListEvent(next, w as ListEvent);
    return next;
  }
  if (isReply(input, 'games.unsubscribe') && input.data.subscriptionId === s.subscriptionId) return { ...s, subscriptionId: null };
  const gone = goneStream(input);
  if (gone !== undefined) {
    const kept = s.waiting.filter((w) => (w.data as { subscriptionId?: string }).subscriptionId !== gone);
    if (gone === s.subscriptionId) return { ...s, subscriptionId: null, waiting: kept };
    return kept.length === s.waiting.length ? s : { ...s, waiting: kept };
  }
  // A subscription lives as long as its session: a login that is not a resume starts a session without one.
  if (s.subscriptionId && (isReply(input, 'auth.token') || (isReply(input, 'session.resume') && !input.result.resumed) || ('local' in input && input.local === 'resynced'))) {
    return { ...s, subscriptionId: null };
  }
  return s;
}

function onListEvent(s: GameListMirror, input: ListEvent): GameListMirror {
  // A subscription whose reply is on its way: keep the event for it.
  if (input.data.subscriptionId !== s.subscriptionId) return { ...s, waiting: keep(s.waiting, input) };
  if (input.ev === 'games.removed') {
    const id = input.data.gameId;
    return { ...s, games: s.games.filter((g) => g.id !== id) };
  }
  const game = input.data.game;
  const old = s.games.find((g) => g.id === game.id);
  if (old && old.version > game.version) return s;
  return { ...s, games: [...s.games.filter((g) => g.id !== game.id), game].sort(newestFirst) };
}

export const newestFirst = (a: GameSummary, b: GameSummary) => b.createdAt - a.createdAt || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
