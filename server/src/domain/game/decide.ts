import type { ErrorCode, EventData, GameView, PlayerView, SessionKeyHolder } from '@foyer/shared';
import { fail, Tx } from '../kit.js';
import { applyGame } from './apply.js';
import { emptiestTeam, lowestFreeSlot, newPlayer, reseat } from './seating.js';
import { hashed, noPassword, passwordMatches, sameSecret } from './secret.js';
import { isMember, isSpectator, playerOf, teamCount, type Command, type GameCommand, type GameCtx, type GameDecision, type GameEvent, type GameRules, type GameState, type GameTimer, type Secret } from './state.js';
import { viewOf } from './view.js';

export function decideGame(state: GameState | undefined, cmd: GameCommand, ctx: GameCtx, rules: GameRules): GameDecision {
  if (cmd.type === 'create') return state ? fail('BAD_REQUEST', 'a game with this id exists') : create(cmd, ctx, rules);
  if (cmd.type === 'createMatch') return state ? fail('BAD_REQUEST', 'a game with this id exists') : createMatch(cmd, ctx, rules);
  if (!state) return fail('GAME_NOT_FOUND');
  const tx = newTx(state);
  const s = state;
  switch (cmd.type) {
    case 'join':
      return join(tx, cmd, ctx, rules);
    case 'leave':
      return isMember(s, cmd.userId) ? removeMember(tx, cmd.userId, cmd.reason).done() : fail('NOT_IN_GAME');
    case 'kick':
      if (cmd.by.userId !== s.ownerId) return fail('NOT_OWNER');
      if (s.matchmade) return fail('FORBIDDEN', matchSeats);
      if (cmd.userId === s.ownerId) return fail('BAD_REQUEST', 'the owner cannot kick themself; leave instead');
      if (!isMember(s, cmd.userId)) return fail('NOT_IN_GAME');
      return removeMember(tx, cmd.userId, 'kicked').done();
    case 'update':
      return update(tx, cmd, ctx, rules);
    case 'setTeam': {
      const p = playerOf(s, cmd.by.userId);
      if (!p) return fail('NOT_IN_GAME');
      if (cmd.teamIndex >= teamCount(s)) return fail('BAD_REQUEST', `teamIndex must be below ${teamCount(s)}`);
      if (cmd.teamIndex === p.teamIndex) return tx.done();
      if (s.players.filter((q) => q.teamIndex === cmd.teamIndex).length >= s.teamSize) return fail('TEAM_FULL');
      return tx.emit(playerUpdated(tx, { ...p, teamIndex: cmd.teamIndex })).done();
    }
    case 'setReady': {
      const p = playerOf(s, cmd.by.userId);
      if (!p) return fail('NOT_IN_GAME');
      if (p.ready === cmd.ready) return tx.done();
      tx.emit(playerUpdated(tx, { ...p, ready: cmd.ready }));
      return autoStart(tx, ctx, rules).done();
    }
    case 'setOwner':
      if (cmd.by.userId !== s.ownerId) return fail('NOT_OWNER');
      if (s.matchmade) return fail('FORBIDDEN', matchSeats);
      if (!playerOf(s, cmd.userId)) return fail('NOT_IN_GAME');
      if (cmd.userId === s.ownerId) return tx.done();
      return tx.emit(updated(tx, { ...s, ownerId: cmd.userId })).done();
    case 'start':
      if (cmd.by.userId !== s.ownerId) return fail('NOT_OWNER');
      if (s.inProgress) return fail('GAME_IN_PROGRESS');
      return start(tx, ctx, rules).done();
    case 'confirm': {
      if (!s.inProgress) return fail('GAME_NOT_STARTED');
      const p = playerOf(s, cmd.by.userId);
      if (!p) return fail('NOT_IN_GAME');
      const key = Object.hasOwn(s.sessionKeys, p.userId) ? s.sessionKeys[p.userId] : undefined;
      if (key === undefined || !sameSecret(key, cmd.sessionKey)) return fail('WRONG_SESSION_KEY');
      if (p.confirmed) return tx.done();
      return tx.emit(playerUpdated(tx, { ...p, confirmed: true })).done();
    }
    case 'useKey':
      return useKey(tx, cmd, ctx);
    case 'setConnected': {
      const p = playerOf(s, cmd.userId);
      if (!p || p.connected === cmd.connected) return tx.done();
      return tx.emit(playerUpdated(tx, { ...p, connected: cmd.connected })).done();
    }
    case 'confirmDeadline': {
      const late = s.inProgress ? s.players.filter((p) => !p.confirmed) : [];
      if (late.length === s.players.length && late.length > 0) return tx.emit(ended(s, 'unconfirmed')).done();
      for (const p of late) removeMember(tx, p.userId, 'unconfirmed');
      return tx.done();
    }
    case 'end':
      return tx.emit(ended(s, cmd.reason)).done();
  }
}

