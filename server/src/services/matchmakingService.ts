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
import { Tickets } from './tickets.js';

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
 * The answer to a user's command: the last status its events give the
 * ticket it is about (the new ticket of an enqueue, the user's own for
 * cancel, accept and decline). The user's node keeps it at once: the same
 * status as `mm.status` may reach it after the answer.
 */
function statusOf(events: MmEvent[], command: MmCommand): TicketUpdate | undefined {
  const about = (u: { ticketId: string; userIds: string[] }) => (command.type === 'enqueue' ? u.ticketId === command.ticketId : 'userId' in command && u.userIds.includes(command.userId));
  let last: TicketUpdate | undefined;
  for (const e of events) for (const u of updatesOf(e)) if (about(u)) last = u.update;
  return last;
}

/** Whose queue records the events change: a ticket's players come in as it is queued and go as it leaves the queue. */
function recordMoves(events: MmEvent[]): { joined: string[]; left: string[] } {
  const joined: string[] = [];
  const left: string[] = [];
  const players = (t: { players: TicketPlayer[] }) => t.players.map((p) => p.userId);
  for (const e of events) {
    if (e.ev === 'ticket.queued') joined.push(...players(e.ticket));
    else if (e.ev === 'ticket.cancelled' || e.ev === 'ticket.timedOut') left.push(...players(e.ticket));
    else if (e.ev === 'match.ready') left.push(...e.tickets.flatMap(players));
  }
  return { joined, left };
}

/**
 * The I/O shell around the pure queues. A queue is held by its owner alone
 * (`Entities`, `ownerOnly`): it ticks it, stores its snapshot before it
 * answers (a successor rebuilds it from that), turns every ready match into a
 * game, and keeps the glue to parties (a party's ticket) and games (a game's
 * team ticket). Other nodes route their users' commands to it; what they need
 * of a ticket reaches them as its `mm.status` on the user's stream (`Tickets`).
 */
export class MatchmakingService implements PartyQueueing {
  private readonly queues: Entities<QueueState, MmCommand, MmEvent, TicketUpdate | undefined>;
  private readonly configs: ReadonlyMap<string, QueueConfig>;
  private readonly tickets: Tickets;
  private readonly ticker: NodeJS.Timeout;
  /** Set by the admin views: every event of a queue this node owns (must not throw). */
  onQueueEvent: (e: MmEvent, at: number) => void = () => {};
  /** Set by friends (presence): these users of this node got a ticket or lost it (must not throw). */
  onQueueChanged: (userIds: string[]) => void = () => {};

  constructor(private readonly deps: MatchmakingServiceDeps) {
    const configs = (this.configs = new Map(deps.config.queues.map((q) => [q.name, q])));
    this.queues = new Entities<QueueState, MmCommand, MmEvent, TicketUpdate | undefined>(
      {
        kind: 'queue',
        claimed: { fresh: (name) => newQueue(configs.get(name)!) },
        ownerOnly: true,
        version: (q) => q.version,
        decide: (_name, before, command) => {
          const d = decideQueue(before!, command, ctx());
          if (!d.ok) throw new LobbyError(d.code, d.message);
          return { result: statusOf(d.events, command), events: d.events, timers: d.timers };
        },
        // A queue is never gone: its state changes in place.
        apply: (_name, state, e) => applyQueue(state!, e),
        effects: (_name, e, _before, state) => this.effects(state!, e),
        durable: (name, events) => this.told(name, events),
        records: { moves: recordMoves, members: (q) => [...q.byUser.keys()] },
        replace: (name, _before, after) => this.deps.metrics.queued.set({ queue: name }, after?.byUser.size ?? 0),
        resume: (q, now) => [...q.matches.values()].map((m) => ({ afterMs: Math.max(0, m.acceptBy - now), command: { type: 'acceptDeadline' as const, matchId: m.id } })),
        toJSON: (q) => snapshotQueue(q),
        fromJSON: (name, json) => restoreQueue(configs.get(name)!, json as QueueSnapshot),
      },
      deps.cluster,
      deps.log,
    );
    this.tickets = new Tickets({
      log: deps.log,
      gateway: deps.gateway,
      cluster: deps.cluster,
      ask: (queue, userId) => this.ask(queue, userId),
      changed: (userId) => this.onQueueChanged([userId]),
    });
    deps.cluster.handle<{ queue: string; userId: string }>('mm.ticket', ({ queue, userId }) => this.ticketHere(queue, userId));
    deps.cluster.handle<{ queue: string; partyId?: string; gameId?: string; reason: string }>('mm.drop', ({ queue, reason, ...of }) => this.dropHere(queue, of, reason));
    this.ticker = setInterval(() => this.tickAll(), deps.config.mmTickMs);
    this.ticker.unref();
    deps.parties.queueing = this;
    deps.games.onRosterChanged = (gameId, players) => this.onRosterChanged(gameId, players);
    deps.gateway.onSession({
      opened: (userId) => this.tickets.opened(userId),
      moved: (userId) => this.tickets.forget(userId),
      ended: (userId) => this.cancelTicketOf(userId, 'disconnected'),
    });
  }

