import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MatchReportBody, SessionKeyUseBody, type ErrorCode } from '@foyer/shared';
import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../transport/index.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GameService } from '../services/gameService.js';
import type { MatchmakingService } from '../services/matchmakingService.js';
import type { MatchResultService } from '../services/matchResultService.js';
import { LobbyError } from '../errors.js';
import type { PartyService } from '../services/partyService.js';
import type { Account, Accounts } from '../store/accounts.js';
import type { Friends } from '../store/friends.js';
import type { Mail } from '../store/mail.js';
import { CommandBody, describeKinds, type AdminCommands } from './commands.js';
import { decodePart, json, parseBody, parseQuery } from './httpKit.js';
import type { Metrics } from './metrics.js';
import { createViewRoutes } from './viewRoutes.js';
import type { AdminViews } from './views.js';
import { createWatch } from './watch.js';

export interface HttpDeps {
  gateway: Gateway;
  games: GameService;
  matchmaking: MatchmakingService;
  metrics: Metrics;
  adminToken: string | undefined;
  /** Bearer secret of game servers, for /v1/... */
  serverSecret: string | undefined;
  webRoot: string | undefined;
  ready(): boolean;
  /** Starts a drain (wait-stop); the node exits when it is done. */
  drain(): void;
  nodeId: string;
  accounts: Accounts;
  parties: PartyService;
  commands: AdminCommands;
  matchResults: MatchResultService;
  friends: Friends;
  mail: Mail;
  views: AdminViews;
  /** A stored profile changed (friends see the new one). */
  profileChanged(a: Account): void;
}

const NoticeBody = z.object({ text: z.string().trim().min(1).max(2000), userId: z.string().min(1).max(128).optional() });
const ListQuery = z.object({ userId: z.string().min(1).max(128).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });
const LevelBody = z.object({ level: z.number().int().min(0).max(10_000) });
const BanBody = z.object({ durationMs: z.number().int().min(1).max(100 * 365 * 86_400_000), reason: z.string().trim().min(1).max(500) });

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** How the game-server API answers a refused session key use. */
const keyRefusals: Partial<Record<ErrorCode, number>> = { WRONG_SESSION_KEY: 404, SESSION_KEY_USED: 409, SESSION_KEY_EXPIRED: 410, NODE_UNAVAILABLE: 503 };

