import { readFileSync } from 'node:fs';
import { QueueConfig } from '@foyer/shared';
import { z } from 'zod';

/**
 * Every setting of a node, in one table: the zod schema validates it, and
 * the same table names its env variable and flag and feeds the generated
 * configuration docs. A value comes from the flag, else the env variable,
 * else the default.
 */
interface Setting<S extends z.ZodType> {
  schema: S;
  env: string;
  doc: string;
  /** Never printed: logs and docs show it as set/unset only. */
  secret?: boolean;
}

function setting<S extends z.ZodType>(env: string, schema: S, doc: string, secret = false): Setting<S> {
  return { schema, env, doc, secret };
}

const ms = (def: number) => z.coerce.number().int().min(1).max(86_400_000).default(def);
const positive = (def: number, max = 1_000_000_000) => z.coerce.number().int().min(1).max(max).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const DEFAULT_QUEUES = [
  { name: 'duel', teams: 2, teamSize: 1 },
  { name: 'team', teams: 2, teamSize: 3 },
];

/** `host:port,host:port`: seed nodes of a Redis Cluster (any few of its nodes; the rest is discovered). */
const clusterNodes = optionalString.transform((raw, ctx) => {
  if (raw === undefined) return undefined;
  const nodes: { host: string; port: number }[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port (a comma-separated list of seed nodes, e.g. 10.0.0.1:6379,10.0.0.2:6379)` });
      return z.NEVER;
    }
    nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
});

/** Inline JSON or a file path; names must be unique. */
const queuesSchema = z
  .union([z.string(), z.array(z.unknown())])
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw === '') return DEFAULT_QUEUES;
    if (Array.isArray(raw)) return raw;
    try {
      return JSON.parse(raw.trimStart().startsWith('[') ? raw : readFileSync(raw, 'utf8')) as unknown;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a JSON array nor a readable JSON file: ${(err as Error).message}` });
      return z.NEVER;
    }
  })
  .pipe(z.array(QueueConfig).min(1))
  .refine((qs) => new Set(qs.map((q) => q.name)).size === qs.length, 'queue names must be unique');

