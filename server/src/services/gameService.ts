import { randomBytes, randomUUID } from 'node:crypto';
import type { EventName, GameView, SessionKeyHolder } from '@foyer/shared';
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import { Entities } from '../cluster/entities.js';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { gameStream } from '../gateway/streams.js';
import { applyGame, decideGame, gameOfKey, members, openState, ownerSecret, redactEvent, resumeTimers, viewOf, withSecret, type GameCommand, type GameCtx, type GameEvent, type GameRules, type GameState, type OwnerSecret, type PlayerProfile } from '../domain/game/index.js';
import type { Member, Standing } from '../domain/kit.js';
import type { ChatRoom } from './chatService.js';
import { GameListStreams } from './gameListStreams.js';
import { ListFeed } from './listFeed.js';
import { UnderWay } from './underWay.js';
import { Whereabouts } from './whereabouts.js';

/** Picks the game server for a starting game; the default hands out one configured address. */
export type ServerAllocator = (game: GameView) => Promise<string> | string;

export interface GameServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  cluster: Cluster;
  /** Whether `userId` is a friend of `ownerId` (friendsJoinOnly games). */
  isFriend?: (ownerId: string, userId: string) => boolean;
  /** A player's stored level and rating (a party's members joining a game). */
  standingOf: (userId: string) => Promise<Standing>;
  allocateServer?: ServerAllocator;
}

/** What game.join {withParty} needs to know of the joiner's party. */
export interface PartyOf {
  leaderId: string;
  members: Member[];
}

/** A command for a game's owner; `serverAddress` is the allocator's choice for a start. */
type JoinCommand = Extract<GameCommand, { type: 'join' }>;
/** Every command but useKey answers with the game. */
type ViewCommand = Exclude<GameCommand, { type: 'useKey' }>;

interface GameMsg {
  command: GameCommand;
  serverAddress?: string;
}

const ctx = (): GameCtx => ({
  now: Date.now(),
  newId: () => randomUUID(),
  newKey: () => randomBytes(24).toString('base64url'),
});

/**
 * The I/O shell around the pure game entity. A node holds a game while it
 * owns it or a player or spectator has a session here (`Entities` by
 * interest: the owner decides, those nodes apply); the list of every game
 * comes from the owners' listings (listFeed.ts) and is served to clients by
 * gameListStreams.ts. This service applies a game's events here —
 * whereabouts, delivery to this node's players and spectators — and
 * coordinates what spans games (leaving one game to join another), in the
 * serialized requests of the user's own session.
 */
