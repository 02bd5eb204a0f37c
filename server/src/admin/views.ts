import type { Cluster } from '../cluster/cluster.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GameState } from '../domain/game/index.js';
import type { GameService } from '../services/gameService.js';
import type { MmEvent, QueueState } from '../domain/queue/index.js';
import type { MatchmakingService } from '../services/matchmakingService.js';
import type { PartyService } from '../services/partyService.js';
import type { AuditRow } from '../store/adminCommands.js';
import type { Metrics } from './metrics.js';

/**
 * What the operator console (and anyone with the admin token) reads about
 * the running lobby: one node's own figures, and the cluster-wide views
 * assembled from them. A queue is held by its owner alone, so its view is
 * asked of its owner (which keeps its counters), else read from its stored
 * snapshot; games and parties are held by interest, so a
 * game not held here is read from the list and its stored snapshot; per-node figures
 * (sessions, owned entities, metrics) are asked of each live node through
 * the cluster.
 */
export interface ViewDeps {
  nodeId: string;
  address(): string;
  ready(): boolean;
  /** Starts this node's drain (wait-stop). */
  drain(): void;
  cluster: Cluster;
  gateway: Gateway;
  games: GameService;
  parties: PartyService;
  matchmaking: MatchmakingService;
  metrics: Metrics;
}

/** One node as it reports itself. */
export interface NodeInfo {
  id: string;
  address: string;
  sessions: number;
  connections: number;
  owned: { games: number; parties: number; queues: number };
  ready: boolean;
  draining: boolean;
  busUp: boolean;
}

export interface MetricsSample {
  at: number;
  sessions: number;
  /** `op` → `outcome` → requests since the node started. */
  requests: Record<string, Record<string, number>>;
  events: number;
}

/** Rates over the sampling window: per second. */
export interface MetricsSummary {
  node: string;
  sessions: number;
  windowSeconds: number;
  requestsPerSec: number;
  /** `op` → `outcome` → per second. */
  byOp: Record<string, Record<string, number>>;
  internalPerSec: number;
  refusedPerSec: number;
  eventsPerSec: number;
}

type QueueView = ReturnType<AdminViews['queueView']>;

const MINUTE = 60_000;
const SAMPLE_MS = 5_000;
/** Buckets (seconds) of the waiting tickets' age, as foyer_mm_wait_seconds has them. */
const WAIT_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

export class AdminViews {
  /** Queue → when its matches became ready / its accept phases timed out, the last minute (of the queues this node owns: their events are applied here). */
  private readonly matchTimes = new Map<string, number[]>();
  private readonly timeoutTimes = new Map<string, number[]>();
  /** Totals every SAMPLE_MS over the last minute, for rates. */
  private readonly samples: MetricsSample[] = [];
  private readonly sampler: NodeJS.Timeout;

  constructor(private readonly deps: ViewDeps) {
    deps.matchmaking.onQueueEvent = (e, at) => this.noteQueueEvent(e, at);
    const { cluster } = deps;
    cluster.handle('admin.nodeInfo', () => this.nodeInfo());
    cluster.handle('admin.metrics', () => this.metricsSummary());
    cluster.handle<{ list?: boolean }>('admin.queues', (b) => this.queuesHere(Date.now(), b?.list !== false));
    cluster.handle<{ userId: string }>('admin.session', ({ userId }) => this.sessionHere(userId));
    cluster.onCast('admin.drain', () => deps.drain());
    this.sampler = setInterval(() => void this.sample().then((s) => this.keep(s)), SAMPLE_MS);
    this.sampler.unref();
    void this.sample().then((s) => this.keep(s));
  }

  stop(): void {
    clearInterval(this.sampler);
  }

  nodeInfo(): NodeInfo {
    const { deps } = this;
    return {
      id: deps.nodeId,
      address: deps.address(),
      sessions: deps.gateway.sessions.size,
      connections: deps.gateway.connectionCount,
      owned: { games: deps.games.owned().length, parties: deps.parties.owned().length, queues: deps.matchmaking.owned().length },
      ready: deps.ready(),
      draining: deps.cluster.isDraining,
      busUp: deps.cluster.busUp,
    };
  }

