import { randomBytes, randomUUID } from 'node:crypto';
import type { EventName, GameSummary, GameView } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { OpRegistry } from '../gateway/registry.js';
import { applyGame, decideGame, members, summaryOf, viewOf, type GameCommand, type GameCtx, type GameDecision, type GameEvent, type GameRules, type GameState, type Member } from './game.js';
import type { ChatRoom } from './chat.js';
import { CursorError, GameList } from './gameList.js';

/** Picks the game server for a starting game; the default hands out one configured address. */
export type ServerAllocator = (game: GameView) => Promise<string> | string;

export interface GameServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  registry: OpRegistry;
  /** Whether `userId` is a friend of `ownerId` (friendsJoinOnly games). */
  isFriend?: (ownerId: string, userId: string) => boolean;
  allocateServer?: ServerAllocator;
}

/** What game.join {withParty} needs to know of the joiner's party. */
export interface PartyOf {
  leaderId: string;
  members: Member[];
}

/** At most this many live game-list subscriptions per user. */
const MAX_SUBSCRIPTIONS = 8;

const ctx = (): GameCtx => ({
  now: Date.now(),
  newId: () => randomUUID(),
  newKey: () => randomBytes(24).toString('base64url'),
});

/**
 * The I/O shell around the pure game entity: it owns this node's games,
 * runs commands through decideGame/applyGame, delivers the events to the
 * games' players and spectators, keeps the game list and its subscribers up
 * to date, schedules the timers decisions ask for, and coordinates what spans
 * games (leaving one game to join another).
 */
export class GameService {
  private readonly games = new Map<string, GameState>();
  /** Where each user is: the user's own record, which serializes cross-game moves. */
  private readonly whereIs = new Map<string, { gameId: string; spectating: boolean }>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  readonly list = new GameList();
  private readonly subscriptions = new Map<string, string>(); // subscriptionId → userId
  private readonly rules: GameRules;
  /** Set by the party service: the party a user is a member of. */
  partyOf: (userId: string) => PartyOf | undefined = () => undefined;
  /** Set by matchmaking: a game's players changed (a queued game team may have to drop out). */
  onRosterChanged: (gameId: string, players: string[]) => void = () => {};
  /** Set by friends (presence): the user joined, left or lost a game (called from track(); must not throw). */
  onWhereChanged: (userId: string) => void = () => {};

  constructor(private readonly deps: GameServiceDeps) {
    const { config } = deps;
    this.rules = {
      defaultTeamSize: config.defaultTeamSize,
      maxSpectators: config.maxSpectators,
      confirmTimeoutMs: config.confirmTimeoutMs,
      maxDurationMs: config.gameMaxDurationMs,
      serverAddress: config.gameServerAddress,
    };
    this.registerOps(deps.registry);
    deps.gateway.onSession({
      lost: (userId) => this.onConnection(userId, false),
      back: (userId) => this.onConnection(userId, true),
      ended: (userId) => this.onSessionEnded(userId),
    });
  }

  get gameCount(): number {
    return this.games.size;
  }

  /** The game a user plays in or watches, as a chat room. */
  chatRoom(userId: string): ChatRoom {
    const w = this.whereIs.get(userId);
    const game = w && this.games.get(w.gameId);
    return game && { id: game.id, members: members(game) };
  }

  /** This node's games, read-only (admin views, invariant checks). */
  get all(): ReadonlyMap<string, GameState> {
    return this.games;
  }

  /** The game server (or an operator) ends a started game. */
  end(gameId: string): boolean {
    if (!this.games.has(gameId)) return false;
    this.run(gameId, { type: 'end', reason: 'ended' });
    return true;
  }

  /**
   * A match from a queue: everyone leaves the game they are in, then sits in a
   * new game that is already started. Returns each player's session key.
   */
  createMatch(name: string, gameType: string, teams: { member: Member; profile: { level: number; rating: number } }[][]): { gameId: string; sessionKeys: Map<string, string>; serverAddress: string } {
    for (const team of teams) for (const p of team) this.leaveCurrent(p.member.userId, 'joinedAnother');
    const gameId = randomUUID();
    const decision = this.decide(gameId, { type: 'createMatch', gameId, name, gameType, teams });
    const sessionKeys = new Map<string, string>();
    for (const e of decision.events) if (e.ev === 'game.started' && e.data.sessionKey && e.to[0]) sessionKeys.set(e.to[0], e.data.sessionKey);
    return { gameId, sessionKeys, serverAddress: this.rules.serverAddress };
  }

  /** The players of a game (for a game team's ticket). */
  playersOf(gameId: string): { member: Member; rating: number }[] {
    return (this.games.get(gameId)?.players ?? []).map((p) => ({ member: { userId: p.userId, name: p.name }, rating: p.rating }));
  }

