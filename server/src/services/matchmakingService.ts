import { randomUUID } from 'node:crypto';
import type { MatchProfile, QueueConfig, TicketUpdate } from '@foyer/shared';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Metrics } from '../admin/metrics.js';
import type { Cluster } from '../cluster/cluster.js';
import { Entities } from '../cluster/entities.js';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Member, Standing } from '../domain/kit.js';
import type { GameService } from './gameService.js';
import { applyQueue, decideQueue, newQueue, restoreQueue, snapshotQueue, ticketOf, ticketOfGame, ticketOfParty, ticketUpdate, updatesOf, type MmCommand, type MmCtx, type MmEvent, type QueueSnapshot, type QueueState, type TicketPlayer } from '../domain/queue/index.js';
import type { PartyQueueing, PartyService } from './partyService.js';

type Profile = z.output<typeof MatchProfile>;

export interface MatchmakingServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  metrics: Metrics;
  games: GameService;
  parties: PartyService;
  cluster: Cluster;
  /** A player's stored level and rating: the rating matched on is this, never what a client says. */
  standingOf: (userId: string) => Promise<Standing>;
}

const ctx = (): MmCtx => ({ now: Date.now(), newId: () => randomUUID() });

/**
 * The I/O shell around the pure queues. Every node holds every queue
 * (`Entities`: one node owns a queue and ticks it, every node applies its
 * events); this service delivers `mm.status` to this node's players, and on
 * the owner turns every ready match into a game and keeps the glue to
 * parties (a party's ticket) and games (a game's team ticket).
 */
export class MatchmakingService implements PartyQueueing {
  private readonly queues: Entities<QueueState, MmCommand, MmEvent, void>;
  /** Users whose match became a game: cancel is over for them, only leaving that game. */
  private readonly matchGame = new Map<string, string>();
  private readonly ticker: NodeJS.Timeout;
  /** Set by the admin views: every queue event applied here (every node applies every queue's events; must not throw). */
  onQueueEvent: (e: MmEvent, at: number) => void = () => {};
  /** Set by friends (presence): these users' tickets were queued or ended (called from run(); must not throw). */
  onQueueChanged: (userIds: string[]) => void = () => {};

  constructor(private readonly deps: MatchmakingServiceDeps) {
    const configs = new Map(deps.config.queues.map((q) => [q.name, q]));
    this.queues = new Entities<QueueState, MmCommand, MmEvent, void>(
      {
        kind: 'queue',
        claimed: true,
        version: (q) => q.version,
        decide: (_name, before, command) => {
          const d = decideQueue(before!, command, ctx());
          if (!d.ok) throw new LobbyError(d.code, d.message);
          return { result: undefined, events: d.events, timers: d.timers };
        },
        // A queue is never gone: its state changes in place.
        apply: (_name, state, e) => applyQueue(state!, e),
        effects: (_name, e, _before, state) => this.effects(state!, e),
        replace: (_name, before, after) => {
          const users = new Set([...(before?.byUser.keys() ?? []), ...(after?.byUser.keys() ?? [])]);
          if (users.size) this.onQueueChanged([...users]);
        },
        resume: (q, now) => [...q.matches.values()].map((m) => ({ afterMs: Math.max(0, m.acceptBy - now), command: { type: 'acceptDeadline' as const, matchId: m.id } })),
        toJSON: (q) => snapshotQueue(q),
        fromJSON: (name, json) => restoreQueue(configs.get(name)!, json as QueueSnapshot),
      },
      deps.cluster,
      deps.log,
    );
    for (const q of deps.config.queues) this.queues.seed(q.name, newQueue(q));
    this.ticker = setInterval(() => this.tickAll(), deps.config.mmTickMs);
    this.ticker.unref();
    deps.parties.queueing = this;
    deps.games.onRosterChanged = (gameId) => this.onRosterChanged(gameId);
    deps.gateway.onSession({ ended: (userId) => this.cancelTicketOf(userId, 'disconnected') });
  }

  stop(): void {
    clearInterval(this.ticker);
    this.queues.stop();
  }

  /** Draining: the queues this node owns go to other nodes. */
  handOver(): Promise<number> {
    return this.queues.handOver();
  }

  /** Queue name → players waiting, for /admin/stats. */
  stats(): Record<string, number> {
    return Object.fromEntries([...this.queues.all].map(([name, q]) => [name, q.byUser.size]));
  }

  /** Every queue of the cluster with the node that owns it, read-only (admin views). */
  queueStates(): { state: QueueState; owner: string | undefined }[] {
    return [...this.queues.all].map(([name, state]) => ({ state, owner: this.queues.ownerOf(name) }));
  }

  /** Queues this node owns. */
  owned(): string[] {
    return this.queues.owned();
  }

  /** Claims the queues nobody owns now, not at the first tick: the node is ready sooner. */
  start(): void {
    this.tickAll();
  }

  /** Every queue has a live owner node, so mm.join can be served (/readyz waits for it). */
  get queuesOwned(): boolean {
    return [...this.queues.all.keys()].every((name) => {
      const owner = this.queues.ownerOf(name);
      return owner !== undefined && this.deps.cluster.isLive(owner);
    });
  }

