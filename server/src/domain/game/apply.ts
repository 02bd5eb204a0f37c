import type { GameView } from '@foyer/shared';
import { bySlot, type GameEvent, type GameState, type Secret } from './state.js';
import { copyShared } from './view.js';

export function applyGame(state: GameState | undefined, e: GameEvent): GameState | undefined {
  if (e.ev === 'game.created') return fromView(e.data.game, e.secret, {}, []);
  if (!state || e.ev === 'game.ended') return undefined;
  const s: GameState = { ...state, version: e.data.version };
  switch (e.ev) {
    case 'game.playerJoined':
      return { ...s, players: [...s.players, e.data.player].sort(bySlot) };
    case 'game.playerLeft':
      return {
        ...s,
        players: s.players.filter((p) => p.userId !== e.data.userId),
        ownerId: e.data.ownerId,
        sessionKeys: without(s.sessionKeys, e.data.userId),
        keysUsed: s.keysUsed.filter((u) => u !== e.data.userId),
      };
    case 'game.playerUpdated': {
      const { player } = e.data;
      return {
        ...s,
        players: s.players.map((p) => (p.userId === player.userId ? player : p)),
        // A player's confirm leaves the key for the game server; its use there spends it.
        keysUsed: e.keyUsed ? [...s.keysUsed, player.userId] : s.keysUsed,
      };
    }
    case 'game.spectatorJoined':
      return { ...s, spectators: [...s.spectators, e.data.spectator] };
    case 'game.spectatorLeft':
      return { ...s, spectators: s.spectators.filter((p) => p.userId !== e.data.userId) };
    case 'game.updated':
      return fromView(e.data.game, e.secret ?? s, s.sessionKeys, s.keysUsed);
    case 'game.started':
      return { ...s, inProgress: true, startedAt: e.startedAt, confirmBy: e.data.confirmBy, sessionKeys: { ...e.keys } };
  }
}

function fromView(view: GameView, secret: Secret, sessionKeys: Record<string, string>, keysUsed: string[]): GameState {
  const { hasPassword: _, ...rest } = view;
  return { ...copyShared(rest), passwordHash: secret.passwordHash, passwordSalt: secret.passwordSalt, sessionKeys, keysUsed };
}

function without(keys: Record<string, string>, userId: string): Record<string, string> {
  if (!Object.hasOwn(keys, userId)) return keys;
  const { [userId]: _, ...rest } = keys;
  return rest;
}