  /**
   * Every live node (membership), each with what it reports and the round
   * trip of asking it through the bus (`busRttMs`, the bus lag as this node
   * sees it) and the age of its last heartbeat. A node that does not answer
   * in time is listed with `reachable: false`.
   */
  async clusterView(): Promise<{ node: string; nodes: (Partial<NodeInfo> & { id: string; reachable: boolean; busRttMs: number | null; heartbeatAgeMs: number | null })[] }> {
    const { cluster } = this.deps;
    const seen = new Map(cluster.peerInfo().map((p) => [p.id, p]));
    const nodes = await Promise.all(
      cluster.nodes().map(async (id) => {
        const t0 = performance.now();
        const heartbeatAgeMs = id === cluster.nodeId ? 0 : Date.now() - (seen.get(id)?.lastSeen ?? Date.now());
        try {
          const info = await cluster.call<NodeInfo>(id, 'admin.nodeInfo', {});
          return { ...info, reachable: true, busRttMs: id === cluster.nodeId ? 0 : Math.round((performance.now() - t0) * 10) / 10, heartbeatAgeMs };
        } catch {
          return { id, reachable: false, draining: seen.get(id)?.draining ?? false, busRttMs: null, heartbeatAgeMs };
        }
      }),
    );
    nodes.sort((a, b) => a.id.localeCompare(b.id));
    return { node: cluster.nodeId, nodes };
  }

  /** Asks `node` to drain (this node included); false when no such live node. */
  drainNode(node: string): boolean {
    const { cluster } = this.deps;
    if (node === cluster.nodeId) return (this.deps.drain(), true);
    if (!cluster.isLive(node)) return false;
    cluster.tell(node, 'admin.drain', {});
    return true;
  }

  /**
   * Games of the whole cluster matching every given filter, newest first.
   * A node holds only some games' state (by interest), but lists every listed
   * game: the search runs over the games held here and the list's summaries of
   * the others; the page's rows not held here are read from their stored
   * snapshots (a peek: no interest taken). A hidden game held by another node
   * is found by its id (`q`) or by a player's id (`player`, through the user's
   * game record), not by name: finding it so would mean scanning the keyspace.
   */
  async searchGames(f: { q?: string | undefined; gameType?: string | undefined; player?: string | undefined; limit: number }): Promise<ReturnType<AdminViews['gameSummary']>[]> {
    const { games } = this.deps;
    const q = f.q?.toLowerCase();
    const player = f.player?.toLowerCase();
    const named = (g: { id: string; name: string; gameType: string }) => (!q || g.id === f.q || g.name.toLowerCase().includes(q)) && (!f.gameType || g.gameType === f.gameType);
    const found = new Map<string, { createdAt: number; game?: GameState }>();
    const take = (g: GameState) => {
      if (!named(g)) return;
      const people = [...g.players, ...g.spectators];
      if (player && !people.some((p) => p.userId === f.player || p.name.toLowerCase().includes(player))) return;
      found.set(g.id, { createdAt: g.createdAt, game: g });
    };
    for (const g of games.all.values()) take(g);
    // Listed games held elsewhere: the summary has no roster, so a player filter finds them by the user's record below.
    if (!player) for (const s of games.listings.list.summaries()) if (!found.has(s.id) && named(s)) found.set(s.id, { createdAt: s.createdAt });
    const [byId, byPlayer] = await Promise.all([f.q && !found.has(f.q) ? games.peek(f.q) : undefined, f.player ? games.gameOf(f.player) : undefined]);
    for (const g of [byId, byPlayer]) if (g && !found.get(g.id)?.game) take(g);
    const page = [...found].sort(([, a], [, b]) => b.createdAt - a.createdAt).slice(0, f.limit);
    const rows = await Promise.all(page.map(([id, r]) => (r.game ? { state: r.game, owner: games.ownerOf(id) } : games.peekOwned(id))));
    return rows.filter((r) => r !== undefined).map((r) => this.gameSummary(r.state, r.owner));
  }

  gameSummary(g: GameState, ownerNode = this.deps.games.ownerOf(g.id)) {
    return {
      id: g.id,
      name: g.name,
      gameType: g.gameType,
      ownerId: g.ownerId,
      ownerNode: ownerNode ?? null,
      players: g.players.map((p) => ({ userId: p.userId, name: p.name, teamIndex: p.teamIndex })),
      spectators: g.spectators.length,
      maxPlayers: g.maxPlayers,
      inProgress: g.inProgress,
      createdAt: g.createdAt,
      ageMs: Date.now() - g.createdAt,
    };
  }

  /** A game's full view (its password hash and session keys stay out), players grouped by team: as held here, else as stored (a peek). */
  async game(gameId: string) {
    const found = await this.deps.games.peekOwned(gameId);
    if (!found) return undefined;
    const g = found.state;
    const { passwordHash, passwordSalt: _salt, sessionKeys: _keys, keysUsed: _used, ...view } = g;
    const teamCount = Math.max(1, Math.ceil(g.maxPlayers / Math.max(1, g.teamSize)));
    const teams = Array.from({ length: teamCount }, (_, i) => g.players.filter((p) => p.teamIndex === i).map((p) => p.userId));
    const state = g.confirmBy !== null ? 'confirming' : g.inProgress ? 'inProgress' : 'open';
    return { ...view, hasPassword: passwordHash !== null, state, teams, ownerNode: found.owner ?? null, ageMs: Date.now() - g.createdAt };
  }

