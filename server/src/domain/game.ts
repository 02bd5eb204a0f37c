import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { ErrorCode, EventData, SessionKeyHolder, GameCreate, GameSettingsUpdate, GameSummary, GameView, PlayerView } from '@foyer/shared';
import type { z } from 'zod';
import { fail, Tx, type Decision, type Member, type Standing } from './kit.js';

/**
 * One game (room), as a pure entity: `decideGame` checks a command against the
 * state and answers with events; `applyGame` is the only code that changes
 * state. The owner node and every replica apply the same events in the same
 * order, so they cannot drift.
 *
 * Versions: every state-changing event carries the version it produces, one
 * more than the last. The exception is a start: its `game.started` events
 * (one per player with that player's key, then one for all spectators) all
 * carry the same version, because each client sees only its own copy and
 * must see no gap. The first of them starts the game; the others only record
 * their session key.
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

interface Secret {
  /** sha256(salt + password), hex; null when the game has no password. */
  passwordHash: string | null;
  passwordSalt: string;
}

export interface GameState extends Omit<GameView, 'hasPassword'>, Secret {
  /** userId → the key game.started gave that player, while the player is in the game. */
  sessionKeys: Record<string, string>;
  /** The players whose key a game server has used (a key is good for one use). */
  keysUsed: string[];
}

export type { Member } from './kit.js';

export type GameCommand =
  | { type: 'create'; gameId: string; by: Member; settings: Omit<z.output<typeof GameCreate>, 'profile'> & { profile: PlayerProfile } }
  /** A match from a queue: a game born in progress, every player seated by team, keys issued. */
  | { type: 'createMatch'; gameId: string; name: string; gameType: string; teams: { member: Member; profile: PlayerProfile }[][] }
  | { type: 'join'; by: Member; password?: string | undefined; spectate: boolean; profile: PlayerProfile; friendOfOwner: boolean }
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
  /** `to`: the one player whose key this is, or every spectator. `startedAt` is for replicas (the protocol's data lacks it). */
  | { ev: 'game.started'; data: EventData<'game.started'>; to: string[]; startedAt: number }
  | { ev: 'game.ended'; data: EventData<'game.ended'> };

type Command<T extends GameCommand['type']> = Extract<GameCommand, { type: T }>;
/** What a player brings into a game: level and rating from the stored profile, the school the client chose. */
export interface PlayerProfile extends Standing {
  school?: string | undefined;
}

// ---------------------------------------------------------------- views

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

// ---------------------------------------------------------------- apply

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
    case 'game.started': {
      const started = s.inProgress ? s : { ...s, inProgress: true, startedAt: e.startedAt, confirmBy: e.data.confirmBy };
      const [to] = e.to;
      return e.data.sessionKey !== undefined && to !== undefined
        ? { ...started, sessionKeys: { ...started.sessionKeys, [to]: e.data.sessionKey } }
        : started;
    }
  }
}

function fromView(view: GameView, secret: Secret, sessionKeys: Record<string, string>, keysUsed: string[]): GameState {
  const { hasPassword: _, ...rest } = view;
  return { ...copyShared(rest), passwordHash: secret.passwordHash, passwordSalt: secret.passwordSalt, sessionKeys, keysUsed };
}

/** State and the views handed out must not share mutable parts. */
function copyShared<T extends Pick<GameView, 'players' | 'spectators' | 'attributes'>>(v: T): T {
  return { ...v, players: v.players.map((p) => ({ ...p })), spectators: v.spectators.map((p) => ({ ...p })), attributes: { ...v.attributes } };
}

// ---------------------------------------------------------------- decide

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