export const settings = {
  port: setting('PORT', z.coerce.number().int().min(0).max(65535).default(8080), 'TCP port for WebSocket, HTTP API and the lobby page (0 picks a free one).'),
  host: setting('HOST', z.string().default('0.0.0.0'), 'Address to listen on.'),
  transport: setting('FOYER_TRANSPORT', z.enum(['uws', 'ws']).default('uws'), 'WebSocket implementation: `uws` (uWebSockets.js, fast) or `ws` (portable). `uws` falls back to `ws` with a log line when its native binding cannot load.'),
  logLevel: setting('LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'pino log level.'),
  nodeId: setting('FOYER_NODE_ID', optionalString, 'Name of this node in logs and the cluster; random when unset.'),

  tokenSecret: setting('FOYER_TOKEN_SECRET', optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()), 'HS256 secret for tokens this node issues. Every node of a cluster needs the same one. Unset: one is generated once and kept in FOYER_DATA_DIR (file `foyer-token-secret`, mode 0600, also when DATABASE_URL is set), so logins survive a restart; with FOYER_DATA_DIR `memory` (or a data folder that cannot be written) it is random per process and tokens die with it.', true),
  tokenTtlMs: setting('FOYER_TOKEN_TTL_MS', ms(24 * 3_600_000), 'Lifetime of tokens this node issues.'),
  externalJwtSecret: setting('FOYER_EXTERNAL_JWT_SECRET', optionalString, 'HS256 secret of an external issuer (a game\'s own account system) whose tokens auth.token accepts.', true),
  externalJwksFile: setting('FOYER_EXTERNAL_JWKS_FILE', optionalString, 'Path of a JWKS file with the public keys of an external issuer (RS256/ES256/EdDSA).'),
  externalIssuer: setting('FOYER_EXTERNAL_ISSUER', optionalString, 'Required `iss` of external tokens (recommended).'),
  externalAudience: setting('FOYER_EXTERNAL_AUDIENCE', optionalString, 'Required `aud` of external tokens.'),
  loginPolicy: setting('FOYER_LOGIN_POLICY', z.enum(['replace', 'refuse']).default('replace'), 'A second login of an account with a session anywhere in the cluster: `replace` closes the old connection (4001), `refuse` answers ALREADY_LOGGED_IN (and, while Redis is away, refuses a login it cannot check).'),

  authTimeoutMs: setting('FOYER_AUTH_TIMEOUT_MS', ms(10_000), 'A connection that has not logged in by then is closed (4007).'),
  heartbeatIntervalMs: setting('FOYER_HEARTBEAT_INTERVAL_MS', ms(15_000), 'How often the server pings each connection.'),
  heartbeatTimeoutMs: setting('FOYER_HEARTBEAT_TIMEOUT_MS', ms(45_000), 'A connection silent (no frame, no pong) for this long is closed: with `ws` by the node (4006); with `uws` by uWebSockets.js itself, without a close frame (the client sees 1006), within 8 s after the timeout (above 956 s, by the node as with `ws`).'),
  reconnectGraceMs: setting('FOYER_RECONNECT_GRACE_MS', ms(30_000), 'How long a session outlives its connection, waiting for session.resume.'),
  streamHistoryEvents: setting('FOYER_STREAM_HISTORY_EVENTS', positive(1000, 100_000), 'Latest events each stream keeps on a node for session.resume to replay. A stream quiet for FOYER_HEARTBEAT_TIMEOUT_MS (as the transport keeps it) plus FOYER_RECONNECT_GRACE_MS forgets them (within as long again): by then no client can resume from before its latest event.'),
  streamHistoryBytes: setting('FOYER_STREAM_HISTORY_BYTES', positive(256 * 1024), 'Bytes of latest events each stream keeps; older ones are dropped, and a resume from before them resyncs that stream (its snapshot).'),
  rateLimitPerSec: setting('FOYER_RATE_LIMIT_PER_SEC', positive(50, 100_000), 'Requests per second a session may send on average (token bucket refill).'),
  rateLimitBurst: setting('FOYER_RATE_LIMIT_BURST', positive(100, 100_000), 'Requests a session may send at once (token bucket size).'),
  rateLimitStrikes: setting('FOYER_RATE_LIMIT_STRIKES', positive(20, 100_000), 'RATE_LIMITED replies (recovering one per second) before the connection is closed (4002).'),
  maxFrameBytes: setting('FOYER_MAX_FRAME_BYTES', positive(64 * 1024, 16 * 1024 * 1024), 'Largest inbound frame; a larger one closes the connection (1009).'),
  maxBufferedBytes: setting('FOYER_MAX_BUFFERED_BYTES', positive(1024 * 1024), 'Bytes waiting to be sent to one slow client before it is disconnected (4003).'),
  requestTimeoutMs: setting('FOYER_REQUEST_TIMEOUT_MS', ms(10_000), 'A request still unanswered after this gets TIMEOUT.'),
  shutdownTimeoutMs: setting('FOYER_SHUTDOWN_TIMEOUT_MS', ms(10_000), 'On SIGINT/SIGTERM, how long to wait for requests in flight. The process exits at most 2 s later, whatever else is stuck.'),

  defaultTeamSize: setting('FOYER_DEFAULT_TEAM_SIZE', positive(4, 64), 'Players per team when a game does not set `teamSize`.'),
  maxSpectators: setting('FOYER_MAX_SPECTATORS', z.coerce.number().int().min(0).max(10_000).default(50), 'Spectators one game admits.'),
  confirmTimeoutMs: setting('FOYER_CONFIRM_TIMEOUT_MS', ms(120_000), 'After game.start, how long players have to confirm; the others are removed.'),
  gameMaxDurationMs: setting('FOYER_GAME_MAX_DURATION_MS', ms(4 * 3_600_000), 'A started game is ended after this long if the game server has not ended it.'),
  gameServerAddress: setting('FOYER_GAME_SERVER_ADDRESS', z.string().min(1).default('127.0.0.1:7777'), 'Game server address handed to players at game.start (a custom allocator can choose per game).'),
  chatPerSec: setting('FOYER_CHAT_PER_SEC', positive(3, 1000), 'Chat lines per second a user may send on average.'),
  chatBurst: setting('FOYER_CHAT_BURST', positive(10, 1000), 'Chat lines a user may send at once.'),
  serverSecret: setting('FOYER_SERVER_SECRET', optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()), 'Bearer secret game servers use for /v1/... (ending games, reporting results). Unset: those endpoints are off.', true),

  storageTimeoutMs: setting('FOYER_STORAGE_TIMEOUT_MS', ms(5000), 'A storage call not answered by then fails with STORAGE_UNAVAILABLE. After 3 such failures in a row, storage calls fail at once for 2 s, then one call tries again.'),
  databaseUrl: setting('DATABASE_URL', optionalString, 'postgres://… of the Postgres database. Unset: embedded PGlite in FOYER_DATA_DIR.', true),
  dataDir: setting('FOYER_DATA_DIR', z.string().default('.foyer-data'), 'Folder of the embedded PGlite database (when DATABASE_URL is unset) and of the generated token secret (when FOYER_TOKEN_SECRET is unset); `memory` keeps both in memory only.'),
  partyMaxSize: setting('FOYER_PARTY_MAX_SIZE', positive(5, 64), 'Party members plus pending invites.'),
  inviteTtlMs: setting('FOYER_INVITE_TTL_MS', ms(30_000), 'How long a party invite stays open (a repeat invite does not extend it).'),
  mmTickMs: setting('FOYER_MM_TICK_MS', ms(250), 'How often each queue tries to match its tickets.'),
  queues: setting('FOYER_QUEUES', queuesSchema, 'Matchmaking queues: a JSON array of queue definitions, or the path of a JSON file holding one (see QueueConfig in docs/configuration.md).'),
  project: setting('FOYER_PROJECT', z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, '1-32 letters, digits, `_`, `.` or `-`').default('foyer'), 'Project name: mail senders are named `<project>:<userId>`.'),
  mailInboxMax: setting('FOYER_MAIL_INBOX_MAX', positive(100, 100_000), 'Unacknowledged messages one user may hold; a send beyond that fails for them with INBOX_FULL.'),
  mailTtlMs: setting('FOYER_MAIL_TTL_MS', z.coerce.number().int().min(1).max(365 * 86_400_000).default(30 * 86_400_000), 'How long a message waits to be acknowledged; after that it is never listed or delivered, and a periodic purge deletes it.'),

  redisUrl: setting('REDIS_URL', optionalString, 'redis://… of the Redis server the nodes of a cluster share (classic pub/sub). Unset, and FOYER_REDIS_CLUSTER unset too: this node runs alone with the in-process bus.', true),
  redisCluster: setting('FOYER_REDIS_CLUSTER', clusterNodes, 'Seed nodes of a Redis Cluster the nodes of a cluster share instead of one Redis: `host:port,host:port` (a few of its nodes; the others are discovered). Keys are hash-tagged per entity and messages go through sharded pub/sub (Redis 7 or later). Set this or REDIS_URL, not both.'),
  redisPrefix: setting('FOYER_REDIS_PREFIX', z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).default('foyer'), 'Prefix of every Redis key and channel of this cluster (several clusters can share one Redis).'),
  nodeHeartbeatMs: setting('FOYER_NODE_HEARTBEAT_MS', ms(1000), 'How often a node polls the member set in Redis: it refreshes its own entry and learns, from a reply of a few bytes, whether the set changed.'),
  nodeTimeoutMs: setting('FOYER_NODE_TIMEOUT_MS', ms(3000), 'A node that has not polled the member set for this long is dead: its games, parties and queues are taken over (judged only by a node whose own polls have gone through for this long).'),
  clusterTimeoutMs: setting('FOYER_CLUSTER_TIMEOUT_MS', ms(2000), 'How long a node waits for another node to answer a routed command before NODE_UNAVAILABLE.'),
  drainTimeoutMs: setting('FOYER_DRAIN_TIMEOUT_MS', ms(60_000), 'A draining node waits this long for its started games to end, then exits anyway.'),
  drain: setting('FOYER_DRAIN', z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).default(false), 'SIGTERM drains the node (hand over, move clients, wait for games) instead of stopping it at once.'),
  adminToken: setting('FOYER_ADMIN_TOKEN', optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()), 'Bearer token for the admin HTTP API (/admin/...). Unset: the admin API is off.', true),
  webRoot: setting('FOYER_WEB_ROOT', optionalString, 'Folder served at / (the lobby page). Default: the built web/ page when present.'),
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: z.output<Settings[K] extends Setting<infer S> ? S : never> };

