import { randomUUID } from 'node:crypto';
import type { MatchProfile, QueueConfig, TicketUpdate } from '@foyer/shared';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Metrics } from '../admin/metrics.js';
import type { Config } from '../config.js';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { OpRegistry } from '../gateway/registry.js';
import type { Member } from './game.js';
import type { GameService } from './games.js';
import { applyQueue, decideQueue, newQueue, ticketOf, ticketOfGame, ticketOfParty, ticketUpdate, updatesOf, type MmCommand, type MmCtx, type MmEvent, type QueueState, type TicketPlayer } from './matchmaker.js';
import type { PartyQueueing, PartyService } from './parties.js';

type Profile = z.output<typeof MatchProfile>;

export interface MatchServiceDeps {
  config: Config;
  log: Logger;
  gateway: Gateway;
  registry: OpRegistry;
  metrics: Metrics;
  games: GameService;
  parties: PartyService;
}

const ctx = (): MmCtx => ({ now: Date.now(), newId: () => randomUUID() });

/**
 * The I/O shell around the pure queues: the tick, the accept deadlines,
 * `mm.status` to every player of a ticket, a game for every ready match, and
 * the glue to parties (a party's ticket) and games (a game's team ticket).
 */
export class MatchService implements PartyQueueing {
  private readonly queues = new Map<string, QueueState>();
  /** Users whose match became a game: cancel is over for them, only leaving that game. */
  private readonly matchGame = new Map<string, string>();
  private readonly ticker: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Set by friends (presence): these users' tickets were queued or ended (called from run(); must not throw). */
  onQueueChanged: (userIds: string[]) => void = () => {};

  constructor(private readonly deps: MatchServiceDeps) {
    for (const q of deps.config.queues) this.queues.set(q.name, newQueue(q));
    this.ticker = setInterval(() => this.tickAll(), deps.config.mmTickMs);
    this.ticker.unref();
    this.registerOps(deps.registry);
    deps.parties.queueing = this;
    deps.games.onRosterChanged = (gameId) => this.onRosterChanged(gameId);
    deps.gateway.onSession({ ended: (userId) => this.cancelTicketOf(userId, 'disconnected') });
  }