  private isMine(queue: string): boolean {
    return this.queues.ownerOf(queue) === this.deps.cluster.nodeId;
  }

  isQueued(userId: string): boolean {
    return this.queueOf(userId) !== undefined;
  }

  queueConfig(name: string): QueueConfig | undefined {
    return this.queues.get(name)?.config;
  }

  async enqueueParty(queue: string, partyId: string, members: (Member & { attributes: Record<string, string | number> })[], profile: unknown): Promise<TicketUpdate> {
    const p = profile as Profile;
    const standings = await Promise.all(members.map((m) => this.deps.standingOf(m.userId)));
    return this.enqueue(queue, members.map((m, i) => player(m, standings[i]!, p, m.attributes)), { partyId });
  }

  async cancelParty(partyId: string, reason: string): Promise<void> {
    for (const [name, q] of this.queues.all) {
      const t = ticketOfParty(q, partyId);
      if (t) return void (await this.run(name, { type: 'cancel', userId: t.players[0]!.userId, reason }));
    }
  }

  /** The queue a user has a ticket in (also for the admin API). */
  queueOf(userId: string): string | undefined {
    for (const [name, q] of this.queues.all) if (ticketOf(q, userId)) return name;
    return undefined;
  }

  private cancelTicketOf(userId: string, reason: string): void {
    const queue = this.queueOf(userId);
    if (queue) this.background(queue, () => this.run(queue, { type: 'cancel', userId, reason }));
  }

  private onRosterChanged(gameId: string): void {
    // A game's team ticket stands for the players it had: any change drops it (the owner may queue again).
    // The game's owner hears of the change (only the nodes of its players hold the game); the cancel goes to the queue's owner.
    for (const [name, q] of this.queues.all) {
      const t = ticketOfGame(q, gameId);
      if (t) return this.background(name, () => this.run(name, { type: 'cancel', userId: t.players[0]!.userId, reason: 'teamChanged' }));
    }
  }

  private background(queue: string, task: () => Promise<unknown>): void {
    task().catch((err: unknown) => {
      if (!(err instanceof LobbyError && err.code === 'NOT_QUEUED')) this.deps.log.warn({ err, queue }, 'a matchmaking update failed');
    });
  }