  stop(): void {
    clearInterval(this.ticker);
    this.queues.stop();
  }

  /** Draining: the queues this node owns go to other nodes (and out of its gauge: their new owners report them). */
  async handOver(): Promise<number> {
    const moved = await this.queues.handOver();
    for (const name of this.names) if (!this.isMine(name)) this.deps.metrics.queued.remove({ queue: name });
    return moved;
  }

  /** The queues this node owns, read-only (admin views: their owner keeps their counters). */
  ownedStates(): QueueState[] {
    return this.queues.owned().flatMap((name) => this.queues.get(name) ?? []);
  }

  /** The configured queues, in order. */
  get names(): string[] {
    return [...this.configs.keys()];
  }

  /** The node owning a queue, as this node knows it. */
  ownerOf(queue: string): string | undefined {
    return this.queues.ownerOf(queue);
  }

  /** A queue as its owner last stored it, with that owner (admin views of a queue whose owner did not answer). */
  peek(queue: string): Promise<{ state: QueueState; owner: string | undefined } | undefined> {
    return this.queues.peekOwned(queue);
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
    return this.names.every((name) => {
      const owner = this.queues.ownerOf(name);
      return owner !== undefined && this.deps.cluster.isLive(owner);
    });
  }

  private isMine(queue: string): boolean {
    return this.queues.ownerOf(queue) === this.deps.cluster.nodeId;
  }

  /** Whether any of these users has a ticket: users here by their tickets' statuses, the others by their records. */
  async anyQueued(userIds: readonly string[]): Promise<boolean> {
    return (await this.tickets.firstQueued(userIds)) !== undefined;
  }

  /** Presence: a user here by their ticket's statuses, one of another node by the last `lookUp`. */
  inQueue(userId: string): boolean {
    return this.tickets.inQueue(userId);
  }

  /** Reads the queue records of users of other nodes, for `inQueue` (a friend list). */
  lookUp(users: readonly string[]): Promise<void> {
    return this.tickets.lookUp(users);
  }

  queueConfig(name: string): QueueConfig | undefined {
    return this.configs.get(name);
  }

  async enqueueParty(queue: string, partyId: string, members: (Member & { attributes: Record<string, string | number> })[], profile: unknown): Promise<TicketUpdate> {
    const p = profile as Profile;
    const standings = await Promise.all(members.map((m) => this.deps.standingOf(m.userId)));
    return this.enqueue(queue, members.map((m, i) => player(m, standings[i]!, p, m.attributes)), { partyId });
  }

  async cancelParty(queue: string, partyId: string, reason: string): Promise<void> {
    await this.drop(queue, { partyId }, reason);
  }

