import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';
import type { Logger } from 'pino';
import { AdminCommands } from './admin/commands.js';
import { createHttpHandler } from './admin/http.js';
import { createMetrics, registerBusMetrics, registerClusterMetrics } from './admin/metrics.js';
import { AdminViews } from './admin/views.js';
import { LocalBus, type Bus } from './cluster/bus.js';
import { Cluster } from './cluster/cluster.js';
import { RedisBus } from './cluster/redisBus.js';
import type { ThrottleStore } from './gateway/rateLimit.js';
import { redactedConfig, type Config } from './config.js';
import { Gateway } from './gateway/gateway.js';
import { loginOps } from './gateway/login.js';
import { OpRegistry } from './gateway/registry.js';
import { Tokens } from './gateway/tokens.js';
import { registerChatOps } from './api/chatOps.js';
import { registerFriendOps } from './api/friendOps.js';
import { registerGameOps } from './api/gameOps.js';
import { Standings } from './services/standings.js';
import { registerMailOps } from './api/mailOps.js';
import { registerMatchmakingOps } from './api/matchmakingOps.js';
import { registerPartyOps } from './api/partyOps.js';
import { registerProfileOps } from './api/profileOps.js';
import { ChatService } from './services/chatService.js';
import { FriendService } from './services/friendService.js';
import { GameService } from './services/gameService.js';
import { MailService } from './services/mailService.js';
import { MatchResultService } from './services/matchResultService.js';
import { MatchmakingService } from './services/matchmakingService.js';
import { PartyService } from './services/partyService.js';
import { ProfileService, profileOf } from './services/profileService.js';
import { createLogger } from './log.js';
import { Accounts } from './store/accounts.js';
import { openDb } from './store/db.js';
import { Friends } from './store/friends.js';
import { Mail } from './store/mail.js';
import { Matches } from './store/matches.js';
import { migrate } from './store/migrations.js';
import { resolveTokenSecret } from './tokenSecret.js';
import { createTransport } from './transport/index.js';

export { loadConfig, type Config } from './config.js';

export interface LobbyNode {
  readonly nodeId: string;
  readonly port: number;
  readonly transport: 'uws' | 'ws';
  readonly gateway: Gateway;
  readonly games: GameService;
  readonly cluster: Cluster;
  readonly log: Logger;
  /** Graceful stop: no new connections, requests in flight finish, sockets close with 1001. */
  stop(): Promise<void>;
  /**
   * Wait-stop: no new games, joins or tickets; idle games, parties and
   * queues go to other nodes; clients are told to reconnect elsewhere;
   * started games may end until the drain deadline (then they move too);
   * then the node stops.
   */
  drain(): Promise<void>;
}

export interface StartOptions {
  logDestination?: pino.DestinationStream;
  /** Called once a drain (from the admin API) has stopped the node: the process exits there. */
  onDrained?: () => void;
}

