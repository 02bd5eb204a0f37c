import { z } from 'zod';
import { Timestamp, UserId } from './common.js';
import { GameEndReason, GameId, GameLeaveReason, GameSummary, GameView, PlayerView, SpectatorView } from './games.js';

const inGame = { gameId: GameId, version: z.number().int().nonnegative() };

export interface EventSpec<D extends z.ZodType = z.ZodType> {
  data: D;
  doc: string;
}

function event<D extends z.ZodType>(spec: EventSpec<D>): EventSpec<D> {
  return spec;
}

export const events = {
  'server.notice': event({
    doc: 'An operator\'s message to players (maintenance, news), sent through the admin API to everyone or to one user.',
    data: z.object({ text: z.string(), at: Timestamp }),
  }),
  'game.playerJoined': event({ doc: 'A player took a seat.', data: z.object({ ...inGame, player: PlayerView }) }),
  'game.playerLeft': event({
    doc: 'A player left (or was kicked, disconnected past the grace period, did not confirm). `ownerId` is the owner afterwards.',
    data: z.object({ ...inGame, userId: UserId, reason: GameLeaveReason, ownerId: UserId }),
  }),
  'game.playerUpdated': event({ doc: 'A player changed team or ready state, lost or regained the connection, or confirmed.', data: z.object({ ...inGame, player: PlayerView }) }),
  'game.spectatorJoined': event({ doc: 'Someone started watching.', data: z.object({ ...inGame, spectator: SpectatorView }) }),
  'game.spectatorLeft': event({ doc: 'Someone stopped watching.', data: z.object({ ...inGame, userId: UserId, reason: GameLeaveReason }) }),
  'game.updated': event({ doc: 'The owner changed settings, or the game changed owner; the whole game as it is now.', data: z.object({ ...inGame, game: GameView }) }),
  'game.started': event({
    doc: 'The game started. Players get their single-use `sessionKey` and the game server address and must confirm before `confirmBy`; spectators get neither key nor address.',
    data: z.object({ ...inGame, sessionKey: z.string().optional(), serverAddress: z.string().optional(), confirmBy: Timestamp }),
  }),
  'game.ended': event({ doc: 'The game is over and removed: ended by the game server, reached its maximum duration, or nobody confirmed.', data: z.object({ gameId: GameId, reason: GameEndReason }) }),
  'games.added': event({ doc: 'A game entered a subscribed list.', data: z.object({ subscriptionId: z.string(), game: GameSummary }) }),
  'games.updated': event({ doc: 'A game in a subscribed list changed.', data: z.object({ subscriptionId: z.string(), game: GameSummary }) }),
  'games.removed': event({ doc: 'A game left a subscribed list (removed, or no longer matches).', data: z.object({ subscriptionId: z.string(), gameId: GameId }) }),
  'chat.message': event({
    doc: 'A chat line in one\'s game.',
    data: z.object({ channel: z.enum(['game']), gameId: GameId, from: z.object({ userId: UserId, name: z.string() }), text: z.string(), at: Timestamp }),
  }),
} as const satisfies Record<string, EventSpec>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventData<E extends EventName> = z.output<Events[E]['data']>;
