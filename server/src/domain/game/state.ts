import type { EventData, GameCreate, GameSettingsUpdate, GameView, PlayerView, SessionKeyHolder } from '@foyer/shared';
import type { z } from 'zod';
import type { Decision, Member, Standing } from '../kit.js';

/**
 * The game's types (context, rules, state, commands, events, timers) and the
 * small readers of its state that deciding, applying and viewing all use.
 */

export interface GameCtx {
  now: number;
  newId(): string;
  /** Random and unguessable: a game-session key. */
  newKey(): string;
}

export interface GameRules {
  defaultTeamSize: number;
  maxSpectators: number;
  confirmTimeoutMs: number;
  maxDurationMs: number;
  serverAddress: string;
}

export interface Secret {
  /** sha256(salt + password), hex; null when the game has no password. */
  passwordHash: string | null;
  passwordSalt: string;
}

export interface GameState extends Omit<GameView, 'hasPassword'>, Secret {
  /** userId → the key the start gave that player (game.sessionKey), while the player is in the game. */
  sessionKeys: Record<string, string>;
  /** The players whose key a game server has used (a key is good for one use). */
  keysUsed: string[];
}

export type { Member } from '../kit.js';

export type GameCommand =
  | { type: 'create'; gameId: string; by: Member; settings: Omit<z.output<typeof GameCreate>, 'profile'> & { profile: PlayerProfile } }
  /** A match from a queue: a game born in progress, every player seated by team, keys issued. */
  | { type: 'createMatch'; gameId: string; name: string; gameType: string; teams: { member: Member; profile: PlayerProfile }[][] }
  /** `trial`: only the refusal, if any (no events): asked of the owner, the only node that knows the password. */
  | { type: 'join'; by: Member; password?: string | undefined; spectate: boolean; profile: PlayerProfile; friendOfOwner: boolean; trial?: true }
  | { type: 'leave'; userId: string; reason: 'left' | 'disconnected' | 'joinedAnother' }
  | { type: 'kick'; by: Member; userId: string }
  | { type: 'update'; by: Member; changes: z.output<typeof GameSettingsUpdate> }
  | { type: 'setTeam'; by: Member; teamIndex: number }
  | { type: 'setReady'; by: Member; ready: boolean }
  | { type: 'setOwner'; by: Member; userId: string }
  | { type: 'start'; by: Member }
  | { type: 'confirm'; by: Member; sessionKey: string }
  /** A game server uses a player's key (`useSessionKey`). */
  | { type: 'useKey'; sessionKey: string }
  | { type: 'setConnected'; userId: string; connected: boolean }
  | { type: 'confirmDeadline' }
  | { type: 'end'; reason: 'ended' | 'maxDuration' };

export interface GameTimer {
  afterMs: number;
  command: GameCommand;
}

/**
 * The reply (the game as it is afterwards, null once it ended; for `useKey`
 * the key's holder), the events to apply in order, the timers to schedule.
 */
export type GameDecision = Decision<GameView | SessionKeyHolder, GameEvent, GameTimer>;

/** `secret` is for replicas only and never goes to a client; neither does `game.created` (the creator gets the reply). */
export type GameEvent =
  | { ev: 'game.created'; data: { game: GameView }; secret: Secret }
  | { ev: 'game.playerJoined'; data: EventData<'game.playerJoined'> }
  | { ev: 'game.playerLeft'; data: EventData<'game.playerLeft'> }
  /** `keyUsed`: a game server used this player's key (for replicas; clients see the player confirmed). */
  | { ev: 'game.playerUpdated'; data: EventData<'game.playerUpdated'>; keyUsed?: true }
  | { ev: 'game.spectatorJoined'; data: EventData<'game.spectatorJoined'> }
  | { ev: 'game.spectatorLeft'; data: EventData<'game.spectatorLeft'> }
  | { ev: 'game.updated'; data: EventData<'game.updated'>; secret?: Secret }
  /**
   * `keys` (userId → session key) and `serverAddress` go to each player alone
   * (game.sessionKey on their user stream), never to the game's stream.
   * `startedAt` is for replicas (the protocol's data lacks it).
   */
  | { ev: 'game.started'; data: EventData<'game.started'>; keys: Record<string, string>; serverAddress: string; startedAt: number }
  | { ev: 'game.ended'; data: EventData<'game.ended'> };

export type Command<T extends GameCommand['type']> = Extract<GameCommand, { type: T }>;
/** What a player brings into a game: level and rating from the stored profile, the school the client chose. */
export interface PlayerProfile extends Standing {
  school?: string | undefined;
}

export const playerOf = (s: GameState, userId: string) => s.players.find((p) => p.userId === userId);
export const isSpectator = (s: GameState, userId: string) => s.spectators.some((p) => p.userId === userId);
export const isMember = (s: GameState, userId: string) => !!playerOf(s, userId) || isSpectator(s, userId);
export const teamCount = (s: Pick<GameState, 'maxPlayers' | 'teamSize'>) => Math.ceil(s.maxPlayers / s.teamSize);
export const bySlot = (a: PlayerView, b: PlayerView) => a.slot - b.slot;
