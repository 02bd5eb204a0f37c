import { eventNames, isOpName, type GameSummary, type GameView, type OpName, type OpResult, type PartyView, type TicketUpdate } from '@foyer/shared';
import type { Received } from './events.js';

/** One reply as received: the op and the result the protocol gives it. */
type Replied = { [O in OpName]: { op: O; result: OpResult<O> } }[OpName];
import type { LobbyClient, LobbyState } from '@foyer/client-sdk';

/**
 * Watches SDK clients spread over the nodes of a cluster and checks, from
 * everything they saw, the invariants the cluster must keep whatever happens
 * (nodes dying, Redis going away, drains):
 *
 * - a user is never in two games at once: from each user's own event stream
 *   (in order within each stream) and replies, entering a game while still in another one
 *   with no leave seen in between;
 * - a game never has more players than maxPlayers: in any game view or list
 *   summary, and in the roster a client keeps from a view plus the events
 *   that follow it without a gap;
 * - a matchmaking ticket is never matched twice: one ready match per ticket,
 *   one game per match, nobody twice in a match;
 * - nodes never disagree on an entity at one version: every game view, game
 *   list summary and party view seen anywhere (replies and events, through
 *   whichever node) for one id and version is the same;
 * - within one session, the versions of an entity's events never go back
 *   (a replica delivering out of order).
 *
 * Plus, on demand, checks of the nodes' own state through the admin API
 * (checkNodes) and a convergence wait over one client per node (converged).
 */

export interface Observation {
  /** ms since the epoch (Date.now()), in this process. */
  at: number;
  client: string;
  userId: string | undefined;
  /** The node address the client was on (LobbyClient.url). */
  node: string;
  kind: 'event' | 'reply' | 'error' | 'state';
  name: string;
  /** Event frames: `stream#offset`. */
  position?: string;
  data: unknown;
}

const UNKNOWN = Symbol('unknown');
type Where = string | null | typeof UNKNOWN;

interface Watched {
  label: string;
  client: LobbyClient;
  /** The user, from the last login reply (the SDK learns it only from some logins). */
  me: string | undefined;
  /** Bumped when the session restarts (resync, fresh connect): event numbering and what the client knows start over. */
  epoch: number;
  /** The game this user is in (or watches) as its own stream says; UNKNOWN after a resync until it learns again. */
  game: Where;
  /** Last event version per entity in this epoch. */
  versions: Map<string, number>;
  /** Rosters of games this client sees: seated players from a view, then events applied in order. */
  rosters: Map<string, { version: number; maxPlayers: number; players: Set<string> }>;
}

const LOGINS: ReadonlySet<string> = new Set(['auth.guest', 'auth.register', 'auth.login', 'auth.token', 'auth.refresh', 'auth.upgrade', 'session.resume']);

