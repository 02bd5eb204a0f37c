import type { EventData, EventOf, GameView } from '@foyer/shared';
import { eventsOf } from '@foyer/shared';
import { goneStream, isEvent, isReply, keep, streamId, takeWaiting, type EventInput, type MirrorInput } from './input.js';

/** What a player needs to reach a started game: from game.sessionKey, or from a ready match. */
export interface StartKey {
  gameId: string;
  sessionKey?: string;
  serverAddress?: string;
}

/** One's game as the client knows it. */
export interface GameMirror {
  game: GameView | null;
  spectating: boolean;
  startKey: StartKey | null;
  /** An event skipped a version (or a match became ready): the game shown may lack something; fetch game.current. */
  stale: boolean;
  /** Events for a game whose snapshot (a reply on its way) has not arrived yet. */
  waiting: EventInput[];
}

export const emptyGame: GameMirror = { game: null, spectating: false, startKey: null, stale: false, waiting: [] };

/** The events that change one game, each carrying that game's version (or ending it): game.sessionKey and game.snapshot are handled apart. */
const GAME_EVENTS = eventsOf('game').filter(
  (e): e is Exclude<EventOf<'game'>, 'game.sessionKey' | 'game.snapshot'> => e !== 'game.sessionKey' && e !== 'game.snapshot',
);
type GameEvent = Extract<EventInput, { ev: (typeof GAME_EVENTS)[number] }>;

/** One's game after `input`: game events and snapshots, the replies that carry one's game, one's session key, a ready match's key, and the game's stream gone. */
export function reduceGame(s: GameMirror, input: MirrorInput, me: string | undefined): GameMirror {
  if (isEvent(input, ...GAME_EVENTS)) return onGameEvent(s, input, me);
  if (isEvent(input, 'game.sessionKey')) {
    // It comes on one's user stream, in no set order with the game's own stream: keep it whether or not the game is known yet.
    const { gameId, sessionKey, serverAddress } = input.data;
    return { ...s, startKey: { gameId, sessionKey, serverAddress } };
  }
  if (isEvent(input, 'game.snapshot')) return enter(s, input.data.game, watching(input.data.game, me), input.at, me);
  if (isEvent(input, 'mm.status')) {
    const t = input.data;
    if (t.status !== 'ready' || !t.gameId) return s;
    // The match's game is one's game now; its view comes with game.current.
    return { ...s, startKey: startKeyOf(t.gameId, t), stale: true };
  }
  if (isEvent(input, 'user.snapshot')) {
    // The user stream resynced and game.sessionKey is not sent again: a ready match's ticket still holds the key.
    const t = input.data.ticket;
    if (t?.status !== 'ready' || !t.gameId || !t.sessionKey || (s.startKey?.gameId === t.gameId && s.startKey.sessionKey)) return s;
    return { ...s, startKey: startKeyOf(t.gameId, t) };
  }
  if (isReply(input, 'game.current')) return enter(s, input.result.game, input.result.spectating, input.at, me);
  if (isReply(input, 'game.create', 'games.quickJoin')) return enter(s, input.result.game, false, input.at, me);
  // Not what was asked for: a player asking to watch the game they play in stays a player (the join changes nothing).
  if (isReply(input, 'game.join')) return enter(s, input.result.game, watching(input.result.game, me), input.at, me);
  if (isReply(input, 'game.leave')) return enter(s, null, false, input.at, me);
  const gone = goneStream(input);
  if (gone !== undefined) {
    const id = streamId(gone, 'game');
    return id === undefined ? s : dropGame(s, id);
  }
  return s;
}

/** Whether `me` watches `view` rather than plays in it. */
function watching(view: GameView, me: string | undefined): boolean {
  return !view.players.some((p) => p.userId === me) && view.spectators.some((p) => p.userId === me);
}

/** The session no longer receives the game `id`: it, its key and the events kept for it go. */
function dropGame(s: GameMirror, id: string): GameMirror {
  const mine = s.game?.id === id;
  const keyed = s.startKey?.gameId === id;
  const kept = s.waiting.filter((w) => (w.data as { gameId?: string }).gameId !== id);
  if (!mine && !keyed && kept.length === s.waiting.length) return s;
  return {
    ...s,
    ...(mine && { game: null, spectating: false, stale: false }),
    startKey: keyed ? null : s.startKey,
    waiting: kept,
  };
}

/** A game from a reply or a snapshot event, or none; waiting events of that game are applied on top of it (each one's version decides). */
function enter(s: GameMirror, view: GameView | null, spectating: boolean, at: number, me: string | undefined): GameMirror {
  const cur = s.game;
  if (view && cur && cur.id === view.id && cur.version > view.version) return s; // newer events were applied already
  if (!view) return { ...s, game: null, spectating, startKey: null, stale: false };
  const startKey = s.startKey && s.startKey.gameId !== view.id ? null : s.startKey;
  const { taken, rest } = takeWaiting(s.waiting, at, (w) => (w.data as { gameId?: string }).gameId === view.id && isEvent(w, ...GAME_EVENTS));
  let next: GameMirror = { game: view, spectating, startKey, stale: false, waiting: rest };
  for (const w of taken) next = onGameEvent(next, w as GameEvent, me);
  return next;
}

function startKeyOf(gameId: string, e: { sessionKey?: string | undefined; serverAddress?: string | undefined }): StartKey {
  return { gameId, ...(e.sessionKey && { sessionKey: e.sessionKey }), ...(e.serverAddress && { serverAddress: e.serverAddress }) };
}

function onGameEvent(s: GameMirror, input: GameEvent, me: string | undefined): GameMirror {
  const g = s.game;
  if (!g || g.id !== input.data.gameId) {
    // The end of a game not known yet (its reply is on its way) still ends the key one holds for it.
    const startKey = input.ev === 'game.ended' && s.startKey?.gameId === input.data.gameId ? null : s.startKey;
    return { ...s, startKey, waiting: keep(s.waiting, input) };
  }
  if (input.ev === 'game.ended') return { ...s, game: null, startKey: null };
  const { version } = input.data as { version: number };
  if (version <= g.version) return s;
  // Missed something: apply this, then fetch the truth.
  const stale = s.stale || version > g.version + 1;
  let next: GameView = { ...g, version };
  switch (input.ev) {
    case 'game.playerJoined': {
      const { player } = input.data;
      next.players = [...g.players.filter((p) => p.userId !== player.userId), player].sort((a, b) => a.slot - b.slot);
      break;
    }
    case 'game.playerLeft': {
      const e = input.data;
      if (e.userId === me) return { ...s, game: null, startKey: null };
      next.players = g.players.filter((p) => p.userId !== e.userId);
      next.ownerId = e.ownerId;
      break;
    }
    case 'game.playerUpdated': {
      const { player } = input.data;
      next.players = g.players.map((p) => (p.userId === player.userId ? player : p));
      break;
    }
    case 'game.spectatorJoined': {
      const { spectator } = input.data;
      next.spectators = [...g.spectators.filter((p) => p.userId !== spectator.userId), spectator];
      break;
    }
    case 'game.spectatorLeft': {
      const e = input.data;
      if (e.userId === me) return { ...s, game: null, spectating: false };
      next.spectators = g.spectators.filter((p) => p.userId !== e.userId);
      break;
    }
    case 'game.started':
      // The way in (game.sessionKey) comes on one's user stream; here only the start itself.
      next = { ...next, inProgress: true, startedAt: input.at, confirmBy: input.data.confirmBy };
      break;
    case 'game.updated':
      next = { ...(input.data as EventData<'game.updated'>).game, version };
      break;
  }
  return { ...s, game: next, stale };
}
