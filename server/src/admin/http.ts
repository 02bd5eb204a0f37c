import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../transport/index.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GameService } from '../lobby/games.js';
import type { MatchService } from '../lobby/matchmaking.js';
import type { Metrics } from './metrics.js';

export interface HttpDeps {
  gateway: Gateway;
  games: GameService;
  matchmaking: MatchService;
  metrics: Metrics;
  adminToken: string | undefined;
  /** Bearer secret of game servers, for /v1/... */
  serverSecret: string | undefined;
  webRoot: string | undefined;
  ready(): boolean;
  nodeId: string;
}

const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const NoticeBody = z.object({ text: z.string().trim().min(1).max(2000), userId: z.string().min(1).max(128).optional() });

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

/** Health, metrics, the admin API and the lobby page, one handler for both transports. */
export function createHttpHandler(deps: HttpDeps): (req: HttpRequest) => Promise<HttpResponse> {
  const adminToken = deps.adminToken ? Buffer.from(deps.adminToken) : undefined;
  const serverSecret = deps.serverSecret ? Buffer.from(deps.serverSecret) : undefined;

  function bearer(req: HttpRequest, secret: Buffer): boolean {
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
    return given.length === secret.length && timingSafeEqual(given, secret);
  }
  const endGame = /^\/(?:admin|v1)\/games\/([^/]{1,64})\/end$/;

  return async (req) => {
    if (req.path === '/healthz') return json(200, { ok: true, node: deps.nodeId });
    if (req.path === '/readyz') return deps.ready() ? json(200, { ready: true }) : json(503, { ready: false });
    if (req.path === '/metrics') {
      deps.metrics.games.set(deps.games.gameCount);
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

  function endGameBy(req: HttpRequest): HttpResponse | undefined {
    const m = req.method === 'POST' ? endGame.exec(req.path) : null;
    if (!m) return undefined;
    return deps.games.end(m[1]!) ? json(200, { ended: true }) : json(404, { error: 'no such game' });
  }

  /** What game servers call: end a game they ran. */
  async function gameServer(req: HttpRequest): Promise<HttpResponse> {
    return endGameBy(req) ?? json(404, { error: 'no such endpoint' });
  }

  async function admin(req: HttpRequest): Promise<HttpResponse> {
    if (req.method === 'GET' && req.path === '/admin/stats') {
      const queues = deps.matchmaking.stats();
      return json(200, {
        node: deps.nodeId,
        connections: deps.gateway.connectionCount,
        sessions: deps.gateway.sessions.size,
        games: deps.games.gameCount,
        queues,
        inMatchmaking: Object.values(queues).reduce((a, b) => a + b, 0),
      });
    }
    const ended = endGameBy(req);
    if (ended) return ended;
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
      deps.gateway.deliver(userId ? { users: [userId] } : { everyone: true }, 'server.notice', { text, at: Date.now() });
      return json(200, { delivered: true });
    }
    return json(404, { error: 'no such admin endpoint' });
  }
}

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
  const target = existsSync(file) && statSync(file).isFile() ? file : path.join(root, 'index.html');
  if (!existsSync(target)) return json(404, { error: 'not found' });
  return { status: 200, headers: { 'content-type': MIME[path.extname(target)] ?? 'application/octet-stream' }, body: readFileSync(target) };
}