function create(cmd: Command<'create'>, ctx: GameCtx, rules: GameRules): GameDecision {
  const c = cmd.settings;
  const minLevel = c.minLevel ?? null;
  const maxLevel = c.maxLevel ?? null;
  if (minLevel !== null && maxLevel !== null && minLevel > maxLevel) return fail('BAD_REQUEST', 'minLevel is above maxLevel');
  const secret = c.password ? hashed(c.password, ctx.newId()) : noPassword;
  const game: GameView = {
    id: cmd.gameId,
    name: c.name,
    gameType: c.gameType,
    ownerId: cmd.by.userId,
    maxPlayers: c.maxPlayers,
    teamSize: c.teamSize ?? rules.defaultTeamSize,
    hasPassword: secret.passwordHash !== null,
    locked: c.locked,
    closed: c.closed,
    hidden: c.hidden,
    inProgress: false,
    friendsJoinOnly: c.friendsJoinOnly,
    matchmade: false,
    startMode: c.startMode,
    minLevel,
    maxLevel,
    school: c.school ?? null,
    attributes: { ...c.attributes },
    players: [newPlayer(cmd.by, c.profile, 1, 0, ctx.now)],
    spectators: [],
    createdAt: ctx.now,
    startedAt: null,
    confirmBy: null,
    version: 1,
  };
  const event: GameEvent = { ev: 'game.created', data: { game }, secret };
  return { ok: true, result: viewOf(applyGame(undefined, event)!), events: [event], timers: [] };
}

function createMatch(cmd: Command<'createMatch'>, ctx: GameCtx, rules: GameRules): GameDecision {
  const players = cmd.teams.flatMap((team, teamIndex) => team.map((p) => ({ ...p, teamIndex })));
  const first = players[0];
  if (!first) return fail('BAD_REQUEST', 'a match needs players');
  const game: GameView = {
    id: cmd.gameId,
    name: cmd.name,
    gameType: cmd.gameType,
    ownerId: first.member.userId,
    maxPlayers: players.length,
    teamSize: Math.max(...cmd.teams.map((t) => t.length)),
    hasPassword: false,
    locked: true,
    closed: false,
    hidden: false,
    inProgress: false,
    friendsJoinOnly: false,
    matchmade: true,
    startMode: 'manual',
    minLevel: null,
    maxLevel: null,
    school: null,
    attributes: {},
    players: players.map((p, i) => newPlayer(p.member, p.profile, i + 1, p.teamIndex, ctx.now)),
    spectators: [],
    createdAt: ctx.now,
    startedAt: null,
    confirmBy: null,
    version: 1,
  };
  const tx = newTx(applyGame(undefined, { ev: 'game.created', data: { game }, secret: noPassword })!);
  tx.events.push({ ev: 'game.created', data: { game }, secret: noPassword });
  return start(tx, ctx, rules).done();
}

type JoinCheck = [ErrorCode, (s: GameState, j: Command<'join'>, rules: GameRules) => boolean];