/** A stable JSON (keys sorted) to compare views seen by different clients. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

export class Invariants {
  readonly log: Observation[] = [];
  readonly violations: string[] = [];
  private readonly watched: Watched[] = [];
  /** `${kind}:${id}@${version}` → the first copy seen and who saw it. */
  private readonly snapshots = new Map<string, { json: string; who: string }>();
  /** ticketId → matchIds it was ready in. */
  private readonly readyMatches = new Map<string, Set<string>>();
  /** matchId → gameId of its ready status. */
  private readonly matchGames = new Map<string, { gameId: string | undefined; who: string }>();

  /** Records everything `client` sees and replies it gets from now on; returns it. */
  track(client: LobbyClient, label: string): LobbyClient {
    const w: Watched = { label, client, me: undefined, epoch: 0, game: null, versions: new Map(), rosters: new Map() };
    this.watched.push(w);
    for (const ev of eventNames) {
      client.on(ev, (data, frame) => {
        this.observe(w, 'event', ev, data, `${frame.stream}#${frame.offset}`);
        try {
          this.onEvent(w, { ev, data } as Received);
        } catch (err) {
          this.violation(w, `the invariant checker failed on ${ev}: ${String(err)}`);
        }
      });
    }
    let reconnected = false;
    client.onState((state: LobbyState, info) => {
      this.observe(w, 'state', state, info.close ? { close: info.close } : info.error ? { error: info.error.code } : {});
      if (state === 'reconnecting') reconnected = true;
      // A fresh session (other node, or grace over): numbering restarts and the client refetches what it shows.
      if (state === 'resynced' || (state === 'connected' && reconnected)) this.restart(w);
    });
    const call = client.call.bind(client);
    client.call = ((op: string, ...args: unknown[]) =>
      (call as (op: string, ...a: unknown[]) => Promise<unknown>)(op, ...args).then(
        (result) => {
          if (LOGINS.has(op) && typeof (result as { userId?: unknown }).userId === 'string') w.me = (result as { userId: string }).userId;
          this.observe(w, 'reply', op, { request: args[0], result });
          try {
            // `op` answered with `result`: the cast pairs them as the protocol table does.
            if (isOpName(op)) this.onReply(w, { op, result } as Replied);
          } catch (err) {
            this.violation(w, `the invariant checker failed on the reply to ${op}: ${String(err)}`);
          }
          return result;
        },
        (err: unknown) => {
          const code = (err as { code?: string }).code ?? String(err);
          this.observe(w, 'error', op, { request: args[0], code });
          if (LOGINS.has(op) && op !== 'auth.refresh' && op !== 'auth.upgrade') this.restart(w);
          throw err;
        },
      )) as typeof client.call;
    return client;
  }

  /** Every violation so far (an empty list when all is well). */
  check(): string[] {
    return [...this.violations];
  }

  /** Throws an Error listing every violation, with the observations around them. */
  assertClean(): void {
    if (this.violations.length === 0) return;
    throw new Error(`${this.violations.length} invariant violation(s):\n- ${this.violations.join('\n- ')}\n\nlast observations:\n${this.trail(60)}`);
  }

  /** The last `n` observations, one per line (diagnostics). */
  trail(n = 100, client?: string): string {
    const t0 = this.log[0]?.at ?? 0;
    return this.log
      .filter((o) => client === undefined || o.client === client)
      .slice(-n)
      .map((o) => `+${o.at - t0}ms ${o.client}@${o.node.replace(/^ws:\/\//, '')} ${o.kind} ${o.name}${o.position !== undefined ? ` ${o.position}` : ''} ${short(o.data)}`)
      .join('\n');
  }

  /**
   * The nodes' own state through the admin API (GET /admin/games on each
   * node that answers): on each node, every user in at most one game and no
   * game over maxPlayers. Adds violations; returns the games per node.
   */
  async checkNodes(nodes: { id: string; http: string }[], adminToken: string): Promise<Map<string, AdminGame[]>> {
    const out = new Map<string, AdminGame[]>();
    for (const n of nodes) {
      let games: AdminGame[];
      try {
        const res = await fetch(`${n.http}/admin/games`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(3000) });
        if (res.status !== 200) continue;
        games = ((await res.json()) as { games: AdminGame[] }).games;
      } catch {
        continue; // a dead or draining node
      }
      out.set(n.id, games);
      const inGame = new Map<string, string>();
      for (const g of games) {
        if (g.players.length > g.maxPlayers) this.violations.push(`node ${n.id}: game ${g.id} has ${g.players.length} players, maxPlayers ${g.maxPlayers}`);
        for (const p of g.players) {
          const other = inGame.get(p.userId);
          if (other && other !== g.id) this.violations.push(`node ${n.id}: user ${p.userId} (${p.name}) is a player of games ${other} and ${g.id}`);
          inGame.set(p.userId, g.id);
        }
      }
    }
    return out;
  }

  // ---- events ----

  private onEvent(w: Watched, e: Received): void {
    const me = w.me ?? w.client.userId;
    // Every game and party event names its entity and the version it produces.
    const d = e.data as { gameId?: unknown; partyId?: unknown; version?: unknown };
    if (e.ev.startsWith('game.') && typeof d.gameId === 'string' && typeof d.version === 'number') {
      this.forward(w, `game:${d.gameId}`, d.version, e.ev);
      this.roster(w, d.gameId, d.version, e);
    }
    if (e.ev.startsWith('party.') && typeof d.partyId === 'string' && typeof d.version === 'number') this.forward(w, `party:${d.partyId}`, d.version, e.ev);
    switch (e.ev) {
      case 'game.playerJoined':
        if (e.data.player.userId === me) this.enter(w, e.data.gameId, e.ev);
        break;
      case 'game.spectatorJoined':
        if (e.data.spectator.userId === me) this.enter(w, e.data.gameId, e.ev);
        break;
      case 'game.playerLeft':
      case 'game.spectatorLeft':
        if (e.data.userId === me) this.leave(w, e.data.gameId);
        break;
      case 'game.ended':
        this.leave(w, e.data.gameId);
        w.rosters.delete(e.data.gameId);
        break;
      case 'game.updated':
        this.gameView(w, e.data.game, e.ev);
        break;
      case 'games.added':
      case 'games.updated':
        this.forward(w, `summary:${e.data.game.id}`, e.data.game.version, e.ev);
        this.summary(w, e.data.game, e.ev);
        break;
      case 'party.invited':
      case 'party.snapshot':
        this.partyView(w, e.data.party, e.ev);
        break;
      case 'mm.status':
        this.ticket(w, e.data, e.ev);
        break;
      default:
        break;
    }
  }

  // ---- replies ----

  private onReply(w: Watched, r: Replied): void {
    const me = w.me ?? w.client.userId;
    switch (r.op) {
      case 'game.create':
      case 'game.join':
      case 'games.quickJoin': {
        const { game } = r.result;
        this.gameView(w, game, r.op);
        if (game.players.some((p) => p.userId === me) || game.spectators.some((s) => s.userId === me)) this.enter(w, game.id, r.op);
        break;
      }
      case 'game.current':
        if (r.result.game) this.gameView(w, r.result.game, r.op);
        // The node's word, now: what the client believes from here on.
        w.game = r.result.game ? r.result.game.id : null;
        break;
      case 'game.update':
        this.gameView(w, r.result.game, r.op);
        break;
      case 'game.leave':
        this.leave(w, r.result.gameId);
        break;
      case 'games.list':
      case 'games.subscribe':
        for (const g of r.result.games) this.summary(w, g, r.op);
        break;
      case 'party.invite':
      case 'party.accept':
      case 'party.setAttributes':
        this.partyView(w, r.result.party, r.op);
        break;
      case 'party.current':
        if (r.result.party) this.partyView(w, r.result.party, r.op);
        break;
      case 'mm.join':
      case 'party.go':
      case 'game.queue':
        this.ticket(w, r.result, r.op);
        break;
      case 'mm.current':
        if (r.result.ticket) this.ticket(w, r.result.ticket, r.op);
        break;
      default:
        break;
    }
  }

  // ---- the checks ----

  /** One user, one game: entering `gameId` while the stream says it is in another. */
  private enter(w: Watched, gameId: string, why: string): void {
    if (w.game !== UNKNOWN && w.game !== null && w.game !== gameId) {
      this.violation(w, `user ${w.me ?? w.client.userId} entered game ${gameId} (${why}) while still in game ${w.game}: no playerLeft/spectatorLeft/game.ended/game.leave for it came first`);
    }
    w.game = gameId;
  }

  private leave(w: Watched, gameId: string): void {
    if (w.game === gameId) w.game = null;
  }

  /** Versions of one entity's events only go forward within a session. */
  private forward(w: Watched, key: string, version: number, ev: string): void {
    const last = w.versions.get(key);
    if (last !== undefined && version < last) this.violation(w, `${key}: ${ev} carries version ${version} after version ${last} was delivered in the same session`);
    w.versions.set(key, Math.max(version, last ?? 0));
  }

  private snapshot(w: Watched, kind: string, id: string, version: number, value: unknown, why: string): void {
    const key = `${kind}:${id}@${version}`;
    const json = canonical(value);
    const who = `${w.label} via ${w.client.url} (${why})`;
    const first = this.snapshots.get(key);
    if (!first) this.snapshots.set(key, { json, who });
    else if (first.json !== json) this.violation(w, `two views of ${kind} ${id} at version ${version} differ:\n    ${first.who}: ${first.json}\n    ${who}: ${json}`);
  }

  private gameView(w: Watched, g: GameView, why: string): void {
    this.snapshot(w, 'game', g.id, g.version, g, why);
    if (g.players.length > g.maxPlayers) this.violation(w, `game ${g.id} v${g.version} has ${g.players.length} players, maxPlayers ${g.maxPlayers} (${why})`);
    const users = g.players.map((p) => p.userId);
    if (new Set(users).size !== users.length) this.violation(w, `game ${g.id} v${g.version} seats a user twice (${why})`);
    const r = w.rosters.get(g.id);
    if (!r || r.version <= g.version) w.rosters.set(g.id, { version: g.version, maxPlayers: g.maxPlayers, players: new Set(users) });
  }

  /** Applies an event to the client's roster of the game when it follows the roster's version without a gap. */
  private roster(w: Watched, gameId: string, version: number, e: Received): void {
    const r = w.rosters.get(gameId);
    if (!r || version <= r.version) return;
    if (version !== r.version + 1) {
      w.rosters.delete(gameId); // a gap: unknown until the next full view
      return;
    }
    r.version = version;
    if (e.ev === 'game.playerJoined') r.players.add(e.data.player.userId);
    else if (e.ev === 'game.playerLeft') r.players.delete(e.data.userId);
    if (r.players.size > r.maxPlayers) this.violation(w, `game ${gameId} v${version}: ${r.players.size} players after ${e.ev}, maxPlayers ${r.maxPlayers}`);
  }

  private summary(w: Watched, s: GameSummary, why: string): void {
    this.snapshot(w, 'summary', s.id, s.version, s, why);
    if (s.players > s.maxPlayers) this.violation(w, `game ${s.id} v${s.version} is listed with ${s.players} players, maxPlayers ${s.maxPlayers} (${why})`);
  }

  private partyView(w: Watched, p: PartyView, why: string): void {
    this.snapshot(w, 'party', p.id, p.version, p, why);
    const users = p.members.map((m) => m.userId);
    if (new Set(users).size !== users.length) this.violation(w, `party ${p.id} v${p.version} lists a member twice (${why})`);
  }

  private ticket(w: Watched, t: TicketUpdate, why: string): void {
    if (t.match) {
      const users = t.match.teams.flat().map((p) => p.userId);
      if (new Set(users).size !== users.length) this.violation(w, `match ${t.match.matchId} has a player twice: ${users.join(', ')} (${why})`);
    }
    if (t.status !== 'ready') return;
    const matchId = t.match?.matchId ?? `(no match id, game ${t.gameId})`;
    const seen = this.readyMatches.get(t.ticketId) ?? new Set<string>();
    seen.add(matchId);
    this.readyMatches.set(t.ticketId, seen);
    if (seen.size > 1) this.violation(w, `ticket ${t.ticketId} was matched twice: ready in matches ${[...seen].join(', ')} (${why})`);
    const who = `${w.label} (${why})`;
    const first = this.matchGames.get(matchId);
    if (!first) this.matchGames.set(matchId, { gameId: t.gameId, who });
    else if (first.gameId !== t.gameId) this.violation(w, `match ${matchId} is ready in two games: ${first.gameId} (${first.who}) and ${t.gameId} (${who})`);
    if (t.gameId) this.enter(w, t.gameId, `${why} ready`);
  }

  private restart(w: Watched): void {
    w.epoch++;
    w.game = UNKNOWN;
    w.versions.clear();
    w.rosters.clear();
  }

  private violation(w: Watched, what: string): void {
    this.violations.push(`[${w.label} on ${w.client.url}] ${what}`);
  }

  private observe(w: Watched, kind: Observation['kind'], name: string, data: unknown, position?: string): void {
    this.log.push({ at: Date.now(), client: w.label, userId: w.me ?? w.client.userId, node: w.client.url, kind, name, ...(position !== undefined ? { position } : {}), data });
  }
}