  /** Runs one command against one game: decide, apply, deliver, list, timers. Throws LobbyError on refusal. */
  private run(gameId: string, command: GameCommand, rules = this.rules): GameView | null {
    return this.decide(gameId, command, rules).result;
  }

  private decide(gameId: string, command: GameCommand, rules = this.rules): Extract<GameDecision, { ok: true }> {
    const before = this.games.get(gameId);
    const decision = decideGame(before, command, ctx(), rules);
    if (!decision.ok) throw new LobbyError(decision.code, decision.message);
    this.commit(gameId, before, decision);
    return decision;
  }

  private commit(gameId: string, before: GameState | undefined, decision: Extract<GameDecision, { ok: true }>): void {
    const listedBefore = before && !before.hidden ? this.list.get(gameId) : undefined;
    let state = before;
    for (const e of decision.events) {
      const audience = state ? members(state) : [];
      state = applyGame(state, e);
      this.track(gameId, e);
      this.deliver(e, state ? union(audience, members(state)) : audience);
    }
    if (state) this.games.set(gameId, state);
    else this.forget(gameId);
    if (decision.events.some((e) => e.ev === 'game.playerJoined' || e.ev === 'game.playerLeft' || e.ev === 'game.ended')) {
      this.onRosterChanged(gameId, state?.players.map((p) => p.userId) ?? []);
    }

    const listedAfter = state && !state.hidden ? summaryOf(state) : undefined;
    if (!sameListing(listedBefore, listedAfter)) this.publishListChange(listedBefore, listedAfter, gameId);

    for (const t of decision.timers) {
      const timer = setTimeout(() => {
        if (!this.games.has(gameId)) return;
        try {
          this.run(gameId, t.command);
        } catch (err) {
          if (!(err instanceof LobbyError)) this.deps.log.error({ err, gameId }, 'game timer failed');
        }
      }, t.afterMs);
      timer.unref();
      const list = this.timers.get(gameId);
      if (list) list.push(timer);
      else this.timers.set(gameId, [timer]);
    }
  }

  /** Keeps the users' whereabouts in step with the game's events. */
  private track(gameId: string, e: GameEvent): void {
    switch (e.ev) {
      case 'game.created':
        // A match game is born with every player seated, not just its owner.
        for (const p of e.data.game.players) this.whereIs.set(p.userId, { gameId, spectating: false });
        for (const p of e.data.game.players) this.onWhereChanged(p.userId);
        break;
      case 'game.playerJoined':
        this.whereIs.set(e.data.player.userId, { gameId, spectating: false });
        this.onWhereChanged(e.data.player.userId);
        break;
      case 'game.spectatorJoined':
        this.whereIs.set(e.data.spectator.userId, { gameId, spectating: true });
        this.onWhereChanged(e.data.spectator.userId);
        break;
      case 'game.playerLeft':
      case 'game.spectatorLeft': {
        // (A spectator taking a seat gets spectatorLeft, then playerJoined sets the record again.)
        if (this.whereIs.get(e.data.userId)?.gameId === gameId) this.whereIs.delete(e.data.userId);
        this.onWhereChanged(e.data.userId);
        break;
      }
      case 'game.ended':
        for (const [userId, w] of this.whereIs) {
          if (w.gameId !== gameId) continue;
          this.whereIs.delete(userId);
          this.onWhereChanged(userId);
        }
        break;
    }
  }

  private deliver(e: GameEvent, audience: string[]): void {
    if (e.ev === 'game.created') return; // replication only; the creator gets the reply
    const users = 'to' in e && e.to ? e.to : audience;
    if (users.length) this.deps.gateway.deliver({ users }, e.ev as EventName, e.data as never);
  }

  private forget(gameId: string): void {
    this.games.delete(gameId);
    for (const t of this.timers.get(gameId) ?? []) clearTimeout(t);
    this.timers.delete(gameId);
  }

  private publishListChange(before: GameSummary | undefined, after: GameSummary | undefined, gameId: string): void {
    for (const c of this.list.changes(before, after)) {
      const userId = this.subscriptions.get(c.subscriptionId);
      if (!userId) continue;
      if (c.kind === 'removed') this.deps.gateway.deliver({ users: [userId] }, 'games.removed', { subscriptionId: c.subscriptionId, gameId });
      else this.deps.gateway.deliver({ users: [userId] }, c.kind === 'added' ? 'games.added' : 'games.updated', { subscriptionId: c.subscriptionId, game: after! });
    }
    if (after) this.list.upsert(after);
    else this.list.remove(gameId);
  }

  private current(userId: string): { gameId: string; spectating: boolean; game: GameState } {
    const w = this.whereIs.get(userId);
    const game = w && this.games.get(w.gameId);
    if (!w || !game) throw new LobbyError('NOT_IN_GAME', 'you are not in a game');
    return { ...w, game };
  }

