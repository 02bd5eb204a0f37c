import type { EventData, GameView } from '@foyer/shared';
import { eventsOf } from '@foyer/shared';
import { isEvent, isReply, keep, takeWaiting, type EventInput, type MirrorInput } from './input.js';

/** What a player needs to reach a started game: from game.started, or from a ready match. */
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

const GAME_EVENTS = eventsOf('game');
type GameEvent = Extract<EventInput, { ev: (typeof GAME_EVENTS)[number] }>;

/** One's game after `input`: game events, the replies that carry one's game, and a ready match's key. */
export function reduceGame(s: GameMirror, input: MirrorInput, me: string | undefined): GameMirror {
  if (isEvent(input, ...GAME_EVENTS)) return onGameEvent(s, input, me);
  if (isEvent(input, 'mm.status')) {
    const t = input.data;
    if (t.status !== 'ready' || !t.gameId) return s;
    // The match's game is one's game now; its view comes with game.current.
    return { ...s, startKey: startKeyOf(t.gameId, t), stale: true };
  }
  if (isReply(input, 'game.current')) return enter(s, input.result.game, input.result.spectating, input.at, me);
  if (isReply(input, 'game.create', 'games.quickJoin')) return enter(s, input.result.game, false, input.at, me);
  if (isReply(input, 'game.join')) return enter(s, input.result.game, input.data.spectate === true, input.at, me);
  if (isReply(input, 'game.leave')) return enter(s, null, false, input.at, me);
  return s;
}

/** A game from a reply, or none; waiting events of that game are applied on top of it (each one's version decides). */
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
  if (!g || g.id !== input.data.gameId) return { ...s, waiting: keep(s.waiting, input) };
  if (input.ev === 'game.ended') return { ...s, game: null, startKey: null };
  const { version } = input.data as { version: number };
  if (input.ev === 'game.started') {
    const e = input.data;
    // Every player's copy has the same version; the key must be kept even if the snapshot has the start already.
    const startKey = e.sessionKey || e.serverAddress ? startKeyOf(g.id, e) : s.startKey;
    const game = version > g.version ? { ...g, version, inProgress: true, startedAt: input.at, confirmBy: e.confirmBy } : g;
    return { ...s, game, startKey };
  }
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
    case 'game.updated':
      next = { ...(input.data as EventData<'game.updated'>).game, version };
      break;
  }
  return { ...s, game: next, stale };
}