  /** The user's ticket wherever they are: their node's, else their record and the queue's owner (admin views). */
  async ticketAnywhere(userId: string): Promise<TicketUpdate | null> {
    if (this.deps.gateway.sessions.has(userId)) return this.tickets.current(userId);
    const queue = await this.deps.cluster.places.placeOf(userId, 'queue');
    return queue === undefined ? null : this.ask(queue, userId);
  }

  /** A user's ticket as the queue's owner has it now. */
  private async ask(queue: string, userId: string): Promise<TicketUpdate | null> {
    if (!this.configs.has(queue)) return null;
    const owner = this.queues.ownerOf(queue);
    if (owner === undefined) throw new LobbyError('NODE_UNAVAILABLE', `the queue ${queue} has no owner node yet; try again shortly`);
    return this.deps.cluster.call<TicketUpdate | null>(owner, 'mm.ticket', { queue, userId });
  }

  /** On the owner: a user's ticket in a queue it holds. */
  private ticketHere(queue: string, userId: string): TicketUpdate | null {
    const q = this.isMine(queue) ? this.queues.get(queue) : undefined;
    if (!q) throw new LobbyError('NODE_UNAVAILABLE', `the queue ${queue} is moving between nodes; try again`);
    const t = ticketOf(q, userId);
    return (t && ticketUpdate(q, t.id)) ?? null;
  }

  /** Cancels the ticket of a party or a game's team, on the queue's owner (nothing when it has none). */
  private async drop(queue: string, of: { partyId?: string; gameId?: string }, reason: string): Promise<void> {
    const owner = this.queues.ownerOf(queue);
    if (owner === undefined) throw new LobbyError('NODE_UNAVAILABLE', `the queue ${queue} has no owner node yet`);
    await this.deps.cluster.call<void>(owner, 'mm.drop', { queue, ...of, reason });
  }

  private async dropHere(queue: string, of: { partyId?: string; gameId?: string }, reason: string): Promise<void> {
    const q = this.isMine(queue) ? this.queues.get(queue) : undefined;
    if (!q) throw new LobbyError('NODE_UNAVAILABLE', `the queue ${queue} is moving between nodes; try again`);
    const t = of.partyId !== undefined ? ticketOfParty(q, of.partyId) : of.gameId !== undefined ? ticketOfGame(q, of.gameId) : undefined;
    if (t) await this.run(queue, { type: 'cancel', userId: t.players[0]!.userId, reason });
  }

  /** The user's session ended: their ticket is cancelled (known here from its statuses, or once its load is done). */
  private cancelTicketOf(userId: string, reason: string): void {
    void this.tickets.currentOrNull(userId).then((t) => {
      this.tickets.forget(userId);
      if (t) this.background(t.queue, () => this.run(t.queue, { type: 'cancel', userId, reason }));
    });
  }

  /**
   * A game's team ticket stands for the players it had: any change drops it
   * (the owner may queue again). Told by the game's owner, with the players
   * before and after; the ticket is in the queue their records name.
   */
  private onRosterChanged(gameId: string, players: readonly string[]): void {
    const mine = this.ownedStates().find((q) => ticketOfGame(q, gameId));
    if (mine) return this.background(mine.config.name, () => this.dropHere(mine.config.name, { gameId }, 'teamChanged'));
    if (this.deps.cluster.alone) return;
    void this.tickets.queuesOf(players).then((queues) => {
      for (const queue of queues) if (!this.isMine(queue)) this.background(queue, () => this.drop(queue, { gameId }, 'teamChanged'));
    });
  }

  private background(queue: string, task: () => Promise<unknown>): void {
    task().catch((err: unknown) => {
      if (!(err instanceof LobbyError && err.code === 'NOT_QUEUED')) this.deps.log.warn({ err, queue }, 'a matchmaking update failed');
    });
  }