/** Health, metrics, the admin API and the lobby page, one handler for both transports. */
export function createHttpHandler(deps: HttpDeps): (req: HttpRequest) => Promise<HttpResponse> {
  const adminToken = deps.adminToken ? Buffer.from(deps.adminToken) : undefined;
  const serverSecret = deps.serverSecret ? Buffer.from(deps.serverSecret) : undefined;

  function bearer(req: HttpRequest, secret: Buffer): boolean {
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
    return given.length === secret.length && timingSafeEqual(given, secret);
  }
  const endGame = /^\/(?:admin|v1)\/games\/([^/]{1,64})\/end$/;
  const matchResults = /^\/v1\/matches\/([^/]{1,128})\/results$/;
  const playerLevel = /^\/v1\/players\/([^/]{1,128})\/level$/;
  const userBan = /^\/admin\/users\/([^/]{1,384})\/ban$/;
  const commandPath = /^\/admin\/commands\/([^/]{1,64})$/;
  const views = createViewRoutes(deps);
  const watch = createWatch((req) => admin(req));

  return async (req) => {
    if (req.path === '/healthz') return json(200, { ok: true, node: deps.nodeId });
    if (req.path === '/readyz') return deps.ready() ? json(200, { ready: true }) : json(503, { ready: false });
    if (req.path === '/metrics') {
      const owned = { open: 0, inProgress: 0 };
      for (const id of deps.games.owned()) {
        const g = deps.games.all.get(id);
        if (g) owned[g.inProgress ? 'inProgress' : 'open']++;
      }
      for (const [state, n] of Object.entries(owned)) deps.metrics.games.set({ state }, n);
      return { status: 200, headers: { 'content-type': deps.metrics.registry.contentType }, body: await deps.metrics.registry.metrics() };
    }
    if (req.path.startsWith('/admin/')) {
      if (!adminToken) return json(404, { error: 'the admin API is off; set FOYER_ADMIN_TOKEN' });
      if (!bearer(req, adminToken)) return json(401, { error: 'missing or wrong bearer token' });
      return admin(req);
    }
    if (req.path.startsWith('/v1/')) {
      if (!serverSecret) return json(404, { error: 'the game server API is off; set FOYER_SERVER_SECRET' });
      if (!bearer(req, serverSecret)) return json(401, { error: 'missing or wrong bearer token' });
      return gameServer(req);
    }
    if (req.method === 'GET' && deps.webRoot) return serveStatic(deps.webRoot, req.path);
    return json(404, { error: 'not found' });
  };

  async function endGameBy(req: HttpRequest): Promise<HttpResponse | undefined> {
    const m = req.method === 'POST' ? endGame.exec(req.path) : null;
    if (!m) return undefined;
    return (await deps.games.end(m[1]!)) ? json(200, { ended: true }) : json(404, { error: 'no such game' });
  }

  /** What game servers call: use a player's session key, report results, end a game they ran. */
  async function gameServer(req: HttpRequest): Promise<HttpResponse> {
    if (req.method === 'POST' && req.path === '/v1/session-keys/use') return useSessionKey(req);
    const results = req.method === 'POST' ? matchResults.exec(req.path) : null;
    if (results) return reportResults(req, decodePart(results[1]!));
    const level = req.method === 'POST' ? playerLevel.exec(req.path) : null;
    if (level) return setLevel(req, decodePart(level[1]!));
    return (await endGameBy(req)) ?? json(404, { error: 'no such endpoint' });
  }

  /** A game server checks the key a player brought and spends it: one use, until the confirm deadline. */
  async function useSessionKey(req: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(req, SessionKeyUseBody);
    if (!body.ok) return body.res;
    try {
      return json(200, await deps.games.useSessionKey(body.data.sessionKey));
    } catch (err) {
      const status = err instanceof LobbyError ? keyRefusals[err.code] : undefined;
      if (status === undefined) throw err;
      return json(status, { error: (err as LobbyError).message, code: (err as LobbyError).code });
    }
  }

  /** The game decides a player's level (players cannot set it themselves); it counts from the player's next join. */
  async function setLevel(req: HttpRequest, userId: string): Promise<HttpResponse> {
    const body = parseBody(req, LevelBody);
    if (!body.ok) return body.res;
    const a = await deps.accounts.update(userId, { level: body.data.level });
    if (!a) return json(404, { error: 'no such user' });
    deps.profileChanged(a);
    return json(200, { userId, level: a.level });
  }

  /** A game server reports a match once; the same report again is a no-op, another one for the same id a conflict. */
  async function reportResults(req: HttpRequest, matchId: string): Promise<HttpResponse> {
    const body = parseBody(req, MatchReportBody);
    if (!body.ok) return body.res;
    const r = await deps.matchResults.report(matchId, body.data);
    switch (r.status) {
      case 'conflict':
        return json(409, { error: `match ${matchId} has a stored result with a different report` });
      case 'unknownPlayers':
        return json(422, { error: 'some players have no account', issues: r.userIds.map((u) => ({ path: ['teams'], message: `unknown player ${u}` })) });
      default:
        return json(200, {
          matchId: r.matchId,
          replayed: r.status === 'replayed',
          reportedAt: r.reportedAt,
          players: r.players.map((p) => ({ userId: p.userId, teamIndex: p.teamIndex, rank: p.rank, ratingBefore: p.ratingBefore, ratingAfter: p.ratingAfter })),
        });
    }
  }

  async function admin(req: HttpRequest): Promise<HttpResponse> {
    if (req.method === 'GET' && req.path === '/admin/watch') return watch(req);
    if (req.method === 'GET' && req.path === '/admin/stats') {
      const { queues, inMatchmaking } = await deps.views.queueCounts();
      return json(200, {
        node: deps.nodeId,
        connections: deps.gateway.connectionCount,
        sessions: deps.gateway.sessions.size,
        gamesOwned: deps.games.owned().length,
        games: deps.games.gameCount,
        queues,
        inMatchmaking,
      });
    }
    if (req.method === 'POST' && req.path === '/admin/drain') {
      deps.drain();
      return json(202, { draining: true, node: deps.nodeId });
    }
    const ended = await endGameBy(req);
    if (ended) return ended;
    const routed = await adminRoutes(req);
    if (routed) return routed;
    if (req.method === 'POST' && req.path === '/admin/notice') {
      let body: unknown;
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return json(400, { error: 'body is not JSON' });
      }
      const parsed = NoticeBody.safeParse(body);
      if (!parsed.success) return json(400, { error: 'invalid body', issues: parsed.error.issues.map((i) => ({ path: i.path, message: i.message })) });
      const { text, userId } = parsed.data;
      if (userId) deps.gateway.toUsers([userId], 'server.notice', { text, at: Date.now() });
      else deps.gateway.toEveryone('server.notice', { text, at: Date.now() });
      return json(200, { delivered: true });
    }
    return json(404, { error: 'no such admin endpoint' });
  }

  /** Admin commands and bans, then the read side (viewRoutes.ts). */
  async function adminRoutes(req: HttpRequest): Promise<HttpResponse | undefined> {
    const { method, path: p } = req;
    if (method === 'GET' && p === '/admin/commands/kinds') return json(200, { kinds: describeKinds() });
    if (method === 'POST' && p === '/admin/commands') {
      const body = parseBody(req, CommandBody);
      if (!body.ok) return body.res;
      return commandOutcome(await deps.commands.issue(body.data));
    }
    if (method === 'GET' && p === '/admin/commands') {
      const q = parseQuery(req, ListQuery);
      if (!q.ok) return q.res;
      return json(200, { commands: await deps.commands.store.pending(q.data.userId, q.data.limit) });
    }
    const command = method === 'DELETE' ? commandPath.exec(p) : null;
    if (command) {
      const c = await deps.commands.cancel(decodePart(command[1]!));
      return c ? json(200, { cancelled: c }) : json(404, { error: 'no such pending command (it ran, expired or never was)' });
    }
    const ban = method === 'POST' ? userBan.exec(p) : null;
    if (ban) {
      const body = parseBody(req, BanBody);
      if (!body.ok) return body.res;
      return commandOutcome(await deps.commands.issue({ kind: 'ban', userId: decodePart(ban[1]!), args: body.data, mode: 'immediate' }));
    }
    return views(req);
  }

  function commandOutcome(r: Awaited<ReturnType<AdminCommands['issue']>>): HttpResponse {
    switch (r.status) {
      case 'ran':
        return json(200, r);
      case 'pending':
        return json(202, r);
      case 'refused':
        return r.code === 'USER_NOT_FOUND' ? json(404, { error: r.error, code: r.code }) : json(409, { error: r.error, code: r.code });
      case 'failed':
        return json(409, { error: r.error, code: r.code, id: r.id });
    }
  }
}

/** The operator console's page: its own HTML entry (built next to the lobby page's). */
const CONSOLE = /^\/console(?:\/.*)?$/;

function serveStatic(root: string, urlPath: string): HttpResponse {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath).replace(/^\/+/, '') || 'index.html';
  } catch {
    return json(400, { error: 'malformed path' });
  }
  const file = path.resolve(root, rel);
  // Never outside the web root, whatever the path says.
  if (!file.startsWith(path.resolve(root) + path.sep)) return json(404, { error: 'not found' });
  const fallback = path.join(root, CONSOLE.test(urlPath) ? 'console.html' : 'index.html');
  const target = existsSync(file) && statSync(file).isFile() ? file : fallback;
  if (!existsSync(target)) return json(404, { error: 'not found' });
  return { status: 200, headers: { 'content-type': MIME[path.extname(target)] ?? 'application/octet-stream' }, body: readFileSync(target) };
}