const BUILT_WEB = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Starts one lobby node: every part wired together and listening. */
export async function startNode(config: Config, options: StartOptions = {}): Promise<LobbyNode> {
  const nodeId = config.nodeId ?? `node-${randomBytes(3).toString('hex')}`;
  const log = createLogger(config.logLevel, nodeId, options.logDestination);
  const metrics = createMetrics();
  const tokenSecret = await resolveTokenSecret(config);
  if (tokenSecret.source === 'file') log.info({ file: tokenSecret.file }, 'FOYER_TOKEN_SECRET is unset: tokens are signed with the secret kept in the data folder');
  else if (tokenSecret.source === 'process') log.warn(`${tokenSecret.problem ?? 'FOYER_TOKEN_SECRET is unset and the data folder is memory'}: tokens are signed with a random key and die with this process`);
  const tokens = new Tokens({ ...config, tokenSecret: tokenSecret.secret });
  const registry = new OpRegistry();
  const unlimited = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir === 'memory' ? undefined : config.dataDir });
  const applied = await migrate(unlimited);
  if (applied.length) log.info({ applied, storage: unlimited.kind }, 'database migrated');
  const db = unlimited.limited(config.storageTimeoutMs);
  const accounts = new Accounts(db);
  let bus: Bus;
  let throttleStore: ThrottleStore | undefined;
  if (config.redisUrl || config.redisCluster) {
    const redis = new RedisBus(config.redisCluster ? { cluster: config.redisCluster } : { url: config.redisUrl! }, log, `${config.redisPrefix}:${nodeId}`);
    void redis.connect(); // retries until Redis answers; the node is not ready until then
    registerBusMetrics(metrics.registry, redis.traffic);
    bus = redis;
    throttleStore = redis.client;
  } else bus = new LocalBus();
  const cluster = new Cluster(bus, { nodeId, prefix: config.redisPrefix, heartbeatMs: config.nodeHeartbeatMs, timeoutMs: config.nodeTimeoutMs, callTimeoutMs: config.clusterTimeoutMs }, log);
  registerClusterMetrics(metrics.registry, cluster.received);
  const gateway = new Gateway({ config, log, metrics, tokens, registry, accounts, cluster, ...(throttleStore && { throttleStore }) });
  const profiles = new ProfileService(accounts, tokens);
  const friendStore = new Friends(db);
  const friends = new FriendService({ log, gateway, store: friendStore });
  const standings = new Standings({ accounts, gateway, cluster });
  const standingOf = (userId: string) => standings.of(userId);
  const games = new GameService({ config, log, gateway, cluster, isFriend: (ownerId, userId) => friends.isFriend(ownerId, userId), standingOf });
  // A user on another node has no block list loaded here: storage answers for them.
  const blocks = async (u: string, other: string) => friends.blocks(u, other) || (!gateway.sessions.has(u) && (await friendStore.isBlocked(u, other)));
  const parties = new PartyService({ config, log, gateway, cluster, knownUser: async (u) => !!(await accounts.get(u)), blocks });
  games.partyOf = (userId) => {
    const p = parties.partyOfUser(userId);
    return p && { leaderId: p.leaderId, members: p.members.map((m) => ({ userId: m.userId, name: m.name })) };
  };
  const matchmaking = new MatchmakingService({ config, log, gateway, metrics, games, parties, cluster, standingOf });
  // Presence follows games and queues.
  friends.whereabouts = {
    inGame: (u) => !!games.chatRoom(u) || games.inGameElsewhere(u),
    inQueue: (u) => matchmaking.inQueue(u),
    lookUp: async (users) => void (await Promise.all([games.lookUp(users), matchmaking.lookUp(users)])),
  };
  games.onWhereChanged = (u) => friends.touched(u);
  matchmaking.onQueueChanged = (users) => users.forEach((u) => friends.touched(u));
  const chat = new ChatService({ config, gateway, rooms: { game: (u) => games.chatRoom(u), party: (u) => parties.chatRoom(u) }, chatBannedUntil: (u) => commands.chatBans.until(u) });
  profiles.changed = (a) => {
    standings.changed(a);
    friends.profileChanged(profileOf(a));
  };
  const ratingChanged = (userId: string) =>
    void accounts.get(userId).then(
      (a) => a && profiles.changed(a),
      (err: unknown) => log.warn({ err, userId }, 'could not tell friends of a rating change'),
    );
  const matchResults = new MatchResultService({ gateway, matches: new Matches(db), accounts, ratingChanged });
  const mailStore = new Mail(db, { inboxMax: config.mailInboxMax, ttlMs: config.mailTtlMs });
  const mail = new MailService({ config, log, gateway, cluster, mail: mailStore });
  // The user stream's snapshot: what a session shows of the user's own state; unacknowledged mail follows it.
  gateway.snapshotter('user', async (s) => {
    // At once, as the snapshot's offset is taken: mail published after it is replayed, so the push must skip it.
    mail.resynced(s.userId);
    // A session that just moved here may hold invites to parties held elsewhere: read before they are shown.
    const [list] = await Promise.all([friends.list(s.userId), parties.arrival(s.userId)]);
    return { ev: 'user.snapshot', data: { friends: list, invites: parties.invitesOf(s.userId), ticket: await matchmaking.currentOrNull(s.userId) } };
  });
  registerProfileOps(registry, profiles, matchResults);
  registerFriendOps(registry, friends);
  registerGameOps(registry, games);
  registerPartyOps(registry, parties);
  registerMatchmakingOps(registry, matchmaking);
  registerChatOps(registry, chat);
  registerMailOps(registry, mail);
  // A block either way refuses mail: the sender's own blocks from its loaded list, the recipient's (maybe offline) from storage.
  mail.blocked = async (sender, recipient) => friends.blocks(sender, recipient) || (await friendStore.isBlocked(recipient, sender));
  // Operator commands (admin API); operator mail goes out through the mail service.
  const commands = new AdminCommands({
    db,
    config,
    gateway,
    log,
    deliverMail: (u, m) => mail.deliver(u, m),
    ranFor: (u) => standings.reload(u).then(() => undefined, (err: unknown) => log.warn({ err, userId: u }, 'reloading the standing after an admin command failed')),
    forward: async (req, actor) => {
      const node = await gateway.nodeOf(req.userId);
      return node === undefined ? undefined : cluster.call(node, 'admin.issue', { req, actor });
    },
  });
  cluster.handle<{ req: Parameters<AdminCommands['issue']>[0]; actor: string }>('admin.issue', ({ req, actor }) => commands.issue(req, actor));

  const missing = registry.missing().filter((op) => !(loginOps as readonly string[]).includes(op));
  if (missing.length) throw new Error(`no handler for ops: ${missing.join(', ')}`);

  let listening = false;
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      log.info('draining: no new games, joins or tickets; handing over and moving clients');
      cluster.startDraining();
      await parties.handOver();
      await matchmaking.handOver();
      await games.handOver(false);
      gateway.drain();
      const deadline = Date.now() + config.drainTimeoutMs;
      while (Date.now() < deadline && games.owned().some((id) => games.all.get(id)?.inProgress)) await new Promise((r) => setTimeout(r, 200));
      await games.handOver(true);
      await node.stop();
      log.info('drained');
    })());
  const startDrain = () => void drain().then(options.onDrained, (err: unknown) => log.error({ err }, 'drain failed'));
  let boundPort = config.port;
  // Ready once every matchmaking queue has had an owner (mm.join works right after the first 200). Not
  // withdrawn when an owner dies later: every node would go unready together until the takeover.
  let queuesOwned = false;
  const ready = () => listening && cluster.ready && (queuesOwned ||= matchmaking.queuesOwned);
  const views = new AdminViews({ nodeId, address: () => `${config.host}:${boundPort}`, ready, drain: startDrain, cluster, gateway, games, parties, matchmaking, metrics });
  const webRoot = config.webRoot ?? (existsSync(BUILT_WEB) ? BUILT_WEB : undefined);
  const transport = createTransport(
    config.transport,
    {
      host: config.host,
      port: config.port,
      maxFrameBytes: config.maxFrameBytes,
      maxBufferedBytes: config.maxBufferedBytes,
      maxHttpBodyBytes: 1024 * 1024,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      onConnection: gateway.onConnection,
      onHttp: createHttpHandler({
        gateway,
        games,
        matchmaking,
        metrics,
        adminToken: config.adminToken,
        serverSecret: config.serverSecret,
        webRoot,
        nodeId,
        ready,
        drain: startDrain,
        accounts,
        parties,
        commands,
        matchResults,
        friends: friendStore,
        mail: mailStore,
        views,
        profileChanged: (a) => profiles.changed(a),
      }),
    },
    log,
  );
  gateway.useTransport(transport);
  /** Everything started above, stopped in order. */
  const stopParts = async () => {
    listening = false;
    transport.stopListening();
    views.stop();
    matchmaking.stop();
    games.stop();
    parties.stop();
    await gateway.shutdown();
    await cluster.stop();
    await transport.close();
    await mail.stop();
    await commands.idle();
    await db.close();
  };
  await cluster.start();
  matchmaking.start();
  let port: number;
  try {
    port = boundPort = await transport.listen();
  } catch (err) {
    await stopParts();
    throw err;
  }
  listening = true;
  log.info({ port, transport: transport.name, cluster: config.redisUrl || config.redisCluster ? config.redisPrefix : 'alone', config: redactedConfig(config) }, 'lobby node listening');

  let stopping: Promise<void> | undefined;
  const node: LobbyNode = {
    nodeId,
    port,
    transport: transport.name,
    gateway,
    games,
    cluster,
    log,
    drain,
    stop: () =>
      (stopping ??= (async () => {
        await stopParts();
        log.info('lobby node stopped');
      })()),
  };
  return node;
}