  private async enqueue(queue: string, players: TicketPlayer[], owner: { partyId?: string; gameId?: string }): Promise<TicketUpdate> {
    if (!this.configs.has(queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queue}`);
    if (this.deps.cluster.isDraining) throw new LobbyError('NODE_DRAINING', 'this node is draining and takes no new tickets; reconnect and try again');
    const queued = await this.tickets.firstQueued(players.map((p) => p.userId));
    if (queued !== undefined) throw new LobbyError('IN_MATCHMAKING', `${players.find((p) => p.userId === queued)!.name} is in matchmaking already`);
    const update = await this.run(queue, { type: 'enqueue', ticketId: randomUUID(), players, ...owner });
    if (!update) throw new LobbyError('NODE_UNAVAILABLE', 'the queue did not take the ticket; try again');
    this.tickets.answered(players.map((p) => p.userId), update);
    return update;
  }

  /** The owner ticks its queues; a queue nobody owns is claimed by its successor. */
  private tickAll(): void {
    for (const name of this.configs.keys()) {
      const owner = this.queues.ownerOf(name);
      if (owner === undefined) {
        // Only once the node is in the cluster: a node still alone (its bus not up yet) would claim every queue for itself.
        if (this.deps.cluster.ready) void this.queues.claim(name).catch((err: unknown) => this.deps.log.warn({ err, queue: name }, 'claiming a queue failed'));
        continue;
      }
      if (owner !== this.deps.cluster.nodeId || !this.queues.get(name)) continue;
      void Promise.resolve(this.queues.exec(name, { type: 'tick' })).catch((err: unknown) => this.deps.log.error({ err, queue: name }, 'matchmaking tick failed'));
    }
  }

  private async run(queue: string, command: MmCommand): Promise<TicketUpdate | undefined> {
    return this.queues.exec(queue, command);
  }

  /** What a queue's event sets off on its owner, as it is applied: the admin views hear of it. */
  private effects(state: QueueState, e: MmEvent): void {
    this.onQueueEvent(e, Date.now());
    this.deps.metrics.queued.set({ queue: state.config.name }, state.byUser.size);
  }

  /** Once a batch is stored: the players are told, wherever their sessions are; ready matches start; a party's ended ticket unfreezes it. */
  private told(name: string, events: MmEvent[]): void {
    const state = this.queues.get(name);
    for (const e of events) {
      if (e.ev === 'match.ready') {
        if (state) void this.startMatch(state, e);
        continue;
      }
      for (const u of updatesOf(e)) this.deps.gateway.toUsers(u.userIds, 'mm.status', u.update);
      if ((e.ev === 'ticket.cancelled' || e.ev === 'ticket.timedOut') && e.ticket.partyId) {
        const partyId = e.ticket.partyId;
        this.deps.parties.unqueued(partyId).catch((err: unknown) => this.deps.log.warn({ err, partyId }, 'unqueueing a party failed'));
      }
    }
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
  private async mine(userId: string): Promise<string> {
    const t = await this.tickets.current(userId);
    if (t) return t.queue;
    const gameId = this.tickets.matchGameOf(userId);
    if (gameId && this.deps.games.all.has(gameId)) throw new LobbyError('MATCH_STARTED', 'your match is under way; leave the game instead');
    throw new LobbyError('NOT_QUEUED', 'you have no ticket in matchmaking');
  }

  /** A ticket of one player (not in a party: its leader queues the party). */
  async join(by: Member, queue: string, profile: Profile): Promise<TicketUpdate> {
    if (!this.configs.has(queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queue}`);
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
    const update = await this.run(await this.mine(command.userId), command);
    if (update) this.tickets.answered([command.userId], update);
  }

  /** The ticket of a user here as they see it, or null (NODE_UNAVAILABLE while its queue's owner does not answer). */
  current(userId: string): Promise<TicketUpdate | null> {
    return this.tickets.current(userId);
  }

  /** As `current`, null while the queue's owner does not answer (the user snapshot: the ticket follows as mm.status). */
  currentOrNull(userId: string): Promise<TicketUpdate | null> {
    return this.tickets.currentOrNull(userId);
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
