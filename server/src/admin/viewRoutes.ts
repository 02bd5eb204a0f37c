import { z } from 'zod';
import type { Gateway } from '../gateway/gateway.js';
import type { GameService } from '../services/gameService.js';
import type { MatchmakingService } from '../services/matchmakingService.js';
import type { PartyService } from '../services/partyService.js';
import { profileOf } from '../services/profileService.js';
import type { Account, Accounts } from '../store/accounts.js';
import type { Friends } from '../store/friends.js';
import type { Mail } from '../store/mail.js';
import type { HttpRequest, HttpResponse } from '../transport/index.js';
import type { AdminCommands } from './commands.js';
import { decodePart, json, parseQuery } from './httpKit.js';
import { countsOf, deferredStates, type AdminViews } from './views.js';

/** The read side of the admin API (what the console shows), and draining a node. */
export interface ViewRouteDeps {
  nodeId: string;
  gateway: Gateway;
  games: GameService;
  parties: PartyService;
  matchmaking: MatchmakingService;
  accounts: Accounts;
  commands: AdminCommands;
  friends: Friends;
  mail: Mail;
  views: AdminViews;
}

const Text = z.string().trim().min(1).max(128);
const Limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);
const GamesQuery = z.object({ q: Text.optional(), gameType: Text.optional(), player: Text.optional(), limit: Limit(500, 100) });
/** `q`: an account id, or the start of a display name; `name`: a name only. */
const UsersQuery = z
  .object({ q: Text.optional(), name: z.string().trim().min(1).max(64).optional(), limit: Limit(100, 20) })
  .refine((u) => u.q !== undefined || u.name !== undefined, { message: 'give q (an id or a name) or name', path: ['q'] });
const AuditQuery = z.object({
  userId: z.string().min(1).max(128).optional(),
  kind: Text.optional(),
  event: z.enum(['ran', 'queued', 'refused', 'expired', 'cancelled']).optional(),
  mode: z.enum(['immediate', 'deferred']).optional(),
  actor: Text.optional(),
  limit: Limit(500, 100),
});

const gamePath = /^\/admin\/games\/([^/]{1,64})$/;
const userPath = /^\/admin\/users\/([^/]{1,384})$/;
const userCommands = /^\/admin\/users\/([^/]{1,384})\/commands$/;
const nodeDrain = /^\/admin\/nodes\/([^/]{1,128})\/drain$/;

export function createViewRoutes(deps: ViewRouteDeps): (req: HttpRequest) => Promise<HttpResponse | undefined> {
  const { views } = deps;
  return async (req) => {
    const { method, path: p } = req;
    if (method === 'POST') {
      const drain = nodeDrain.exec(p);
      if (!drain) return undefined;
      const node = decodePart(drain[1]!);
      return views.drainNode(node) ? json(202, { draining: true, node }) : json(404, { error: `no live node ${node}` });
    }
    if (method !== 'GET') return undefined;
    switch (p) {
      case '/admin/cluster':
        return json(200, await views.clusterView());
      case '/admin/metrics/summary':
        return json(200, { node: deps.nodeId, ...(await views.clusterMetrics()) });
      case '/admin/games': {
        const q = parseQuery(req, GamesQuery);
        return q.ok ? json(200, { node: deps.nodeId, games: await views.searchGames(q.data) }) : q.res;
      }
      case '/admin/queues': {
        const detail = await views.queues();
        return json(200, { node: deps.nodeId, ...countsOf(detail), detail });
      }
      case '/admin/audit': {
        const q = parseQuery(req, AuditQuery);
        if (!q.ok) return q.res;
        const { userId, limit, ...filter } = q.data;
        return json(200, { audit: await deps.commands.store.auditLog(userId, limit, filter) });
      }
      case '/admin/users': {
        const q = parseQuery(req, UsersQuery);
        if (!q.ok) return q.res;
        const byId = q.data.q ? await deps.accounts.get(q.data.q) : undefined;
        const ids = await deps.commands.store.findUserIds((q.data.q ?? q.data.name)!, q.data.limit);
        const found = (await Promise.all(ids.filter((id) => id !== byId?.id).map((id) => deps.accounts.get(id)))).filter((a): a is Account => !!a);
        const users = [...(byId ? [byId] : []), ...found].slice(0, q.data.limit);
        const elsewhere = await deps.gateway.locate(users.map((a) => a.id));
        return json(200, { users: users.map((a) => ({ ...adminProfile(a), online: deps.gateway.sessions.has(a.id) || elsewhere.has(a.id) })) });
      }
    }
    const game = gamePath.exec(p);
    if (game) {
      const view = await views.game(decodePart(game[1]!));
      return view ? json(200, view) : json(404, { error: 'no such game' });
    }
    const commands = userCommands.exec(p);
    if (commands) {
      const userId = decodePart(commands[1]!);
      if (!(await deps.accounts.get(userId))) return json(404, { error: 'no such user' });
      return json(200, { commands: deferredStates(await deps.commands.store.auditLog(userId, 500, { mode: 'deferred' })) });
    }
    const user = userPath.exec(p);
    if (user) {
      const a = await deps.accounts.get(decodePart(user[1]!));
      return a ? json(200, await userView(deps, a)) : json(404, { error: 'no such user' });
    }
    return undefined;
  };
}

/** What an operator sees of a player: the profile with sanctions, where their session is (any node), their game, party and ticket, and counts. */
async function userView(deps: ViewRouteDeps, a: Account) {
  const [session, friends, mail, party, g, ticket] = await Promise.all([
    deps.views.session(a.id),
    deps.friends.friendCount(a.id),
    deps.mail.count(a.id),
    deps.parties.partyAnywhere(a.id),
    deps.games.gameOf(a.id),
    deps.views.ticketOf(a.id),
  ]);
  const game = g ? { id: g.id, name: g.name, gameType: g.gameType, inProgress: g.inProgress, spectating: !g.players.some((pl) => pl.userId === a.id) } : null;
  return {
    profile: adminProfile(a),
    online: !!session,
    connected: !!session?.connected,
    node: session?.node ?? null,
    session,
    game,
    party: party ? { id: party.id, leaderId: party.leaderId, members: party.members.map((m) => ({ userId: m.userId, name: m.name })), queue: party.queue } : null,
    queue: ticket?.queue ?? null,
    ticket,
    counts: { friends, mail },
  };
}

function adminProfile(a: Account) {
  return { ...profileOf(a), bannedUntil: a.bannedUntil, banReason: a.banReason, chatBannedUntil: a.chatBannedUntil };
}