  /**
   * Every queue of the cluster: the tickets waiting, their wait-time
   * distribution, matches per minute and accept timeouts of the last minute.
   * Each owner is asked for its queues; a queue whose owner does not answer
   * is read from its stored snapshot (without counters). Without `list`,
   * no ticket list travels (the stats need the counts alone).
   */
  async queues(now = Date.now(), list = true): Promise<QueueView[]> {
    const { matchmaking, cluster } = this.deps;
    const owners = new Set(matchmaking.names.map((n) => matchmaking.ownerOf(n)).filter((o): o is string => o !== undefined && cluster.isLive(o)));
    const answers = await Promise.all([...owners].map((node) => cluster.call<QueueView[]>(node, 'admin.queues', { list }).catch(() => [])));
    const byName = new Map(answers.flat().map((v) => [v.name, v]));
    return Promise.all(
      matchmaking.names.map(async (name) => {
        const known = byName.get(name);
        if (known) return known;
        const stored = await matchmaking.peek(name).catch(() => undefined);
        return this.queueView(name, stored?.state, stored?.owner, now, list);
      }),
    );
  }

  /** The queues this node owns, with their counters. */
  private queuesHere(now: number, list: boolean): QueueView[] {
    return this.deps.matchmaking.ownedStates().map((state) => this.queueView(state.config.name, state, this.deps.nodeId, now, list));
  }

  /** Players per queue across the cluster (the stats), and their sum. */
  async queueCounts(): Promise<{ queues: Record<string, number>; inMatchmaking: number }> {
    return countsOf(await this.queues(Date.now(), false));
  }

  private queueView(name: string, state: QueueState | undefined, owner: string | undefined, now: number, list: boolean) {
    const tickets = state ? [...state.tickets.values()] : [];
    const waits = tickets.map((t) => (now - t.queuedAt) / 1000);
    return {
      name,
      ownerNode: owner ?? null,
      tickets: tickets.length,
      players: state?.byUser.size ?? 0,
      accepting: state?.matches.size ?? 0,
      waitSeconds: waitDistribution(waits),
      matchesPerMinute: recent(this.matchTimes.get(name), now).length,
      acceptTimeoutsPerMinute: recent(this.timeoutTimes.get(name), now).length,
      list: !list ? [] : tickets.map((t) => ({ id: t.id, status: t.status, queuedAt: t.queuedAt, waitMs: now - t.queuedAt, partyId: t.partyId ?? null, gameId: t.gameId ?? null, players: t.players.map((p) => ({ userId: p.userId, name: p.name })) })),
    };
  }

  /** The ticket a player holds, if any (from their node's statuses, else their record and the queue's owner). */
  async ticketOf(userId: string): Promise<{ queue: string; ticketId: string; status: string; queuedAt: number } | null> {
    const t = await this.deps.matchmaking.ticketAnywhere(userId).catch(() => null);
    return t && { queue: t.queue, ticketId: t.ticketId, status: t.status, queuedAt: t.queuedAt };
  }

  /** Where a player's session is: this node, or another one asked through the cluster. */
  async session(userId: string): Promise<{ node: string; connected: boolean; since: number } | null> {
    const here = this.sessionHere(userId);
    if (here) return here;
    const node = await this.deps.gateway.nodeOf(userId);
    if (node === undefined) return null;
    try {
      return await this.deps.cluster.call<ReturnType<AdminViews['sessionHere']>>(node, 'admin.session', { userId });
    } catch {
      return { node, connected: true, since: 0 };
    }
  }

  private sessionHere(userId: string): { node: string; connected: boolean; since: number } | null {
    const s = this.deps.gateway.sessions.get(userId);
    return s ? { node: this.deps.nodeId, connected: !!s.link, since: s.since } : null;
  }

  /** This node's request, refusal and delivery rates over the last minute, from the counters /metrics exports. */
  async metricsSummary(): Promise<MetricsSummary> {
    const now = await this.sample();
    const first = this.samples.find((s) => now.at - s.at <= MINUTE + SAMPLE_MS) ?? now;
    const secs = Math.max(0.001, (now.at - first.at) / 1000);
    const byOp: Record<string, Record<string, number>> = {};
    let total = 0;
    let internal = 0;
    let refused = 0;
    for (const [op, outcomes] of Object.entries(now.requests)) {
      for (const [outcome, n] of Object.entries(outcomes)) {
        const d = n - (first.requests[op]?.[outcome] ?? 0);
        if (!d) continue;
        (byOp[op] ??= {})[outcome] = round(d / secs);
        total += d;
        if (outcome === 'INTERNAL') internal += d;
        else if (outcome !== 'ok') refused += d;
      }
    }
    const windowSeconds = now.at === first.at ? 0 : round(secs);
    const rate = (d: number) => (windowSeconds ? round(d / secs) : 0);
    return { node: this.deps.nodeId, sessions: now.sessions, windowSeconds, requestsPerSec: rate(total), byOp, internalPerSec: rate(internal), refusedPerSec: rate(refused), eventsPerSec: rate(now.events - first.events) };
  }