  /** Leaves the current game, if any, before the user goes elsewhere. */
  private leaveCurrent(userId: string, reason: 'left' | 'joinedAnother' | 'disconnected', except?: string): void {
    const w = this.whereIs.get(userId);
    if (!w || w.gameId === except || !this.games.has(w.gameId)) return;
    this.run(w.gameId, { type: 'leave', userId, reason });
  }

  /**
   * Joins `gameId`, leaving any other game first — but only once the join is
   * known to succeed, so a refused join never costs the player their seat.
   */
  private join(gameId: string, command: Extract<GameCommand, { type: 'join' }>): GameView {
    const game = this.games.get(gameId);
    if (!game) throw new LobbyError('GAME_NOT_FOUND', 'no such game');
    const trial = decideGame(game, command, ctx(), this.rules);
    if (!trial.ok) throw new LobbyError(trial.code, trial.message);
    this.leaveCurrent(command.by.userId, 'joinedAnother', gameId);
    return this.run(gameId, command) ?? viewOf(this.games.get(gameId)!);
  }

  /**
   * The leader brings the whole party: every member joins if every member
   * fits, or nobody does. The joins are tried in order on a scratch copy of
   * the game first, so a refusal changes nothing.
   */
  private joinWithParty(gameId: string, leader: Member, profile: Extract<GameCommand, { type: 'join' }>['profile']): GameView {
    const party = this.partyOf(leader.userId);
    if (!party) throw new LobbyError('NOT_IN_PARTY', 'you are not in a party');
    if (party.leaderId !== leader.userId) throw new LobbyError('NOT_LEADER', 'only the party leader brings the party');
    let scratch = this.games.get(gameId);
    if (!scratch) throw new LobbyError('GAME_NOT_FOUND', 'no such game');
    const isFriend = this.deps.isFriend ?? (() => false);
    const joins = party.members.map((m): Extract<GameCommand, { type: 'join' }> => ({
      type: 'join',
      by: m,
      spectate: false,
      profile: m.userId === leader.userId ? profile : { level: 1, rating: 1000 },
      friendOfOwner: isFriend(scratch!.ownerId, m.userId),
    }));
    for (const j of joins) {
      const d = decideGame(scratch, j, ctx(), this.rules);
      if (!d.ok) throw new LobbyError(d.code, `${j.by.name} cannot join: ${d.message}`);
      for (const e of d.events) scratch = applyGame(scratch, e);
    }
    for (const j of joins) this.join(gameId, j);
    return viewOf(this.games.get(gameId)!);
  }

  private create(userId: string, name: string, settings: Extract<GameCommand, { type: 'create' }>['settings']): GameView {
    this.leaveCurrent(userId, 'joinedAnother');
    const gameId = randomUUID();
    return this.run(gameId, { type: 'create', gameId, by: { userId, name }, settings })!;
  }

  private onConnection(userId: string, connected: boolean): void {
    const w = this.whereIs.get(userId);
    if (w && !w.spectating && this.games.has(w.gameId)) this.run(w.gameId, { type: 'setConnected', userId, connected });
  }

  private onSessionEnded(userId: string): void {
    for (const [id, owner] of this.subscriptions) if (owner === userId) this.unsubscribe(id);
    try {
      this.leaveCurrent(userId, 'disconnected');
    } catch (err) {
      this.deps.log.error({ err, userId }, 'leaving the game of an ended session failed');
    }
  }

  private unsubscribe(subscriptionId: string): void {
    this.subscriptions.delete(subscriptionId);
    this.list.unsubscribe(subscriptionId);
  }