/** A start: one game.started per player with its own key, then one for all spectators; all with one version. */
function start(tx: GameTx, ctx: GameCtx, rules: GameRules): GameTx {
  const s = tx.s;
  const common = { gameId: s.id, version: tx.next, confirmBy: ctx.now + rules.confirmTimeoutMs };
  for (const p of s.players) {
    const data = { ...common, sessionKey: `${s.id}.${ctx.newKey()}`, serverAddress: rules.serverAddress };
    tx.emit({ ev: 'game.started', data, to: [p.userId], startedAt: ctx.now });
  }
  if (s.spectators.length) tx.emit({ ev: 'game.started', data: common, to: s.spectators.map((p) => p.userId), startedAt: ctx.now });
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

/** The game a session key belongs to: a key starts with its game's id (so any node can route its use to the game's owner). */
export function gameOfKey(sessionKey: string): string {
  return sessionKey.slice(0, Math.max(0, sessionKey.lastIndexOf('.')));
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

// ---------------------------------------------------------------- helpers

type GameTx = Tx<GameState, GameEvent, GameTimer, GameView>;

const newTx = (s: GameState): GameTx => new Tx<GameState, GameEvent, GameTimer, GameView>(s, { apply: applyGame, view: viewOf });

const playerUpdated = (tx: GameTx, player: PlayerView): GameEvent => ({ ev: 'game.playerUpdated', data: { gameId: tx.s.id, version: tx.next, player } });

const updated = (tx: GameTx, next: GameState, secret?: Secret): GameEvent => ({
  ev: 'game.updated',
  data: { gameId: next.id, version: tx.next, game: viewOf({ ...next, version: tx.next }) },
  ...(secret && { secret }),
});

const ended = (s: GameState, reason: EventData<'game.ended'>['reason']): GameEvent => ({ ev: 'game.ended', data: { gameId: s.id, reason } });

function newPlayer(by: Member, profile: PlayerProfile, slot: number, teamIndex: number, now: number): PlayerView {
  return {
    userId: by.userId,
    name: by.name,
    slot,
    teamIndex,
    level: profile.level,
    ...(profile.school !== undefined && { school: profile.school }),
    rating: profile.rating,
    ready: false,
    connected: true,
    confirmed: false,
    joinedAt: now,
  };
}

const playerOf = (s: GameState, userId: string) => s.players.find((p) => p.userId === userId);
const isSpectator = (s: GameState, userId: string) => s.spectators.some((p) => p.userId === userId);
const isMember = (s: GameState, userId: string) => !!playerOf(s, userId) || isSpectator(s, userId);
const teamCount = (s: Pick<GameState, 'maxPlayers' | 'teamSize'>) => Math.ceil(s.maxPlayers / s.teamSize);
const bySlot = (a: PlayerView, b: PlayerView) => a.slot - b.slot;

function lowestFreeSlot(players: Pick<PlayerView, 'slot'>[], maxPlayers: number): number {
  const taken = new Set(players.map((p) => p.slot));
  let slot = 1;
  while (taken.has(slot) && slot < maxPlayers) slot++; // callers ensure a free one exists
  return slot;
}

/** The team with the fewest players, lowest index on ties. */
function emptiestTeam(players: Pick<PlayerView, 'teamIndex'>[], teams: number): number {
  const counts = Array.from({ length: teams }, (_, i) => players.filter((p) => p.teamIndex === i).length);
  return counts.indexOf(Math.min(...counts));
}

/**
 * After maxPlayers shrinks: players whose slot or team no longer exists move
 * to the lowest free slot and the emptiest team; everyone else stays put.
 */
function reseat(players: PlayerView[], maxPlayers: number, teamSize: number): PlayerView[] {
  const teams = teamCount({ maxPlayers, teamSize });
  const seated: Pick<PlayerView, 'slot'>[] = players.filter((p) => p.slot <= maxPlayers);
  const teamed: Pick<PlayerView, 'teamIndex'>[] = players.filter((p) => p.teamIndex < teams);
  return players
    .map((p) => {
      if (p.slot <= maxPlayers && p.teamIndex < teams) return p;
      const slot = p.slot <= maxPlayers ? p.slot : lowestFreeSlot(seated, maxPlayers);
      const teamIndex = p.teamIndex < teams ? p.teamIndex : emptiestTeam(teamed, teams);
      if (slot !== p.slot) seated.push({ slot });
      if (teamIndex !== p.teamIndex) teamed.push({ teamIndex });
      return { ...p, slot, teamIndex };
    })
    .sort(bySlot);
}

const noPassword: Secret = { passwordHash: null, passwordSalt: '' };

// Pure JavaScript SHA-256 (@noble/hashes): the domain uses no node APIs.
const digest = (text: string): Uint8Array => sha256(utf8ToBytes(text));

function hashed(password: string, salt: string): Secret {
  return { passwordHash: bytesToHex(digest(salt + password)), passwordSalt: salt };
}

function passwordMatches(s: GameState, given: string | undefined): boolean {
  if (s.passwordHash === null) return true;
  if (given === undefined) return false;
  return sameBytes(digest(s.passwordSalt + given), hexToBytes(s.passwordHash));
}

/** Constant time in the contents: both sides are hashed to equal length first. */
function sameSecret(expected: string, given: string): boolean {
  return sameBytes(digest(expected), digest(given));
}

/** Equal digests, in a time that does not depend on where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function without(keys: Record<string, string>, userId: string): Record<string, string> {
  if (!Object.hasOwn(keys, userId)) return keys;
  const { [userId]: _, ...rest } = keys;
  return rest;
}
