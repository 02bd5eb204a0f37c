/**
 * One game (room), as a pure entity: `decideGame` checks a command against the
 * state and answers with events; `applyGame` is the only code that changes
 * state. The owner node and every replica apply the same events in the same
 * order, so they cannot drift.
 *
 * Versions: every state-changing event carries the version it produces, one
 * more than the last. A start's one `game.started` carries every player's
 * session key for the replicas; the service hands each player only their own
 * (game.sessionKey on the player's user stream).
 *
 * Files: `state.ts` (types, readers of the state), `view.ts` (views,
 * summary, audience, timers to resume), `apply.ts`, `decide.ts`,
 * `seating.ts` (slots and teams), `secret.ts` (passwords and session keys).
 */
export type { GameCtx, GameRules, GameState, Member, GameCommand, GameTimer, GameDecision, GameEvent, PlayerProfile } from './state.js';
export { viewOf, summaryOf, members, resumeTimers } from './view.js';
export { applyGame } from './apply.js';
export { decideGame } from './decide.js';
export { gameOfKey, redactEvent, openState, ownerSecret, withSecret, type OwnerSecret } from './secret.js';
