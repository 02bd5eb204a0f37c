import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';
import type { Logger } from 'pino';
import { createHttpHandler } from './admin/http.js';
import { createMetrics } from './admin/metrics.js';
import { redactedConfig, type Config } from './config.js';
import { Gateway } from './gateway/gateway.js';
import { OpRegistry } from './gateway/registry.js';
import { Tokens } from './gateway/tokens.js';
import { registerChat } from './lobby/chat.js';
import { GameService } from './lobby/games.js';
import { MatchService } from './lobby/matchmaking.js';
import { PartyService } from './lobby/parties.js';
import { createLogger } from './log.js';
import { createTransport } from './transport/index.js';

export { loadConfig, type Config } from './config.js';

export interface LobbyNode {
  readonly nodeId: string;
  readonly port: number;
  readonly transport: 'uws' | 'ws';
  readonly gateway: Gateway;
  readonly games: GameService;
  readonly log: Logger;
  /** Graceful stop: no new connections, requests in flight finish, sockets close with 1001. */
  stop(): Promise<void>;
}

const BUILT_WEB = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Starts one lobby node: every part wired together and listening. */
export async function startNode(config: Config, options: { logDestination?: pino.DestinationStream } = {}): Promise<LobbyNode> {
  const nodeId = config.nodeId ?? `node-${randomBytes(3).toString('hex')}`;
  const log = createLogger(config.logLevel, nodeId, options.logDestination);
  const metrics = createMetrics();
  const tokens = new Tokens(config);
  if (tokens.ephemeral) log.warn('FOYER_TOKEN_SECRET is unset: tokens are signed with a random key and die with this process');
  const registry = new OpRegistry();
  const gateway = new Gateway({ config, log, metrics, tokens, registry });
  const games = new GameService({ config, log, gateway, registry });
  const known = new Set<string>();
  gateway.onSession({ started: (userId) => known.add(userId) });
  const parties = new PartyService({ config, log, gateway, registry, knownUser: (u) => known.has(u) });
  games.partyOf = (userId) => {
    const p = parties.partyOfUser(userId);
    return p && { leaderId: p.leaderId, members: p.members.map((m) => ({ userId: m.userId, name: m.name })) };
  };
  const matchmaking = new MatchService({ config, log, gateway, registry, metrics, games, parties });
  registerChat({ config, gateway, registry, rooms: { game: (u) => games.chatRoom(u), party: (u) => parties.chatRoom(u) } });

  const missing = registry.missing().filter((op) => !['auth.guest', 'auth.token', 'session.resume'].includes(op));
  if (missing.length) throw new Error(`no handler for ops: ${missing.join(', ')}`);

  let ready = false;
  const webRoot = config.webRoot ?? (existsSync(BUILT_WEB) ? BUILT_WEB : undefined);
  const transport = createTransport(
    config.transport,
    {
      host: config.host,
      port: config.port,
      maxFrameBytes: config.maxFrameBytes,
      maxBufferedBytes: config.maxBufferedBytes,
      maxHttpBodyBytes: 1024 * 1024,
      onConnection: gateway.onConnection,
      onHttp: createHttpHandler({ gateway, games, matchmaking, metrics, adminToken: config.adminToken, serverSecret: config.serverSecret, webRoot, nodeId, ready: () => ready }),
    },
    log,
  );
  const port = await transport.listen();
  ready = true;
  log.info({ port, transport: transport.name, config: redactedConfig(config) }, 'lobby node listening');

  let stopping: Promise<void> | undefined;
  return {
    nodeId,
    port,
    transport: transport.name,
    gateway,
    games,
    log,
    stop: () =>
      (stopping ??= (async () => {
        ready = false;
        transport.stopListening();
        matchmaking.stop();
        await gateway.shutdown();
        await transport.close();
        log.info('lobby node stopped');
      })()),
  };
}