const wrongPassword: JoinCheck = ['WRONG_PASSWORD', (s, j) => !passwordMatches(s, j.password)];
const friendsOnly: JoinCheck = ['FRIENDS_ONLY', (s, j) => s.friendsJoinOnly && !j.friendOfOwner];

/** The matchmaker chose who plays: the first player, who owns the game, may not undo its choice. */
const matchSeats = 'the matchmaker seated these players: nobody may kick them or hand the game over';

/** The refusals, in the order the protocol documents: the first that applies answers. */
const joinChecks: { play: JoinCheck[]; spectate: JoinCheck[] } = {
  play: [
    ['SCHOOL_REQUIRED', (s, j) => s.school !== null && j.profile.school !== s.school],
    friendsOnly,
    wrongPassword,
    ['LEVEL_TOO_LOW', (s, j) => s.minLevel !== null && j.profile.level < s.minLevel],
    ['LEVEL_TOO_HIGH', (s, j) => s.maxLevel !== null && j.profile.level > s.maxLevel],
    ['GAME_FULL', (s) => s.players.length >= s.maxPlayers],
    ['GAME_LOCKED', (s) => s.locked],
    ['GAME_CLOSED', (s) => s.closed],
    ['GAME_IN_PROGRESS', (s) => s.inProgress],
  ],
  // Watching a game in progress is allowed; watching a friends-only game is not.
  spectate: [friendsOnly, wrongPassword, ['SPECTATORS_FULL', (s, _j, rules) => s.spectators.length >= rules.maxSpectators]],
};

function join(tx: GameTx, cmd: Command<'join'>, ctx: GameCtx, rules: GameRules): GameDecision {
  const s = tx.s;
  const id = cmd.by.userId;
  if (playerOf(s, id) || (cmd.spectate && isSpectator(s, id))) return tx.done();
  const refusal = joinChecks[cmd.spectate ? 'spectate' : 'play'].find(([, refuses]) => refuses(s, cmd, rules));
  if (refusal) return fail(refusal[0]);
  if (cmd.trial) return tx.done();
  if (cmd.spectate) {
    return tx.emit({ ev: 'game.spectatorJoined', data: { gameId: s.id, version: tx.next, spectator: { userId: id, name: cmd.by.name } } }).done();
  }
  if (isSpectator(s, id)) removeMember(tx, id, 'left');
  const player = newPlayer(cmd.by, cmd.profile, lowestFreeSlot(tx.s.players, s.maxPlayers), emptiestTeam(tx.s.players, teamCount(s)), ctx.now);
  return tx.emit({ ev: 'game.playerJoined', data: { gameId: s.id, version: tx.next, player } }).done();
}

function update(tx: GameTx, cmd: Command<'update'>, ctx: GameCtx, rules: GameRules): GameDecision {
  const s = tx.s;
  if (cmd.by.userId !== s.ownerId) return fail('NOT_OWNER');
  const { password, ...changes } = cmd.changes;
  // Keys present with `undefined` would otherwise erase settings.
  const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as typeof changes;
  const next: GameState = { ...s, ...defined };
  if (next.maxPlayers < s.players.length) return fail('BAD_REQUEST', `maxPlayers cannot go below the ${s.players.length} players seated`);
  if (next.minLevel !== null && next.maxLevel !== null && next.minLevel > next.maxLevel) return fail('BAD_REQUEST', 'minLevel is above maxLevel');
  const secret = password === undefined ? undefined : password === null ? noPassword : hashed(password, ctx.newId());
  next.players = reseat(s.players, next.maxPlayers, s.teamSize);
  tx.emit(updated(tx, secret ? { ...next, ...secret } : next, secret));
  return autoStart(tx, ctx, rules).done();
}