  /** Every live node's summary, and the cluster's sums. */
  async clusterMetrics() {
    const { cluster } = this.deps;
    const nodes = (
      await Promise.all(cluster.nodes().map((id) => cluster.call<MetricsSummary>(id, 'admin.metrics', {}).catch(() => undefined)))
    ).filter((m): m is MetricsSummary => !!m);
    const sum = (f: (m: MetricsSummary) => number) => round(nodes.reduce((a, m) => a + f(m), 0));
    const byOp: Record<string, Record<string, number>> = {};
    for (const m of nodes) for (const [op, o] of Object.entries(m.byOp)) for (const [outcome, r] of Object.entries(o)) (byOp[op] ??= {})[outcome] = round((byOp[op]?.[outcome] ?? 0) + r);
    return {
      total: { sessions: sum((m) => m.sessions), requestsPerSec: sum((m) => m.requestsPerSec), byOp, internalPerSec: sum((m) => m.internalPerSec), refusedPerSec: sum((m) => m.refusedPerSec), eventsPerSec: sum((m) => m.eventsPerSec) },
      nodes,
    };
  }

  private async sample(): Promise<MetricsSample> {
    const { metrics } = this.deps;
    const requests: Record<string, Record<string, number>> = {};
    for (const v of (await metrics.requests.get()).values) {
      const op = String(v.labels.op ?? '?');
      (requests[op] ??= {})[String(v.labels.outcome ?? '?')] = v.value;
    }
    const events = (await metrics.events.get()).values[0]?.value ?? 0;
    return { at: Date.now(), sessions: this.deps.gateway.sessions.size, requests, events };
  }

  private keep(s: MetricsSample): void {
    this.samples.push(s);
    while (this.samples.length && s.at - this.samples[0]!.at > MINUTE + SAMPLE_MS) this.samples.shift();
  }

  private noteQueueEvent(e: MmEvent, at: number): void {
    const times = e.ev === 'match.ready' ? this.matchTimes : e.ev === 'match.failed' && e.reason === 'acceptTimeout' ? this.timeoutTimes : undefined;
    if (!times) return;
    const list = recent(times.get(e.queue), at);
    list.push(at);
    times.set(e.queue, list);
  }
}

/** What happened to each deferred command of a player, from the audit: queued, ran, failed, expired or cancelled. */
export function deferredStates(rows: AuditRow[], now = Date.now()) {
  type Deferred = { id: string; kind: string; args: unknown; issuedBy: string; queuedAt: number | null; expiresAt: number | null; state: string; at: number; error: string | null; result: unknown };
  const byId = new Map<string, Deferred>();
  // Oldest first, so the last event of a command decides its state.
  for (const r of [...rows].reverse()) {
    if (r.mode !== 'deferred' || !r.commandId) continue;
    const c: Deferred = byId.get(r.commandId) ?? { id: r.commandId, kind: r.kind, args: r.args, issuedBy: r.actor, queuedAt: null, expiresAt: null, state: 'queued', at: r.at, error: null, result: null };
    if (r.event === 'queued') {
      c.queuedAt = r.at;
      c.expiresAt = (r.result as { expiresAt?: number } | null)?.expiresAt ?? null;
    }
    c.state = r.event === 'ran' && !r.ok ? 'failed' : r.event;
    c.at = r.at;
    c.error = r.error;
    c.result = r.result;
    byId.set(r.commandId, c);
  }
  // A command past its expiry is dropped (and audited) at the player's next login; until then it is expired all the same.
  for (const c of byId.values()) if (c.state === 'queued' && c.expiresAt !== null && c.expiresAt <= now) c.state = 'expired';
  return [...byId.values()].sort((a, b) => b.at - a.at);
}

function recent(times: number[] | undefined, now: number): number[] {
  return (times ?? []).filter((t) => now - t < MINUTE);
}

function waitDistribution(waits: number[]): { le: string; count: number }[] {
  const out = WAIT_BUCKETS.map((b) => ({ le: String(b), count: 0 }));
  const over = { le: '+Inf', count: 0 };
  for (const w of waits) {
    const i = WAIT_BUCKETS.findIndex((b) => w <= b);
    if (i < 0) over.count++;
    else out[i]!.count++;
  }
  return [...out, over];
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Players per queue, and their sum, from the queues' views. */
export function countsOf(views: readonly QueueView[]): { queues: Record<string, number>; inMatchmaking: number } {
  return { queues: Object.fromEntries(views.map((q) => [q.name, q.players])), inMatchmaking: views.reduce((a, q) => a + q.players, 0) };
}