/** One game as GET /admin/games shows it. */
export interface AdminGame {
  id: string;
  name: string;
  ownerId: string;
  players: { userId: string; name: string; teamIndex: number }[];
  maxPlayers: number;
  inProgress: boolean;
}

function short(v: unknown, max = 300): string {
  const s = (JSON.stringify(v) ?? '').replace(/"(token|sessionKey)":"[^"]*"/g, '"$1":"…"');
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/**
 * Waits until one client per node lists the same games at the same versions
 * (games.list, first 100 of every status) and returns that list; throws with
 * the last lists if they still differ after `timeoutMs`. Every list read is
 * also checked by the invariants when the clients are tracked.
 */
export async function converged(clients: LobbyClient[], timeoutMs = 10_000, filter: Record<string, unknown> = {}): Promise<GameSummary[]> {
  const deadline = Date.now() + timeoutMs;
  let lists: GameSummary[][] = [];
  for (;;) {
    lists = await Promise.all(clients.map(async (c) => (await c.call('games.list', { limit: 100, filter: { status: 'any', ...filter } })).games));
    const keys = lists.map((l) => l.map((g) => `${g.id}@${g.version}`).sort().join(','));
    if (keys.every((k) => k === keys[0])) return lists[0]!;
    if (Date.now() >= deadline) {
      throw new Error(
        `the nodes' game lists did not converge within ${timeoutMs} ms:\n${lists.map((l, i) => `  ${clients[i]!.url}: ${l.map((g) => `${g.name}(${g.id.slice(0, 8)})@v${g.version} ${g.players}/${g.maxPlayers}`).join(', ') || '(none)'}`).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