  private async enqueue(queue: string, players: TicketPlayer[], owner: { partyId?: string; gameId?: string }): Promise<TicketUpdate> {
    if (!this.queues.get(queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queue}`);
    if (this.deps.cluster.isDraining) throw new LobbyError('NODE_DRAINING', 'this node is draining and takes no new tickets; reconnect and try again');
    for (const p of players) if (this.isQueued(p.userId)) throw new LobbyError('IN_MATCHMAKING', `${p.name} is in matchmaking already`);
    const ticketId = randomUUID();
    await this.run(queue, { type: 'enqueue', ticketId, players, ...owner });
    const update = ticketUpdate(this.queues.get(queue)!, ticketId);
    if (!update) throw new LobbyError('NODE_UNAVAILABLE', 'the ticket was queued on another node but has not reached this one yet; see mm.current');
    return update;
  }

  /** The owner ticks its queues; a queue nobody owns is claimed by its successor. */
  private tickAll(): void {
    for (const name of this.queues.all.keys()) {
      const owner = this.queues.ownerOf(name);
      if (owner === undefined || !this.deps.cluster.isLive(owner)) {
        if (this.deps.cluster.ready || !this.deps.cluster.busUp) void this.queues.claim(name).catch((err: unknown) => this.deps.log.warn({ err, queue: name }, 'claiming a queue failed'));
        continue;
      }
      if (owner !== this.deps.cluster.nodeId) continue;
      try {
        void this.queues.exec(name, { type: 'tick' });
      } catch (err) {
        this.deps.log.error({ err, queue: name }, 'matchmaking tick failed');
      }
    }
  }

  private async run(queue: string, command: MmCommand): Promise<void> {
    await this.queues.exec(queue, command);
  }

  /** What a queue's event sets off, on its owner and on every replica alike: the admin views hear of it, every node tells its own players; the owner starts ready matches. */
  private effects(state: QueueState, e: MmEvent): void {
    this.onQueueEvent(e, Date.now());
    const mine = this.isMine(state.config.name);
    if (e.ev === 'match.ready') {
      if (mine) void this.startMatch(state, e);
    } else {
      for (const u of updatesOf(e)) this.deps.gateway.toUsersHere(u.userIds, 'mm.status', u.update);
      if (mine && (e.ev === 'ticket.cancelled' || e.ev === 'ticket.timedOut') && e.ticket.partyId) {
        const partyId = e.ticket.partyId;
        this.deps.parties.unqueued(partyId).catch((err: unknown) => this.deps.log.warn({ err, partyId }, 'unqueueing a party failed'));
      }
    }
    const changed = 'ticket' in e ? [e.ticket] : e.ev === 'match.ready' ? e.tickets : [];
    if (changed.length) this.onQueueChanged(changed.flatMap((t) => t.players.map((p) => p.userId)));
    this.deps.metrics.queued.set({ queue: state.config.name }, state.byUser.size);
  }

  /** Everyone accepted: seat them all in a new game that is already started, and hand out the keys. */
  private async startMatch(state: QueueState, e: Extract<MmEvent, { ev: 'match.ready' }>): Promise<void> {
    const { config } = state;
    const byUser = new Map(e.tickets.flatMap((t) => t.players.map((p) => [p.userId, p] as const)));
    const teams = e.match.teams.map((team) => team.map((userId) => ({ member: { userId, name: byUser.get(userId)!.name }, profile: { level: byUser.get(userId)!.level ?? 1, rating: byUser.get(userId)!.rating } })));
    let game: Awaited<ReturnType<GameService['createMatch']>>;
    try {
      game = await this.deps.games.createMatch(`${config.name} match`, config.name, teams);
    } catch (err) {
      this.deps.log.error({ err, queue: config.name }, 'creating the game of a match failed');
      for (const u of updatesOf(e)) this.deps.gateway.toUsers(u.userIds, 'mm.status', { ...u.update, status: 'failed', reason: 'gameCreationFailed' });
      return;
    }
    const now = Date.now();
    for (const u of updatesOf(e)) {
      for (const userId of u.userIds) {
        this.matchGame.set(userId, game.gameId);
        this.deps.gateway.toUsers([userId], 'mm.status', {
          ...u.update,
          gameId: game.gameId,
          serverAddress: game.serverAddress,
          ...(game.sessionKeys.has(userId) && { sessionKey: game.sessionKeys.get(userId)! }),
        });
        this.deps.metrics.waitSeconds.observe({ queue: config.name }, (now - u.update.queuedAt) / 1000);
      }
    }
    for (const t of e.tickets) if (t.partyId) this.deps.parties.unqueued(t.partyId).catch((err: unknown) => this.deps.log.warn({ err }, 'unqueueing a matched party failed'));
    const means = teams.map((team) => team.reduce((sum, p) => sum + p.profile.rating, 0) / Math.max(1, team.length));
    this.deps.metrics.matches.inc({ queue: config.name });
    this.deps.metrics.ratingSpread.observe({ queue: config.name }, Math.max(...means) - Math.min(...means));
  }

  /** The queue of the user's ticket; MATCH_STARTED once their match is a game, else NOT_QUEUED when none. */
  private mine(userId: string): string {
    const queue = this.queueOf(userId);
    if (queue) return queue;
    const gameId = this.matchGame.get(userId);
    if (gameId && this.deps.games.all.has(gameId)) throw new LobbyError('MATCH_STARTED', 'your match is under way; leave the game instead');
    throw new LobbyError('NOT_QUEUED', 'you have no ticket in matchmaking');
  }

  /** A ticket of one player (not in a party: its leader queues the party). */
  async join(by: Member, queue: string, profile: Profile): Promise<TicketUpdate> {
    if (!this.queues.get(queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queue}`);
    if (this.deps.parties.partyOfUser(by.userId)) throw new LobbyError('IN_PARTY', 'you are in a party: its leader queues it with party.go');
    return this.enqueue(queue, [player(by, await this.deps.standingOf(by.userId), profile, {})], {});
  }

  /** The owner queues their game's players as one ticket. */
  queueGame(ownerId: string, queue: string): Promise<TicketUpdate> {
    const room = this.deps.games.chatRoom(ownerId);
    if (!room) throw new LobbyError('NOT_IN_GAME', 'you are not in a game');
    const game = this.deps.games.all.get(room.id)!;
    if (game.ownerId !== ownerId) throw new LobbyError('NOT_OWNER', 'only the owner queues the game');
    if (game.inProgress) throw new LobbyError('GAME_IN_PROGRESS', 'the game has started');
    const players = this.deps.games.playersOf(room.id).map((p) => player(p.member, p, { side: 'any' }, {}));
    return this.enqueue(queue, players, { gameId: room.id });
  }

  /** A command of the user on their own ticket (cancel, accept, decline). */
  async onMine(command: Extract<MmCommand, { type: 'cancel' | 'accept' | 'decline' }>): Promise<void> {
    await this.run(this.mine(command.userId), command);
  }

  /** The user's ticket as they see it, or null. */
  current(userId: string): TicketUpdate | null {
    const queue = this.queueOf(userId);
    const q = queue === undefined ? undefined : this.queues.get(queue);
    const t = q && ticketOf(q, userId);
    return (q && t && ticketUpdate(q, t.id)) ?? null;
  }
}

function player(m: Member, standing: Standing, profile: Profile, attributes: Record<string, string | number>): TicketPlayer {
  const side = attributes.side === 'A' || attributes.side === 'B' ? attributes.side : profile.side;
  return {
    userId: m.userId,
    name: m.name,
    rating: standing.rating,
    level: standing.level,
    side,
    attributes,
    ...(profile.latencies && { latencies: profile.latencies }),
  };
}
