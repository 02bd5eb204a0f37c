import type { GameSummary, GameView, PlayerView } from '@foyer/shared';
import { playerOf, type GameRules, type GameState, type GameTimer } from './state.js';

/** What others see of a game: its view and summary, its audience, the timers a node taking it over schedules again. */

export function viewOf(s: GameState): GameView {
  const { passwordHash, passwordSalt: _salt, sessionKeys: _keys, keysUsed: _used, ...view } = s;
  return { ...copyShared(view), hasPassword: passwordHash !== null };
}

export function summaryOf(s: GameState): GameSummary {
  const n = s.players.length;
  const mean = (f: (p: PlayerView) => number) => (n ? s.players.reduce((sum, p) => sum + f(p), 0) / n : 0);
  return {
    id: s.id,
    name: s.name,
    gameType: s.gameType,
    ownerId: s.ownerId,
    ownerName: playerOf(s, s.ownerId)?.name ?? '',
    players: n,
    maxPlayers: s.maxPlayers,
    freeSeats: s.maxPlayers - n,
    spectators: s.spectators.length,
    hasPassword: s.passwordHash !== null,
    locked: s.locked,
    closed: s.closed,
    inProgress: s.inProgress,
    friendsJoinOnly: s.friendsJoinOnly,
    startMode: s.startMode,
    minLevel: s.minLevel,
    maxLevel: s.maxLevel,
    school: s.school,
    attributes: { ...s.attributes },
    meanLevel: mean((p) => p.level),
    meanRating: mean((p) => p.rating),
    createdAt: s.createdAt,
    version: s.version,
  };
}

/** Players and spectators: the audience of the game's events. */
export function members(s: GameState): string[] {
  return [...s.players.map((p) => p.userId), ...s.spectators.map((p) => p.userId)];
}

/**
 * The deadlines a started game keeps in its state, as timers: what a node
 * that takes the game over (its owner died or drained) schedules again.
 */
export function resumeTimers(s: GameState, now: number, rules: GameRules): GameTimer[] {
  if (!s.inProgress || s.startedAt === null) return [];
  const timers: GameTimer[] = [{ afterMs: Math.max(0, s.startedAt + rules.maxDurationMs - now), command: { type: 'end', reason: 'maxDuration' } }];
  if (s.confirmBy !== null && s.players.some((p) => !p.confirmed)) timers.push({ afterMs: Math.max(0, s.confirmBy - now), command: { type: 'confirmDeadline' } });
  return timers;
}

/** State and the views handed out must not share mutable parts. */
export function copyShared<T extends Pick<GameView, 'players' | 'spectators' | 'attributes'>>(v: T): T {
  return { ...v, players: v.players.map((p) => ({ ...p })), spectators: v.spectators.map((p) => ({ ...p })), attributes: { ...v.attributes } };
}