export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export class ConfigError extends Error {}

/**
 * Reads flags (`--port 9000` or `--port=9000`) and env into a validated
 * Config, or throws ConfigError naming every bad setting.
 */
export function loadConfig(argv: readonly string[] = [], env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) flags.set(arg, 'true');
      else (flags.set(arg, next), i++);
    }
  }
  const known = new Set(Object.keys(settings).map(flagName));
  for (const f of flags.keys()) if (!known.has(f)) throw new ConfigError(`unknown flag ${f} (known: ${[...known].join(', ')})`);

  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings) as [string, Setting<z.ZodType>][]) {
    // An empty variable (`PORT=`) counts as unset, not as 0 or "".
    const given = flags.get(flagName(key)) ?? env[s.env];
    const raw = key in overrides ? (overrides as Record<string, unknown>)[key] : given === '' ? undefined : given;
    const r = s.schema.safeParse(raw);
    if (r.success) out[key] = r.data;
    else {
      const why = r.error.issues.map((i) => (i.path.length ? `${issuePath(i.path)}: ` : '') + i.message).join('; ');
      problems.push(`${s.env} / ${flagName(key)}: ${why}${s.secret ? '' : ` (got ${JSON.stringify(raw)})`}`);
    }
  }
  if (problems.length) throw new ConfigError('invalid configuration:\n  ' + problems.join('\n  '));
  const config = out as Config;
  if (config.redisUrl && config.redisCluster) {
    throw new ConfigError('invalid configuration:\n  REDIS_URL and FOYER_REDIS_CLUSTER are both set: one Redis, or a Redis Cluster, not both');
  }
  if (config.heartbeatTimeoutMs <= config.heartbeatIntervalMs) {
    throw new ConfigError('invalid configuration:\n  FOYER_HEARTBEAT_TIMEOUT_MS must be greater than FOYER_HEARTBEAT_INTERVAL_MS');
  }
  return config;
}

/** Where in a setting's value an issue is: `[0].rating` (the first queue's rating). */
function issuePath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : (i ? '.' : '') + String(p))).join('');
}

/** The config as it may be logged: secrets shown only as set or unset. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting<z.ZodType>][]) {
    const v = (config as Record<string, unknown>)[key];
    out[key] = s.secret ? (v === undefined ? 'unset' : 'set') : v;
  }
  return out;
}

/** Rows for the generated configuration table: env, flag, default, description. */
export function settingsTable(): { key: string; env: string; flag: string; default: string; doc: string }[] {
  return (Object.entries(settings) as [string, Setting<z.ZodType>][]).map(([key, s]) => {
    const d = s.schema.safeParse(undefined);
    const shown = !d.success || d.data === undefined ? '' : typeof d.data === 'object' ? JSON.stringify(d.data) : String(d.data);
    return { key, env: s.env, flag: flagName(key), default: shown, doc: s.doc };
  });
}