export class GameService {
  /** The reply is the game afterwards (null once it ended); for `useKey`, the key's holder. */
  private readonly games: Entities<GameState, GameMsg, GameEvent, GameView | SessionKeyHolder | null>;
  /** Where each user is, from the games' events (friends hear of every change). */
  private readonly whereIs = new Whereabouts((userId) => this.onWhereChanged(userId));
  /** Sessions just opened here whose game is being looked up by its record (held elsewhere until then). */
  private readonly finding = new UnderWay();
  /** The game list, its list streams and each user's subscriptions (gameListStreams.ts). */
  readonly listings: GameListStreams;
  /** Users of other nodes found in a game by their records at the last lookUp (friend lists' presence). */
  private readonly elsewhere = new Set<string>();
  /** What feeds the list: every game's listing from its owner (listFeed.ts). */
  readonly feed: ListFeed;
  private readonly rules: GameRules;
  /** Set by the party service: the party a user is a member of. */
  partyOf: (userId: string) => PartyOf | undefined = () => undefined;
  /** Set by matchmaking: a game's players changed (a queued game team may have to drop out); its players before and after. */
  onRosterChanged: (gameId: string, players: string[]) => void = () => {};
  /** Set by friends (presence): the user joined, left or lost a game (called as the games' events apply; must not throw). */
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
    this.games = new Entities(
      {
        kind: 'game',
        version: (g) => g.version,
        decide: (_id, before, m) => {
          const d = decideGame(before, m.command, ctx(), m.serverAddress ? { ...this.rules, serverAddress: m.serverAddress } : this.rules);
          if (!d.ok) throw new LobbyError(d.code, d.message);
          return { ...d, timers: d.timers.map((t) => ({ afterMs: t.afterMs, command: { command: t.command } })) };
        },
        apply: (_id, before, e) => applyGame(before, e),
        // Passwords and session keys stay with the owner (and its store): other nodes show games, never decide on them.
        secret: { redact: redactEvent, open: openState, of: ownerSecret, with: (g, secret) => withSecret(g, secret as OwnerSecret) },
        effects: (id, e, before, after) => this.effects(id, e, before, after),
        applied: (id, before, after, events) => this.applied(id, before, after, events),
        replace: (id, before, after) => this.replace(id, before, after),
        resume: (g, now) => {
          this.feed.changed(g.id, g.version); // this node owns it now: it lists it, at its epoch
          return resumeTimers(g, now, this.rules).map((t) => ({ afterMs: t.afterMs, command: { command: t.command } }));
        },
        interest: {
          users: (g) => members(g),
          members: (g) => members(g),
          here: (u) => deps.gateway.sessions.has(u),
          locate: async (users) => new Map([...(await deps.gateway.locate(users))].map(([u, r]) => [u, r.node])),
          deliver: (users, ev, data) => this.deliverPosted(users, ev, data),
          // The sessions here missed events: the game as it is now stands for them.
          resynced: (id, after) => {
            if (after) deps.gateway.publish(gameStream(id), 'game.snapshot', { game: viewOf(after) });
          },
          // A game command's result is the game's view after it (no password hash, no session key), but a key's
          // use answers who holds it (public: the same batch marks that player's key used).
          answers: { view: (g) => (g ? viewOf(g) : null), carried: (m) => m.command.type === 'useKey' },
        },
      },
      deps.cluster,
      deps.log,
    );
    const { cluster } = deps;
    this.listings = new GameListStreams(deps.gateway);
    this.feed = new ListFeed({
      bus: cluster.bus,
      names: cluster.names,
      nodeId: cluster.nodeId,
      log: deps.log,
      list: this.listings.list,
      orphanGraceMs: deps.config.nodeTimeoutMs,
      state: (id) => this.games.get(id),
      ownership: (id) => this.games.ownership(id),
      owned: () => this.games.owned(),
      isLive: (node) => cluster.isLive(node),
      successor: (key) => cluster.successor(key),
      apply: (before, after, id) => this.listings.publishChange(before, after, id),
    });
    void this.feed.start();
    cluster.onRejoin(() => this.feed.catchUp());
    cluster.onNodeDown(() => this.feed.sweepSoon());
    deps.gateway.onSession({
      lost: (userId) => this.onConnection(userId, false),
      back: (userId) => this.onConnection(userId, true),
      ended: (userId) => this.onSessionEnded(userId),
      restarted: (userId) => this.listings.unsubscribeAll(userId),
      moved: (userId) => this.listings.unsubscribeAll(userId),
      opened: (userId) => {
        const gameId = this.whereIs.gameOf(userId);
        if (gameId !== undefined) deps.gateway.subscribe(userId, gameStream(gameId));
        // A session that started here while its game is held elsewhere: the record says which, holding it subscribes it.
        // Kept until done: a join or create sent meanwhile must leave that game first, so it waits for the lookup.
        else this.finding.track(userId, this.find(userId).catch((err: unknown) => deps.log.warn({ err, userId }, 'finding the game of a new session failed')));
      },
    });
    deps.gateway.snapshotter('game', (_s, name) => {
      const game = this.games.get(name.slice('game:'.length));
      return game && { ev: 'game.snapshot', data: { game: viewOf(game) } };
    });
  }

  get gameCount(): number {
    return this.games.all.size;
  }

  /** The game a user plays in or watches, as a chat room. */
  chatRoom(userId: string): ChatRoom {
    const gameId = this.whereIs.gameOf(userId);
    const game = gameId === undefined ? undefined : this.games.get(gameId);
    return game && { id: game.id, members: () => members(game) };
  }

  /** The games this node holds (owned, or needed by its sessions), read-only (admin views). */
  get all(): ReadonlyMap<string, GameState> {
    return this.games.all;
  }

  /** Draining: games go to other nodes; started ones too when `all`, else they stay until they end. */
  handOver(all: boolean): Promise<number> {
    return this.games.handOver((g) => !all && g.inProgress);
  }

  stop(): void {
    this.games.stop();
    this.feed.stop();
  }

  /** Games this node owns. */
  owned(): string[] {
    return this.games.owned();
  }

  /** A game as held here, else as its owner stored it, without its secrets (admin views: read, no interest taken). */
  peek(gameId: string): Promise<GameState | undefined> {
    return this.games.peek(gameId);
  }

  /** As `peek`, with the game's owner node (as known here, else as its stored snapshot names it). */
  peekOwned(gameId: string): Promise<{ state: GameState; owner: string | undefined } | undefined> {
    return this.games.peekOwned(gameId);
  }

  /** The game a user plays in or watches, held here or not (their game record, then a peek): admin views. */
  async gameOf(userId: string): Promise<GameState | undefined> {
    const here = this.whereIs.gameOf(userId);
    if (here !== undefined) return this.games.get(here);
    const gameId = await this.deps.cluster.places.placeOf(userId, 'game');
    return gameId === undefined ? undefined : this.games.peek(gameId);
  }

  /** The node that owns a game (admin views). */
  ownerOf(gameId: string): string | undefined {
    return this.games.ownerOf(gameId);
  }

  /** The game server (or an operator) ends a started game. */
  async end(gameId: string): Promise<boolean> {
    if (!(await this.games.load(gameId))) return false;
    await this.run(gameId, { type: 'end', reason: 'ended' });
    return true;
  }

  /**
   * A game server uses a player's session key: a command to the game's owner
   * (the key names its game), so two uses through two nodes cannot both pass.
   */
  async useSessionKey(sessionKey: string): Promise<SessionKeyHolder> {
    const gameId = gameOfKey(sessionKey);
    if (!gameId || !(await this.games.load(gameId))) throw new LobbyError('WRONG_SESSION_KEY', 'no started game has this session key');
    return (await this.games.exec(gameId, { command: { type: 'useKey', sessionKey } })) as SessionKeyHolder;
  }

  /**
   * A match from a queue: everyone leaves the game they are in, then sits in a
   * new game that is already started. Returns each player's session key.
   */
  async createMatch(name: string, gameType: string, teams: { member: Member; profile: Standing }[][]): Promise<{ gameId: string; sessionKeys: Map<string, string>; serverAddress: string }> {
    for (const team of teams) for (const p of team) await this.leaveCurrent(p.member.userId, 'joinedAnother');
    const gameId = randomUUID();
    await this.games.create(gameId, { command: { type: 'createMatch', gameId, name, gameType, teams } });
    const sessionKeys = new Map(Object.entries(this.games.get(gameId)?.sessionKeys ?? {}));
    return { gameId, sessionKeys, serverAddress: this.rules.serverAddress };
  }

  /** The players of a game (for a game team's ticket). */
  playersOf(gameId: string): ({ member: Member } & Standing)[] {
    return (this.games.get(gameId)?.players ?? []).map((p) => ({ member: { userId: p.userId, name: p.name }, level: p.level, rating: p.rating }));
  }

  /** Runs one command on the game's owner (this node or another). Throws LobbyError on refusal. */
  private async run(gameId: string, command: ViewCommand, serverAddress?: string): Promise<GameView | null> {
    return (await this.games.exec(gameId, serverAddress === undefined ? { command } : { command, serverAddress })) as GameView | null;
  }

  /**
   * What one game event sets off on this node (owner and replicas alike):
   * whereabouts, then the game's stream. Newcomers receive the stream before
   * the event that brought them in, leavers until the one that took them out.
   */
  private effects(requested: string, e: GameEvent, before: GameState | undefined, after: GameState | undefined): void {
    const { gateway } = this.deps;
    // The game's own id string, kept in every player's whereabouts: the one a request parsed would be a copy per player.
    const gameId = after?.id ?? before?.id ?? requested;
    const stream = gameStream(gameId);
    const was = before ? members(before) : [];
    const is = after ? members(after) : [];
    this.whereIs.track(gameId, e);
    for (const u of is) if (!was.includes(u)) gateway.subscribe(u, stream);
    // game.created is for replication only: the creator gets the reply.
    if (e.ev !== 'game.created') gateway.publish(stream, e.ev, e.data as never);
    if (e.ev === 'game.started') {
      // Each player's own way in, on their own stream only: the keys are on the owner alone (other nodes' copies of
      // the event have none), which sends a player of another node theirs to that node only.
      for (const [userId, sessionKey] of Object.entries(e.keys)) {
        const data = { gameId, sessionKey, serverAddress: e.serverAddress, confirmBy: e.data.confirmBy };
        if (gateway.sessions.has(userId)) gateway.toUsersHere([userId], 'game.sessionKey', data);
        else this.games.post(gameId, [userId], 'game.sessionKey', data);
      }
    }
    // Users of other nodes the owner took in (a match, a party brought in): their nodes may not hold the game yet;
    // once they do, these users get the game's snapshot on its stream.
    if (after && this.games.ownerOf(gameId) === this.deps.cluster.nodeId) {
      const away = is.filter((u) => !was.includes(u) && !gateway.sessions.has(u));
      if (away.length) this.games.post(gameId, away, 'game.snapshot', { game: viewOf(after) });
    }
    for (const u of was) if (!is.includes(u)) gateway.unsubscribe(u, stream);
  }

  /** What a whole batch sets off: matchmaking hears of roster changes; on the owner, the game is listed anew (once per turn). */
  private applied(gameId: string, before: GameState | undefined, after: GameState | undefined, events: GameEvent[]): void {
    // Told once, by the owner (the nodes holding a game are only those of its players).
    if (this.games.ownerOf(gameId) === this.deps.cluster.nodeId && events.some((e) => e.ev === 'game.playerJoined' || e.ev === 'game.playerLeft' || e.ev === 'game.ended')) {
      this.onRosterChanged(gameId, [...new Set([...(before?.players ?? []), ...(after?.players ?? [])].map((p) => p.userId))]);
    }
    this.feed.changed(gameId, after?.version ?? (before ? before.version + 1 : 0));
  }

  /** A snapshot replaced the replica (it had missed events): whereabouts follow it (the list follows the owner's listings). */
  private replace(gameId: string, before: GameState | undefined, after: GameState | undefined): void {
    const stream = gameStream(gameId);
    for (const u of before ? members(before) : []) if (!after || !members(after).includes(u)) this.deps.gateway.unsubscribe(u, stream);
    for (const u of after ? members(after) : []) this.deps.gateway.subscribe(u, stream);
    this.whereIs.replace(gameId, after);
  }

  /** The user's game (found by its record when this node does not hold it yet); NOT_IN_GAME when none. */
  async current(userId: string): Promise<{ gameId: string; spectating: boolean; game: GameState }> {
    const w = await this.find(userId);
    if (!w) throw new LobbyError('NOT_IN_GAME', 'you are not in a game');
    return { gameId: w.game.id, spectating: w.spectating, game: w.game };
  }

  /** Whether the user is in a game other than `except` (once the lookup of a session that just moved here is done). */
  private async inAnother(userId: string, except?: string): Promise<string | undefined> {
    await this.finding.done(userId);
    const gameId = this.whereIs.gameOf(userId);
    return gameId !== undefined && gameId !== except && this.games.get(gameId) ? gameId : undefined;
  }

  /** Leaves the current game, if any, before the user goes elsewhere. */
  private async leaveCurrent(userId: string, reason: 'left' | 'joinedAnother' | 'disconnected', except?: string): Promise<void> {
    const gameId = await this.inAnother(userId, except);
    if (gameId !== undefined) await this.run(gameId, { type: 'leave', userId, reason });
  }

  private refuseWhileDraining(): void {
    if (this.deps.cluster.isDraining) throw new LobbyError('NODE_DRAINING', 'this node is draining and takes no new games or joins; reconnect and try again');
  }

  /**
   * Joins `gameId`, leaving any other game first — but only once the join is
   * known to succeed, so a refused join never costs the player their seat.
   */
  async join(gameId: string, command: Extract<GameCommand, { type: 'join' }>): Promise<GameView> {
    this.refuseWhileDraining();
    if (!(await this.games.load(gameId))) throw new LobbyError('GAME_NOT_FOUND', 'no such game');
    if (await this.inAnother(command.by.userId, gameId)) {
      // A trial on the owner (the only node that knows the password), which throws the refusal if any, before
      // the player gives up their seat. Without a seat to lose the join itself is the trial: one call, not two.
      await this.run(gameId, { ...command, trial: true });
      await this.leaveCurrent(command.by.userId, 'joinedAnother', gameId);
    }
    return (await this.run(gameId, command)) ?? viewOf(this.games.get(gameId)!);
  }

  /** What the player brings into a game: their stored level and rating, and the school they chose. */
  async profileOf(userId: string, school: string | undefined): Promise<PlayerProfile> {
    return { ...(await this.deps.standingOf(userId)), ...(school !== undefined && { school }) };
  }

  /**
   * The leader brings the whole party: every member joins if every member
   * fits, or nobody does. The joins are tried in order on a scratch copy of
   * the game first, so a refusal changes nothing.
   */
  async joinWithParty(gameId: string, leader: Member, school: string | undefined): Promise<GameView> {
    const party = this.partyOf(leader.userId);
    if (!party) throw new LobbyError('NOT_IN_PARTY', 'you are not in a party');
    if (party.leaderId !== leader.userId) throw new LobbyError('NOT_LEADER', 'only the party leader brings the party');
    if (!(await this.games.load(gameId))) throw new LobbyError('GAME_NOT_FOUND', 'no such game');
    // Each member brings their own stored level and rating; only the leader chose a school here.
    const standings = await Promise.all(party.members.map((m) => this.deps.standingOf(m.userId)));
    let scratch = this.games.get(gameId);
    if (!scratch) throw new LobbyError('GAME_NOT_FOUND', 'no such game');
    const joins = party.members.map((m, i): Extract<GameCommand, { type: 'join' }> => ({
      type: 'join',
      by: m,
      spectate: false,
      profile: { ...standings[i]!, ...(m.userId === leader.userId && school !== undefined && { school }) },
      friendOfOwner: this.isFriend(scratch!.ownerId, m.userId),
    }));
    for (const j of joins) {
      const d = decideGame(scratch, j, ctx(), this.rules);
      if (!d.ok) throw new LobbyError(d.code, `${j.by.name} cannot join: ${d.message}`);
      for (const e of d.events) scratch = applyGame(scratch, e);
    }
    for (const j of joins) await this.join(gameId, j);
    return viewOf(this.games.get(gameId)!);
  }

  async create(userId: string, name: string, settings: Extract<GameCommand, { type: 'create' }>['settings']): Promise<GameView> {
    this.refuseWhileDraining();
    await this.leaveCurrent(userId, 'joinedAnother');
    const gameId = randomUUID();
    return (await this.games.create(gameId, { command: { type: 'create', gameId, by: { userId, name }, settings } })) as GameView;
  }

  private onConnection(userId: string, connected: boolean): void {
    const w = this.whereIs.of(userId);
    if (w && !w.spectating && this.games.get(w.gameId)) this.background(userId, () => this.run(w.gameId, { type: 'setConnected', userId, connected }));
  }

  private onSessionEnded(userId: string): void {
    this.listings.unsubscribeAll(userId);
    this.background(userId, () => this.leaveCurrent(userId, 'disconnected'));
  }

  /** What a session's coming and going sets off: logged when it fails, never thrown at the session. */
  private background(userId: string, task: () => Promise<unknown>): void {
    task().catch((err: unknown) => {
      if (!(err instanceof LobbyError && err.code === 'GAME_NOT_FOUND')) this.deps.log.warn({ err, userId }, 'a game update for a session change failed');
    });
  }

  /** The game a user plays in or watches, and whether they watch it. */
  whereabouts(userId: string): { game: GameState; spectating: boolean } | undefined {
    const w = this.whereIs.of(userId);
    const game = w && this.games.get(w.gameId);
    return game && { game, spectating: w.spectating };
  }

  /** Whether `userId` is a friend of `ownerId` (friendsJoinOnly games). */
  isFriend(ownerId: string, userId: string): boolean {
    return this.deps.isFriend?.(ownerId, userId) ?? false;
  }

  /** A game of the cluster, waiting a moment for one created elsewhere an instant ago. */
  arrival(gameId: string): Promise<GameState | undefined> {
    return this.games.load(gameId);
  }

  /** The user's game, held here first when only its record knows it (their session started on another node than it was held). */
  async find(userId: string): Promise<{ game: GameState; spectating: boolean } | undefined> {
    const known = this.whereabouts(userId);
    if (known) return known;
    await this.games.loadRecorded(userId);
    return this.whereabouts(userId);
  }

  /** Whether a user of another node was in a game at the last `lookUp` (presence in a friend list). */
  inGameElsewhere(userId: string): boolean {
    return this.elsewhere.has(userId);
  }

  /** Reads the game records of users of other nodes (one round trip), for `inGameElsewhere`. */
  async lookUp(users: readonly string[]): Promise<void> {
    await this.deps.cluster.places.note(users, 'game', this.elsewhere);
  }

  /** A personal event the owner posted for users of this node it took in (a match, a party brought in): delivered once this node holds the game. */
  private deliverPosted(users: readonly string[], ev: string, data: unknown): void {
    // Their game's whole state, as held here now (never older than what its stream carried), on its stream, which
    // they receive from now on: a snapshot, as a resync is.
    const game = ev === 'game.snapshot' ? this.games.get((data as { game: GameView }).game.id) : undefined;
    if (game) this.deps.gateway.publish(gameStream(game.id), 'game.snapshot', { game: viewOf(game) });
    else if (ev !== 'game.snapshot') this.deps.gateway.toUsersHere(users, ev as EventName, data as never);
  }

  /** Runs a command on the game the user is in (NOT_IN_GAME when none). */
  async inCurrent(userId: string, command: ViewCommand): Promise<GameView | null> {
    return this.run((await this.current(userId)).gameId, command);
  }

  async leave(userId: string): Promise<string> {
    const { gameId } = await this.current(userId);
    await this.run(gameId, { type: 'leave', userId, reason: 'left' });
    return gameId;
  }

  async update(by: Member, changes: Extract<GameCommand, { type: 'update' }>['changes']): Promise<GameView> {
    const { gameId } = await this.current(by.userId);
    return (await this.run(gameId, { type: 'update', by, changes })) ?? viewOf(this.games.get(gameId)!);
  }

  /** Starts the user's game on a server the allocator picks; the confirm deadline. */
  async start(by: Member): Promise<number> {
    const { gameId, game } = await this.current(by.userId);
    const serverAddress = this.deps.allocateServer ? await this.deps.allocateServer(viewOf(game)) : this.rules.serverAddress;
    // The allocator may have taken a while: the game could have changed or gone meanwhile.
    if (!this.games.get(gameId)) throw new LobbyError('GAME_NOT_FOUND', 'the game ended while a server was allocated');
    const view = await this.run(gameId, { type: 'start', by }, serverAddress);
    return view?.confirmBy ?? this.games.get(gameId)!.confirmBy!;
  }

  /** Joins the best fitting open game of the type, or creates one when `create` is given. */
  async quickJoin(by: Member, gameType: string, profile: JoinCommand['profile'], create: Omit<Extract<GameCommand, { type: 'create' }>['settings'], 'gameType' | 'profile'> | undefined): Promise<{ game: GameView; created: boolean }> {
    this.refuseWhileDraining();
    const tried = new Set<string>();
    // Candidates can fill up between ranking and joining (someone took the last seat): try the next.
    for (let round = 0; round < 3; round++) {
      const candidates = this.listings.list.quickJoin(gameType, profile, tried);
      if (!candidates.length) break;
      for (const c of candidates) {
        tried.add(c.id);
        try {
          // The listing has what the choice needs (this node may hold no copy of the game).
          const view = await this.join(c.id, { type: 'join', by, spectate: false, profile, friendOfOwner: this.isFriend(c.ownerId, by.userId) });
          return { game: view, created: false };
        } catch (err) {
          if (!(err instanceof LobbyError)) throw err;
        }
      }
    }
    if (!create) throw new LobbyError('NO_GAME_FOUND', `no open ${gameType} game fits; pass create to open one`);
    return { game: await this.create(by.userId, by.name, { ...create, gameType, profile }), created: true };
  }
}