  private registerOps(registry: OpRegistry): void {
    const isFriend = this.deps.isFriend ?? (() => false);
    const member = (s: { userId: string; name: string }) => ({ userId: s.userId, name: s.name });

    registry.register('game.create', (data, { session }) => ({ game: this.create(session.userId, session.name, data) }));

    registry.register('game.join', (data, { session }) => {
      const game = this.games.get(data.gameId);
      if (data.withParty) return { game: this.joinWithParty(data.gameId, member(session), data.profile) };
      return {
        game: this.join(data.gameId, {
          type: 'join',
          by: member(session),
          password: data.password,
          spectate: data.spectate,
          profile: data.profile,
          friendOfOwner: !!game && isFriend(game.ownerId, session.userId),
        }),
      };
    });

    registry.register('game.current', (_data, { session }) => {
      const w = this.whereIs.get(session.userId);
      const game = w && this.games.get(w.gameId);
      return game ? { game: viewOf(game), spectating: w.spectating } : { game: null, spectating: false };
    });

    registry.register('game.leave', (_data, { session }) => {
      const { gameId } = this.current(session.userId);
      this.run(gameId, { type: 'leave', userId: session.userId, reason: 'left' });
      return { gameId };
    });

    registry.register('game.kick', (data, { session }) => {
      this.run(this.current(session.userId).gameId, { type: 'kick', by: member(session), userId: data.userId });
      return {};
    });

    registry.register('game.update', (data, { session }) => {
      const { gameId } = this.current(session.userId);
      return { game: this.run(gameId, { type: 'update', by: member(session), changes: data }) ?? viewOf(this.games.get(gameId)!) };
    });

    registry.register('game.setTeam', (data, { session }) => {
      this.run(this.current(session.userId).gameId, { type: 'setTeam', by: member(session), teamIndex: data.teamIndex });
      return {};
    });

    registry.register('game.setReady', (data, { session }) => {
      this.run(this.current(session.userId).gameId, { type: 'setReady', by: member(session), ready: data.ready });
      return {};
    });

    registry.register('game.setOwner', (data, { session }) => {
      this.run(this.current(session.userId).gameId, { type: 'setOwner', by: member(session), userId: data.userId });
      return {};
    });

    registry.register('game.start', async (_data, { session }) => {
      const { gameId, game } = this.current(session.userId);
      const serverAddress = this.deps.allocateServer ? await this.deps.allocateServer(viewOf(game)) : this.rules.serverAddress;
      // The allocator may have taken a while: the game could have changed or gone meanwhile.
      if (!this.games.has(gameId)) throw new LobbyError('GAME_NOT_FOUND', 'the game ended while a server was allocated');
      const view = this.run(gameId, { type: 'start', by: member(session) }, { ...this.rules, serverAddress });
      return { confirmBy: view?.confirmBy ?? this.games.get(gameId)!.confirmBy! };
    });

    registry.register('game.confirm', (data, { session }) => {
      this.run(this.current(session.userId).gameId, { type: 'confirm', by: member(session), sessionKey: data.sessionKey });
      return {};
    });

    registry.register('games.list', (data) => {
      try {
        return this.list.query(data);
      } catch (err) {
        if (err instanceof CursorError) throw new LobbyError('BAD_REQUEST', err.message);
        throw err;
      }
    });

    registry.register('games.subscribe', (data, { session }) => {
      const mine = [...this.subscriptions.values()].filter((u) => u === session.userId).length;
      if (mine >= MAX_SUBSCRIPTIONS) throw new LobbyError('BAD_REQUEST', `at most ${MAX_SUBSCRIPTIONS} game list subscriptions per user`);
      const subscriptionId = randomUUID();
      // Subscribe before reading the page: a change in between is pushed, not lost.
      this.list.subscribe(subscriptionId, data.filter);
      this.subscriptions.set(subscriptionId, session.userId);
      return { subscriptionId, ...this.list.query({ filter: data.filter, sort: data.sort, limit: data.limit }) };
    });

    registry.register('games.unsubscribe', (data, { session }) => {
      if (this.subscriptions.get(data.subscriptionId) !== session.userId) throw new LobbyError('BAD_REQUEST', 'no such subscription');
      this.unsubscribe(data.subscriptionId);
      return {};
    });

    registry.register('games.quickJoin', (data, { session }) => {
      const tried = new Set<string>();
      // Candidates can fill up between ranking and joining (someone took the last seat): try the next.
      for (let round = 0; round < 3; round++) {
        const candidates = this.list.quickJoin(data.gameType, data.profile, tried);
        if (!candidates.length) break;
        for (const c of candidates) {
          tried.add(c.id);
          const game = this.games.get(c.id);
          if (!game) continue;
          try {
            const view = this.join(c.id, { type: 'join', by: member(session), spectate: false, profile: data.profile, friendOfOwner: isFriend(game.ownerId, session.userId) });
            return { game: view, created: false };
          } catch (err) {
            if (!(err instanceof LobbyError)) throw err;
          }
        }
      }
      if (!data.create) throw new LobbyError('NO_GAME_FOUND', `no open ${data.gameType} game fits; pass create to open one`);
      return { game: this.create(session.userId, session.name, { ...data.create, gameType: data.gameType, profile: data.profile }), created: true };
    });
  }
}

/** Whether the list shows the same thing (a ready toggle bumps the version but changes no listed field). */
function sameListing(a: GameSummary | undefined, b: GameSummary | undefined): boolean {
  if (!a || !b) return a === b;
  for (const k of Object.keys(a) as (keyof GameSummary)[]) {
    if (k === 'version') continue;
    if (k === 'attributes' ? JSON.stringify(a[k]) !== JSON.stringify(b[k]) : a[k] !== b[k]) return false;
  }
  return true;
}

function union(a: string[], b: string[]): string[] {
  if (!b.length) return a;
  const set = new Set(a);
  for (const x of b) set.add(x);
  return [...set];
}