/** A start: one game.started for everyone; each player's own key rides along for that player only (game.sessionKey). */
function start(tx: GameTx, ctx: GameCtx, rules: GameRules): GameTx {
  const s = tx.s;
  const keys: Record<string, string> = {};
  for (const p of s.players) keys[p.userId] = `${s.id}.${ctx.newKey()}`;
  const data = { gameId: s.id, version: tx.next, confirmBy: ctx.now + rules.confirmTimeoutMs };
  tx.emit({ ev: 'game.started', data, keys, serverAddress: rules.serverAddress, startedAt: ctx.now });
  tx.timers.push({ afterMs: rules.confirmTimeoutMs, command: { type: 'confirmDeadline' } });
  tx.timers.push({ afterMs: rules.maxDurationMs, command: { type: 'end', reason: 'maxDuration' } });
  return tx;
}

/**
 * A game server uses a player's key: once, and only until the confirm
 * deadline. The use confirms the player too (the game server has seen them).
 */
function useKey(tx: GameTx, cmd: Command<'useKey'>, ctx: GameCtx): GameDecision {
  const s = tx.s;
  // Every key is compared, so the time taken does not tell which player's key came close.
  let p: PlayerView | undefined;
  for (const q of s.players) {
    const key = Object.hasOwn(s.sessionKeys, q.userId) ? s.sessionKeys[q.userId]! : '';
    if (sameSecret(key, cmd.sessionKey) && key !== '') p = q;
  }
  if (!p || s.confirmBy === null) return fail('WRONG_SESSION_KEY');
  if (s.keysUsed.includes(p.userId)) return fail('SESSION_KEY_USED');
  if (ctx.now > s.confirmBy) return fail('SESSION_KEY_EXPIRED');
  tx.emit({ ev: 'game.playerUpdated', data: { gameId: s.id, version: tx.next, player: { ...p, confirmed: true } }, keyUsed: true });
  const holder: SessionKeyHolder = { userId: p.userId, name: p.name, gameId: s.id, gameName: s.name, gameType: s.gameType, teamIndex: p.teamIndex, slot: p.slot, confirmBy: s.confirmBy };
  return { ok: true, result: holder, events: tx.events, timers: tx.timers };
}

/** Auto start: a full game whose players are all ready starts by itself. */
function autoStart(tx: GameTx, ctx: GameCtx, rules: GameRules): GameTx {
  const s = tx.s;
  const due = s.startMode === 'auto' && !s.inProgress && s.players.length === s.maxPlayers && s.players.every((p) => p.ready);
  return due ? start(tx, ctx, rules) : tx;
}

/** Removes a player or spectator; the last player leaving ends the game. */
function removeMember(tx: GameTx, userId: string, reason: EventData<'game.playerLeft'>['reason']): GameTx {
  const s = tx.s;
  if (isSpectator(s, userId)) return tx.emit({ ev: 'game.spectatorLeft', data: { gameId: s.id, version: tx.next, userId, reason } });
  const rest = s.players.filter((p) => p.userId !== userId);
  const [heir] = [...rest].sort((a, b) => a.joinedAt - b.joinedAt || a.slot - b.slot);
  if (!heir) return tx.emit(ended(s, 'empty'));
  const ownerId = s.ownerId === userId ? heir.userId : s.ownerId;
  return tx.emit({ ev: 'game.playerLeft', data: { gameId: s.id, version: tx.next, userId, reason, ownerId } });
}

type GameTx = Tx<GameState, GameEvent, GameTimer, GameView>;

const newTx = (s: GameState): GameTx => new Tx<GameState, GameEvent, GameTimer, GameView>(s, { apply: applyGame, view: viewOf });

const playerUpdated = (tx: GameTx, player: PlayerView): GameEvent => ({ ev: 'game.playerUpdated', data: { gameId: tx.s.id, version: tx.next, player } });

const updated = (tx: GameTx, next: GameState, secret?: Secret): GameEvent => ({
  ev: 'game.updated',
  data: { gameId: next.id, version: tx.next, game: viewOf({ ...next, version: tx.next }) },
  ...(secret && { secret }),
});

const ended = (s: GameState, reason: EventData<'game.ended'>['reason']): GameEvent => ({ ev: 'game.ended', data: { gameId: s.id, reason } });