  stop(): void {
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Queue name → players waiting, for /admin/stats. */
  stats(): Record<string, number> {
    return Object.fromEntries([...this.queues].map(([name, q]) => [name, q.byUser.size]));
  }

  isQueued(userId: string): boolean {
    return this.queueOf(userId) !== undefined;
  }

  queueConfig(name: string): QueueConfig | undefined {
    return this.queues.get(name)?.config;
  }

  enqueueParty(queue: string, partyId: string, members: (Member & { attributes: Record<string, string | number> })[], profile: unknown): TicketUpdate {
    const p = profile as Profile;
    return this.enqueue(queue, members.map((m) => player(m, p, m.attributes)), { partyId });
  }

  cancelParty(partyId: string, reason: string): void {
    for (const [name, q] of this.queues) {
      const t = ticketOfParty(q, partyId);
      if (t) return void this.run(name, { type: 'cancel', userId: t.players[0]!.userId, reason });
    }
  }

  /** The queue a user has a ticket in (also for the admin API). */
  queueOf(userId: string): string | undefined {
    for (const [name, q] of this.queues) if (ticketOf(q, userId)) return name;
    return undefined;
  }

  private cancelTicketOf(userId: string, reason: string): void {
    const queue = this.queueOf(userId);
    if (queue) this.run(queue, { type: 'cancel', userId, reason });
  }

  private onRosterChanged(gameId: string): void {
    // A game's team ticket stands for the players it had: any change drops it (the owner may queue again).
    for (const [name, q] of this.queues) {
      const t = ticketOfGame(q, gameId);
      if (t) return void this.run(name, { type: 'cancel', userId: t.players[0]!.userId, reason: 'teamChanged' });
    }
  }

  private enqueue(queue: string, players: TicketPlayer[], owner: { partyId?: string; gameId?: string }): TicketUpdate {
    if (!this.queues.has(queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${queue}`);
    for (const p of players) if (this.isQueued(p.userId)) throw new LobbyError('IN_MATCHMAKING', `${p.name} is in matchmaking already`);
    const ticketId = randomUUID();
    this.run(queue, { type: 'enqueue', ticketId, players, ...owner });
    return ticketUpdate(this.queues.get(queue)!, ticketId)!;
  }

  private tickAll(): void {
    for (const name of this.queues.keys()) {
      try {
        this.run(name, { type: 'tick' });
      } catch (err) {
        this.deps.log.error({ err, queue: name }, 'matchmaking tick failed');
      }
    }
  }

  /** decide → apply → tell the players, start ready matches, schedule deadlines. */
  private run(queue: string, command: MmCommand): void {
    const state = this.queues.get(queue)!;
    const d = decideQueue(state, command, ctx());
    if (!d.ok) throw new LobbyError(d.code, d.message);
    for (const e of d.events) {
      applyQueue(state, e);
      this.publish(state, e);
      const changed = 'ticket' in e ? [e.ticket] : e.ev === 'match.ready' ? e.tickets : [];
      if (changed.length) this.onQueueChanged(changed.flatMap((t) => t.players.map((p) => p.userId)));
    }
    for (const t of d.timers) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        try {
          this.run(queue, t.command);
        } catch (err) {
          if (!(err instanceof LobbyError)) this.deps.log.error({ err, queue }, 'matchmaking timer failed');
        }
      }, t.afterMs);
      timer.unref();
      this.timers.add(timer);
    }
    if (d.events.length) this.deps.metrics.queued.set({ queue }, state.byUser.size);
  }

  private publish(state: QueueState, e: MmEvent): void {
    if (e.ev === 'match.ready') return this.startMatch(state, e);
    for (const u of updatesOf(e)) this.deps.gateway.deliver({ users: u.userIds }, 'mm.status', u.update);
    if ((e.ev === 'ticket.cancelled' || e.ev === 'ticket.timedOut') && e.ticket.partyId) this.deps.parties.unqueued(e.ticket.partyId);
  }

  /** Everyone accepted: seat them all in a new game that is already started, and hand out the keys. */
  private startMatch(state: QueueState, e: Extract<MmEvent, { ev: 'match.ready' }>): void {
    const { config } = state;
    const byUser = new Map(e.tickets.flatMap((t) => t.players.map((p) => [p.userId, p] as const)));
    const teams = e.match.teams.map((team) => team.map((userId) => ({ member: { userId, name: byUser.get(userId)!.name }, profile: { level: 1, rating: byUser.get(userId)!.rating } })));
    let game: ReturnType<GameService['createMatch']>;
    try {
      game = this.deps.games.createMatch(`${config.name} match`, config.name, teams);
    } catch (err) {
      this.deps.log.error({ err, queue: config.name }, 'creating the game of a match failed');
      for (const u of updatesOf(e)) this.deps.gateway.deliver({ users: u.userIds }, 'mm.status', { ...u.update, status: 'failed', reason: 'gameCreationFailed' });
      return;
    }
    const now = Date.now();
    for (const u of updatesOf(e)) {
      for (const userId of u.userIds) {
        this.matchGame.set(userId, game.gameId);
        this.deps.gateway.deliver({ users: [userId] }, 'mm.status', {
          ...u.update,
          gameId: game.gameId,
          serverAddress: game.serverAddress,
          ...(game.sessionKeys.has(userId) && { sessionKey: game.sessionKeys.get(userId)! }),
        });
        this.deps.metrics.waitSeconds.observe({ queue: config.name }, (now - u.update.queuedAt) / 1000);
      }
    }
    for (const t of e.tickets) if (t.partyId) this.deps.parties.unqueued(t.partyId);
    const means = teams.map((team) => team.reduce((sum, p) => sum + p.profile.rating, 0) / Math.max(1, team.length));
    this.deps.metrics.matches.inc({ queue: config.name });
    this.deps.metrics.ratingSpread.observe({ queue: config.name }, Math.max(...means) - Math.min(...means));
  }

  private registerOps(registry: OpRegistry): void {
    const mineOrFail = (userId: string): string => {
      const queue = this.queueOf(userId);
      if (queue) return queue;
      const gameId = this.matchGame.get(userId);
      if (gameId && this.deps.games.all.has(gameId)) throw new LobbyError('MATCH_STARTED', 'your match is under way; leave the game instead');
      throw new LobbyError('NOT_QUEUED', 'you have no ticket in matchmaking');
    };

    registry.register('mm.join', (data, { session }) => {
      if (!this.queues.has(data.queue)) throw new LobbyError('QUEUE_NOT_FOUND', `no queue named ${data.queue}`);
      if (this.deps.parties.partyOfUser(session.userId)) throw new LobbyError('IN_PARTY', 'you are in a party: its leader queues it with party.go');
      return this.enqueue(data.queue, [player(session, data.profile, {})], {});
    });

    registry.register('game.queue', (data, { session }) => {
      const room = this.deps.games.chatRoom(session.userId);
      if (!room) throw new LobbyError('NOT_IN_GAME', 'you are not in a game');
      const game = this.deps.games.all.get(room.id)!;
      if (game.ownerId !== session.userId) throw new LobbyError('NOT_OWNER', 'only the owner queues the game');
      if (game.inProgress) throw new LobbyError('GAME_IN_PROGRESS', 'the game has started');
      const players = this.deps.games.playersOf(room.id).map((p) => player(p.member, { rating: p.rating, side: 'any' }, {}));
      return this.enqueue(data.queue, players, { gameId: room.id });
    });

    registry.register('mm.cancel', (_data, { session }) => {
      this.run(mineOrFail(session.userId), { type: 'cancel', userId: session.userId, reason: 'cancelled' });
      return {};
    });
    registry.register('mm.accept', (_data, { session }) => {
      this.run(mineOrFail(session.userId), { type: 'accept', userId: session.userId });
      return {};
    });
    registry.register('mm.decline', (_data, { session }) => {
      this.run(mineOrFail(session.userId), { type: 'decline', userId: session.userId });
      return {};
    });
    registry.register('mm.current', (_data, { session }) => {
      const queue = this.queueOf(session.userId);
      const q = queue === undefined ? undefined : this.queues.get(queue);
      const t = q && ticketOf(q, session.userId);
      return { ticket: (q && t && ticketUpdate(q, t.id)) ?? null };
    });
  }
}

function player(m: Member, profile: Profile, attributes: Record<string, string | number>): TicketPlayer {
  const side = attributes.side === 'A' || attributes.side === 'B' ? attributes.side : profile.side;
  return {
    userId: m.userId,
    name: m.name,
    rating: profile.rating,
    side,
    attributes,
    ...(profile.latencies && { latencies: profile.latencies }),
  };
}
