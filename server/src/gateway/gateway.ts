import {
  CloseCode,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  Request,
  RequestId,
  isOpName,
  isRequest,
  jsonCodec,
  ops,
  type ErrorBody,
  type EventData,
  type EventName,
  type Issue,
  type OpName,
  type OpParsed,
  type OpResult,
} from '@foyer/shared';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { Metrics } from '../admin/metrics.js';
import type { Cluster } from '../cluster/cluster.js';
import { LobbyError } from '../errors.js';
import type { Conn, ConnHandlers, UpgradeInfo } from '../transport/index.js';
import { assertNotBanned, type Account, type Accounts } from '../store/accounts.js';
import { FailureThrottle, TokenBucket } from './rateLimit.js';
import type { OpRegistry, RequestContext } from './registry.js';
import { Session, type SessionLink } from './session.js';
import type { Identity, Tokens } from './tokens.js';

/**
 * What the lobby hears about sessions: a connection was lost (the grace period
 * starts), the session came back within it, or it ended for good.
 */
export interface SessionListener {
  started?(userId: string): void;
  lost?(userId: string): void;
  back?(userId: string): void;
  ended?(userId: string): void;
  /** A login that was not a resume took the session over: it starts afresh (resync), without what belonged to the old one (list subscriptions). */
  restarted?(userId: string): void;
  /** The session went on on another node: forget what this node kept for it, but the user is still here. */
  moved?(userId: string): void;
}

/** Who receives an event: some users, or every session on the node. */
export type Audience = { users: readonly string[] } | { everyone: true };

export interface GatewayDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  tokens: Tokens;
  registry: OpRegistry;
  accounts: Accounts;
  cluster: Cluster;
}

/** The ops that log a connection in; they need the connection, not a session. */
type LoginOp = 'auth.guest' | 'auth.register' | 'auth.login' | 'auth.token' | 'session.resume';
type LoginHandler<O extends LoginOp> = (data: OpParsed<O>, c: Connection, after: (fn: () => void) => void) => Promise<OpResult<O>>;

/**
 * How often the gateway looks for connections due a ping (at most; at least 10
 * times per interval). Small slices keep each burst of pings, and of the pongs
 * that come back, to a few dozen sockets at 10,000 connections.
 */
const HEARTBEAT_TICK_MS = 100;

/**
 * Sessions and their connections: protocol version check, login, resume,
 * heartbeat, rate limit, dispatch of every frame to exactly one reply, and
 * delivery of events to the sessions this node holds.
 */
export class Gateway {
  readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  private draining = false;
  private readonly listeners: SessionListener[] = [];
  private readonly loginOps: { [O in LoginOp]: LoginHandler<O> };
  /** Failed logins: 10 at once per name, then one per 6 s; 50 per address (many players can share one). */
  private readonly nameFailures = new FailureThrottle(10, 6000);
  private readonly addressFailures = new FailureThrottle(50, 1200);
  /** Sessions on the other nodes of the cluster: userId → node and name. */
  private readonly elsewhere = new Map<string, { node: string; name: string }>();

  constructor(readonly deps: GatewayDeps) {
    const { config, tokens, registry } = deps;
    // Each connection is pinged once per interval at its own offset: pinging
    // every socket in one sweep stalls the node for a moment at 10,000 connections.
    this.heartbeat = setInterval(() => this.sweep(), Math.max(10, Math.min(HEARTBEAT_TICK_MS, Math.floor(config.heartbeatIntervalMs / 10))));
    this.heartbeat.unref();

    const { accounts } = deps;
    /** Logs the connection in as this account, with a fresh token. */
    const enter = async (c: Connection, a: Account, after: (fn: () => void) => void) => {
      assertNotBanned(a);
      const issued = await tokens.issue(a.id, a.name);
      const moved = await this.claim(a.id, false);
      after(this.login(c, { userId: a.id, name: a.name, expiresAt: issued.expiresAt, external: false }, undefined, moved).goLive);
      return { userId: a.id, name: a.name, ...issued };
    };
    this.loginOps = {
      'auth.guest': async (data, c, after) => {
        if (data.deviceSecret === undefined) {
          const { account, deviceSecret } = await accounts.createGuest(data.name);
          return { ...(await enter(c, account, after)), deviceSecret };
        }
        this.throttle(c.conn.ip);
        const account = await accounts.guestByDevice(data.deviceSecret);
        if (!account) {
          this.addressFailures.failed([c.conn.ip], Date.now());
          throw new LobbyError('WRONG_CREDENTIALS', 'unknown device secret');
        }
        return enter(c, account, after);
      },
      'auth.register': async (data, c, after) => enter(c, await accounts.register(data.name, data.password), after),
      'auth.login': async (data, c, after) => {
        const name = data.name.toLowerCase();
        this.throttle(c.conn.ip, name);
        const account = await accounts.login(data.name, data.password);
        if (!account) {
          this.addressFailures.failed([c.conn.ip], Date.now());
          this.nameFailures.failed([name], Date.now());
          throw new LobbyError('WRONG_CREDENTIALS', 'wrong name or password');
        }
        return enter(c, account, after);
      },
      'auth.token': async (data, c, after) => {
        const id = await this.identify(data.token);
        const moved = await this.claim(id.userId, false);
        after(this.login(c, id, undefined, moved).goLive);
        return { userId: id.userId, name: id.name, expiresAt: id.expiresAt };
      },
      'session.resume': async (data, c, after) => {
        // A session still on this node needs no storage: resuming works while the database is down.
        const verified = await tokens.verify(data.token);
        const id = !verified.external && this.sessions.has(verified.userId) ? verified : await this.identify(data.token);
        const moved = await this.claim(id.userId, true);
        const { resumed, goLive } = this.login(c, id, data.lastSeq, moved);
        after(goLive);
        return { userId: id.userId, name: id.name, expiresAt: id.expiresAt, resumed, seq: c.session!.seq };
      },
    };

    registry.register('auth.refresh', async (_data, ctx) => {
      const issued = await tokens.issue(ctx.session.userId, ctx.session.name);
      (ctx.session.link as Connection | undefined)?.armExpiry(issued.expiresAt);
      return { userId: ctx.session.userId, name: ctx.session.name, ...issued };
    });
    this.joinCluster(deps.cluster);
    // No object spread here: on Node 20 spreading a parsed object promotes garbage to the old generation, a cost per request at 10,000/s.
    registry.register('session.ping', (data, ctx) => (data.t === undefined ? { serverTime: ctx.now } : { t: data.t, serverTime: ctx.now }));
  }

  onSession(listener: SessionListener): void {
    this.listeners.push(listener);
  }

  private notify(kind: keyof SessionListener, userId: string): void {
    for (const l of this.listeners) {
      try {
        l[kind]?.(userId);
      } catch (err) {
        this.deps.log.error({ err, userId, kind }, 'session listener failed');
      }
    }
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  onConnection = (conn: Conn, info: UpgradeInfo): ConnHandlers => {
    const c = new Connection(this, conn);
    this.connections.add(c);
    this.deps.metrics.connections.inc();

    const v = Number(info.query.get('v'));
    if (!Number.isInteger(v) || v < MIN_PROTOCOL_VERSION || v > PROTOCOL_VERSION) {
      const got = info.query.get('v') === null ? 'no version (add ?v=N to the URL)' : `version ${info.query.get('v')}`;
      c.closeWith(CloseCode.PROTOCOL_VERSION, `client sent ${got}; server speaks ${MIN_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`.slice(0, 120));
    } else if (this.closing) {
      c.closeWith(1001, 'server shutting down');
    } else if (this.draining) {
      c.closeWith(CloseCode.DRAINING, 'node is draining; reconnect to another node');
    } else {
      const token = info.query.get('token');
      // Queued first, so frames that arrive while the token is checked wait for it.
      if (token) c.enqueue(() => this.urlLogin(c, token));
    }
    return c;
  };

  /** The transport closed the connection's socket. */
  socketClosed(c: Connection): void {
    this.connections.delete(c);
    this.deps.metrics.connections.dec();
    c.detach();
  }

  /** The other node holding the user's session, if one does. */
  nodeOf(userId: string): string | undefined {
    return this.sessions.has(userId) ? undefined : this.elsewhere.get(userId)?.node;
  }

  /** Whether the user has a session on this node or another; its display name. */
  online(userId: string): { name: string } | undefined {
    return this.sessions.get(userId) ?? this.elsewhere.get(userId);
  }

  /** Sends one event to its audience wherever their sessions are: here, and through the cluster to the nodes holding the others. */
  deliver<E extends EventName>(audience: Audience, ev: E, data: EventData<E>): void {
    this.deliverHere(audience, ev, data);
    const { cluster } = this.deps;
    if ('everyone' in audience) return cluster.cast('deliver', { ev, data });
    if (!this.elsewhere.size) return;
    const byNode = new Map<string, string[]>();
    for (const userId of audience.users) {
      const e = this.elsewhere.get(userId);
      if (!e || this.sessions.has(userId)) continue;
      const list = byNode.get(e.node);
      if (list) list.push(userId);
      else byNode.set(e.node, [userId]);
    }
    for (const [node, users] of byNode) cluster.tell(node, 'deliver', { users, ev, data });
  }

  /** Sends one event to its audience's sessions on this node, encoding the data once. */
  deliverHere<E extends EventName>(audience: Audience, ev: E, data: EventData<E>): void {
    this.deliverEncoded(audience, ev, JSON.stringify(data));
  }

  /**
   * As deliverHere, with the data already encoded (JSON of EventData<E>): a
   * fan-out whose recipients differ only in one field encodes the rest once.
   */
  deliverEncoded(audience: Audience, ev: EventName, encoded: string): void {
    let n = 0;
    if ('everyone' in audience) {
      for (const s of this.sessions.values()) (s.push(ev, encoded), n++);
    } else {
      for (const userId of audience.users) {
        const s = this.sessions.get(userId);
        if (s) (s.push(ev, encoded), n++);
      }
    }
    this.deps.metrics.events.inc(n);
  }

  /**
   * Runs `task` in the user's serialized processing on this node: queued
   * behind the requests their connection is handling, so it never interleaves
   * with them (at once when the session has no connection, in its grace
   * period). Undefined when the user has no session here.
   */
  runAsUser<T>(userId: string, task: () => Promise<T>): Promise<T> | undefined {
    const s = this.sessions.get(userId);
    if (!s) return undefined;
    const c = s.link as Connection | undefined;
    if (!c) return task();
    return new Promise<T>((resolve, reject) => c.enqueue(() => task().then(resolve, reject)));
  }

  /**
   * An operator removes the user from this node: the connection closes with
   * `code` and the session ends at once (no grace period, nothing to resume).
   * False when the user has no session here.
   */
  endSession(userId: string, code: number, reason: string): boolean {
    const s = this.sessions.get(userId);
    if (!s) {
      const e = this.elsewhere.get(userId);
      if (e) this.deps.cluster.tell(e.node, 'session.end', { userId, code, reason });
      return !!e;
    }
    (s.link as Connection | undefined)?.closeWith(code, reason);
    this.drop(s, 'ended');
    return true;
  }

  /** The session leaves this node: for good (`ended`), or to go on on another node (`moved`). */
  private drop(s: Session, how: 'ended' | 'moved'): void {
    clearTimeout(s.graceTimer);
    if (this.sessions.get(s.userId) !== s) return;
    this.sessions.delete(s.userId);
    this.deps.metrics.sessions.set(this.sessions.size);
    if (how === 'ended') {
      this.deps.cluster.releaseLogin(s.userId);
      this.deps.cluster.cast('session.down', { userId: s.userId });
    }
    this.notify(how, s.userId);
  }

  /**
   * Makes this node the holder of the user's session in the cluster. True
   * when another node held it: that node let go of it (closing its
   * connection, if any, with REPLACED), and the session goes on here.
   */
  private async claim(userId: string, resuming: boolean): Promise<boolean> {
    const { cluster, config } = this.deps;
    if (this.closing) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    const refuse = !resuming && config.loginPolicy === 'refuse';
    return cluster.claimLogin(userId, async (previous) => {
      try {
        return (await cluster.call<{ had: boolean }>(previous, 'session.move', { userId, refuse, resuming })).had;
      } catch (err) {
        if (err instanceof LobbyError && err.code === 'ALREADY_LOGGED_IN') throw err;
        this.deps.log.warn({ userId, previous, err: (err as Error).message }, 'the node that held the session did not let go; going on here');
        return false;
      }
    });
  }

  private joinCluster(cluster: Cluster): void {
    cluster.handle<{ userId: string; refuse: boolean; resuming: boolean }>('session.move', ({ userId, refuse, resuming }, from) => {
      const s = this.sessions.get(userId);
      if (s?.link && refuse) throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another node');
      // Recorded even without a session here: a dead node's session this node is about to adopt went on there.
      this.elsewhere.set(userId, { node: from, name: s?.name ?? this.elsewhere.get(userId)?.name ?? '' });
      if (!s) return { had: false };
      (s.link as Connection | undefined)?.evict(CloseCode.REPLACED, resuming ? 'session resumed on another connection' : 'logged in elsewhere');
      this.drop(s, 'moved');
      return { had: true };
    });
    cluster.onCast<{ userId: string; name: string }>('session.up', ({ userId, name }, from) => {
      const s = this.sessions.get(userId);
      if (s?.link) return;
      // A session here without a connection (in its grace period, or adopted from a dead node) went on there.
      if (s) this.drop(s, 'moved');
      this.elsewhere.set(userId, { node: from, name });
    });
    cluster.onCast<{ userId: string }>('session.down', ({ userId }, from) => {
      if (this.elsewhere.get(userId)?.node === from) this.elsewhere.delete(userId);
    });
    cluster.onCast<{ userId: string; code: number; reason: string }>('session.end', ({ userId, code, reason }) => void this.endSession(userId, code, reason));
    cluster.onCast<{ users?: string[]; ev: EventName; data: never }>('deliver', ({ users, ev, data }) => this.deliverHere(users ? { users } : { everyone: true }, ev, data));
    cluster.syncable('sessions', {
      export: () => [...this.sessions.values()].map((s) => ({ userId: s.userId, name: s.name })),
      import: (from, data) => {
        for (const [userId, e] of [...this.elsewhere]) if (e.node === from) this.elsewhere.delete(userId);
        for (const { userId, name } of (data ?? []) as { userId: string; name: string }[]) if (!this.sessions.has(userId)) this.elsewhere.set(userId, { node: from, name });
      },
    });
    // The sessions of a dead node wait out their grace period on a successor, as if their connections had just dropped.
    // (Unless the user logged in again elsewhere first: the login record says where the session is.)
    cluster.onNodeDown((dead) => {
      for (const [userId, e] of [...this.elsewhere]) {
        if (e.node !== dead) continue;
        this.elsewhere.delete(userId);
        if (this.sessions.has(userId) || cluster.successor(`user:${userId}`) !== cluster.nodeId) continue;
        void cluster.takeLogin(userId, dead).then((taken) => {
          if (!taken || this.sessions.has(userId) || this.elsewhere.has(userId)) return;
          const s = new Session(userId, e.name, { events: this.deps.config.resumeBufferEvents, bytes: this.deps.config.resumeBufferBytes });
          s.adopted = true;
          this.sessions.set(userId, s);
          this.deps.metrics.sessions.set(this.sessions.size);
          cluster.cast('session.up', { userId, name: e.name });
          this.sessionLost(s);
        });
      }
    });
  }

  /**
   * Draining: every client is told to reconnect elsewhere (4004) and new
   * connections are turned away; the sessions wait out their grace period
   * here until they resume on another node.
   */
  drain(): void {
    this.draining = true;
    for (const c of [...this.connections]) c.closeWith(CloseCode.DRAINING, 'node is draining; reconnect to another node');
  }

  /** Stops taking requests, lets those in flight finish (bounded), then closes every connection. */
  async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, this.deps.config.shutdownTimeoutMs)));
    await Promise.race([Promise.all([...this.connections].map((c) => c.idle())), deadline]);
    clearTimeout(timer);
    for (const c of [...this.connections]) c.closeWith(1001, 'server shutting down');
    for (const s of this.sessions.values()) clearTimeout(s.graceTimer);
  }

  /** Checked before the password, so a throttled guesser learns nothing, even with the right one. */
  private throttle(address: string, name?: string): void {
    const now = Date.now();
    if (!this.addressFailures.allowed([address], now) || (name !== undefined && !this.nameFailures.allowed([name], now))) {
      throw new LobbyError('LOGIN_THROTTLED', 'too many failed logins; wait a minute');
    }
  }

  /**
   * A token's identity as an account: ours must belong to an account that is
   * not banned; an external subject is linked to its own account.
   */
  private async identify(token: string): Promise<Identity> {
    const id = await this.deps.tokens.verify(token);
    const account = id.external ? await this.deps.accounts.external(id.userId, id.name) : await this.deps.accounts.get(id.userId);
    if (!account) throw new LobbyError('TOKEN_INVALID', 'the account of this token does not exist');
    assertNotBanned(account);
    return { ...id, userId: account.id, name: id.external ? account.name : id.name };
  }

  /**
   * Binds a verified identity to the connection, taking over or replacing any
   * session of that user. Events reach the connection only from `goLive`, run
   * once the login reply is out: the client sees the reply first, then what it
   * missed, then live events, with no gap and no overtaking.
   */
  private login(c: Connection, id: Identity, resumeFrom?: number, moved = false): { resumed: boolean; goLive: () => void } {
    if (this.closing) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    const { config } = this.deps;
    let s = this.sessions.get(id.userId);
    const resuming = resumeFrom !== undefined;
    if (s?.link && s.link !== c) {
      if (!resuming && config.loginPolicy === 'refuse') {
        throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another connection');
      }
      (s.link as Connection).evict(CloseCode.REPLACED, resuming ? 'session resumed on another connection' : 'logged in elsewhere');
    }
    let resumed = false;
    if (s) {
      if (!s.link) this.notify('back', s.userId);
      clearTimeout(s.graceTimer);
      s.name = id.name;
      resumed = resuming && !s.adopted && s.replay.since(resumeFrom, s.seq) !== undefined;
      s.adopted = false;
      if (!resumed) {
        s.restart();
        this.notify('restarted', s.userId);
      }
    } else {
      s = new Session(id.userId, id.name, { events: config.resumeBufferEvents, bytes: config.resumeBufferBytes });
      this.sessions.set(id.userId, s);
      this.elsewhere.delete(id.userId);
      this.deps.metrics.sessions.set(this.sessions.size);
      this.deps.cluster.cast('session.up', { userId: id.userId, name: id.name });
      this.notify('started', id.userId);
      // It was on another node: to the lobby, the player is back.
      if (moved) this.notify('back', id.userId);
    }
    c.attach(s, id.expiresAt);
    this.deps.log.debug({ userId: id.userId, resumed }, 'login');
    const from = resumed ? resumeFrom! : 0;
    return { resumed, goLive: () => c.goLive(from) };
  }

  private async urlLogin(c: Connection, token: string): Promise<void> {
    try {
      const id = await this.identify(token);
      const moved = await this.claim(id.userId, false);
      this.login(c, id, undefined, moved).goLive();
    } catch (err) {
      const expired = err instanceof LobbyError && err.code === 'TOKEN_EXPIRED';
      const code = err instanceof LobbyError ? err.code : undefined;
      c.closeWith(
        expired
          ? CloseCode.AUTH_EXPIRED
          : code === 'ALREADY_LOGGED_IN'
            ? CloseCode.REPLACED
            : code === 'BANNED'
              ? CloseCode.KICKED
              : code === 'STORAGE_UNAVAILABLE'
                ? CloseCode.TRY_AGAIN_LATER
                : CloseCode.TOKEN_INVALID,
        err instanceof LobbyError ? err.message : 'login failed',
      );
    }
  }

  /** The grace period is over: the session ends as if the user had logged out. */
  sessionLost(s: Session): void {
    clearTimeout(s.graceTimer);
    this.notify('lost', s.userId);
    s.graceTimer = setTimeout(() => {
      if (!s.link) this.drop(s, 'ended');
    }, this.deps.config.reconnectGraceMs);
    s.graceTimer.unref();
  }

  /**
   * Every tick: pings the connections due one, and closes the silent, those
   * not logged in in time and those whose token expired (checked here rather
   * than by a timer per connection, which 10,000 connections would keep).
   */
  private sweep(): void {
    const now = Date.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs, authTimeoutMs } = this.deps.config;
    for (const c of this.connections) {
      if (c.closed) continue;
      if (now - c.lastSeen > heartbeatTimeoutMs) c.closeWith(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      else if (c.session ? now >= c.expiresAt : now - c.openedAt >= authTimeoutMs) {
        if (c.session) c.closeWith(CloseCode.AUTH_EXPIRED, 'token expired');
        else c.closeWith(CloseCode.AUTH_TIMEOUT, 'not logged in in time');
      } else if (now >= c.nextPing) {
        c.conn.ping();
        c.nextPing = now + heartbeatIntervalMs;
      }
    }
  }

  /** A frame from the connection's socket. */
  received(c: Connection, text: string | null): void {
    const now = Date.now();
    c.lastSeen = now;
    if (c.closed) return;
    if (text === null) return c.replyError(null, 'BAD_REQUEST', 'binary and non-UTF-8 frames are not supported; send JSON text');
    let frame: unknown;
    try {
      frame = jsonCodec.decode(text);
    } catch {
      return c.replyError(null, 'BAD_REQUEST', 'frame is not valid JSON');
    }
    if (!isRequest(frame)) {
      // Refused by isRequest, so by Request too (test/unit/envelope.test.ts): zod explains why.
      const re = RequestId.safeParse((frame as { id?: unknown } | null)?.id);
      return c.replyError(re.success ? re.data : null, 'BAD_REQUEST', 'frame is not a request {id, op, data}', issuesOf(Request.safeParse(frame).error!));
    }
    const req = frame;
    const s = c.session;
    if (req.ack !== undefined && s && req.ack <= s.seq) s.replay.ack(req.ack);
    if (!c.bucket.take(now)) {
      this.count(req.op, 'RATE_LIMITED');
      c.replyError(req.id, 'RATE_LIMITED', 'too many requests; slow down');
      if (!c.strike(now)) c.closeWith(CloseCode.RATE_LIMITED, 'rate limit exceeded repeatedly');
      return;
    }
    c.enqueue(() => this.handle(c, req));
  }

  /**
   * Runs one request to its single reply. A handler that answers at once is
   * answered in the same tick, with nothing allocated to wait on; only one
   * that returns a promise makes the connection's later requests queue.
   */
  private handle(c: Connection, req: Request): Promise<void> | undefined {
    const started = performance.now();
    const step: { after?: () => void } = {};
    let pending: unknown;
    try {
      pending = this.run(c, req, step);
    } catch (err) {
      return void this.failed(c, req, started, err);
    }
    if (!(pending instanceof Promise)) return void this.answered(c, req, started, pending, step.after);
    return withTimeout(pending, this.deps.config.requestTimeoutMs).then(
      (result) => this.answered(c, req, started, result, step.after),
      (err: unknown) => this.failed(c, req, started, err),
    );
  }

  private answered(c: Connection, req: Request, started: number, result: unknown, after: (() => void) | undefined): void {
    c.reply(req.id, result);
    after?.();
    this.measure(req.op, 'ok', started);
  }

  private failed(c: Connection, req: Request, started: number, err: unknown): void {
    const body = errorBody(err);
    if (body.code === 'INTERNAL') this.deps.log.error({ err, op: req.op }, 'handler failed');
    c.reply(req.id, undefined, body);
    this.measure(req.op, body.code, started);
  }

  /** The handler's result, or its promise; throws what the request is refused with. */
  private run(c: Connection, req: Request, step: { after?: () => void }): unknown {
    if (this.closing) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    const op = req.op;
    if (!isOpName(op)) throw new LobbyError('BAD_REQUEST', `unknown op "${op.slice(0, 64)}"`);
    const spec = ops[op];
    if (spec.auth && !c.session) throw new LobbyError('UNAUTHENTICATED', `${op} needs a logged-in session; log in first`);
    if (!spec.auth && c.session) throw new LobbyError('ALREADY_AUTHENTICATED', 'this connection is already logged in');
    const data = (spec.data as z.ZodType).safeParse(req.data ?? {});
    if (!data.success) throw new LobbyError('BAD_REQUEST', `invalid data for ${op}`, issuesOf(data.error, ['data']));

    const login = (this.loginOps as Record<string, LoginHandler<LoginOp>>)[op];
    if (login) return login(data.data as never, c, (fn) => (step.after = fn));
    const handler = this.deps.registry.get(op);
    if (!handler) throw new Error(`no handler for ${op}`);
    return handler(data.data as never, { session: c.session!, now: Date.now() });
  }

  private measure(op: string, outcome: string, started: number): void {
    const label = this.count(op, outcome);
    this.deps.metrics.requestSeconds.observe({ op: label }, (performance.now() - started) / 1000);
  }

  /** Counts one request; returns its op label (ops outside the protocol count as `unknown`). */
  private count(op: string, outcome: string): string {
    const label = isOpName(op) ? op : 'unknown';
    this.deps.metrics.requests.inc({ op: label, outcome });
    return label;
  }
}

const settled = Promise.resolve();

/**
 * One WebSocket and, once logged in, the session it carries. It is also the
 * transport's handlers for its socket. Kept small: a node holds 10,000 of
 * them, so no timers or closures of its own (the gateway's sweep checks its
 * deadlines).
 */
class Connection implements SessionLink, ConnHandlers {
  session: Session | undefined;
  readonly openedAt = Date.now();
  lastSeen = this.openedAt;
  /** Spread over the interval from the start, so pings never come all at once. */
  nextPing: number;
  /** When the session's token expires (the connection is then closed with 4005). */
  expiresAt = Infinity;
  closed = false;
  /** Events flow only once the login reply is out (see Gateway.login). */
  private live = false;
  readonly bucket: TokenBucket;
  /** RATE_LIMITED replies allowed before the connection is closed; one comes back per second. Made at the first. */
  private strikes: TokenBucket | undefined;
  /** Requests (and user tasks) taken and not finished; `tail` settles when the last of them has. */
  private busy = 0;
  private tail: Promise<void> = settled;

  constructor(
    private readonly gw: Gateway,
    readonly conn: Conn,
  ) {
    const { config } = gw.deps;
    this.nextPing = this.openedAt + Math.random() * config.heartbeatIntervalMs;
    this.bucket = new TokenBucket(config.rateLimitBurst, config.rateLimitPerSec, this.openedAt);
  }

  message(text: string | null): void {
    this.gw.received(this, text);
  }

  pong(): void {
    this.lastSeen = Date.now();
  }

  close(): void {
    this.gw.socketClosed(this);
  }

  /** One more RATE_LIMITED reply; false once there were too many. */
  strike(now: number): boolean {
    this.strikes ??= new TokenBucket(this.gw.deps.config.rateLimitStrikes, 1, now);
    return this.strikes.take(now);
  }

  /**
   * Requests of one connection run one after another: replies keep order and
   * a user's actions never interleave. With nothing in progress a task starts
   * at once; a task must never reject.
   */
  enqueue(task: () => Promise<void> | undefined): void {
    if (this.busy++ > 0) {
      this.tail = this.tail.then(task).then(() => void this.busy--);
      return;
    }
    const before = this.tail;
    const running = task();
    if (!running) return void this.busy--; // the common case: nothing allocated
    // A task queued by this one's synchronous part (which it may be waiting for) chained on `before`; idle() waits for both.
    this.tail = (this.tail === before ? running : Promise.all([this.tail, running])).then(() => void this.busy--);
  }

  idle(): Promise<void> {
    return this.tail;
  }

  attach(s: Session, expiresAt: number): void {
    this.session = s;
    s.link = this;
    this.armExpiry(expiresAt);
  }

  /** Sends the session's events after `from` (kept in its replay buffer meanwhile), then every new one. */
  goLive(from: number): void {
    const s = this.session;
    if (!s || this.closed) return;
    const missed = s.replay.since(from, s.seq) ?? [];
    if (missed.length) this.conn.cork(() => missed.forEach((f) => this.send(f)));
    this.live = true;
  }

  armExpiry(expiresAt: number): void {
    this.expiresAt = expiresAt;
    if (expiresAt <= Date.now()) this.closeWith(CloseCode.AUTH_EXPIRED, 'token expired');
  }

  deliver(frame: string): void {
    if (this.live) this.send(frame);
  }

  reply(re: number, data: unknown, error?: ErrorBody): void {
    this.send(error ? jsonCodec.errorReply(re, error) : jsonCodec.okReply(re, data));
  }

  replyError(re: number | null, code: ErrorBody['code'], message: string, issues?: Issue[]): void {
    this.send(jsonCodec.errorReply(re, issues ? { code, message, issues } : { code, message }));
  }

  private send(frame: string): void {
    if (this.closed) return;
    this.conn.send(frame);
    if (this.conn.bufferedAmount() > this.gw.deps.config.maxBufferedBytes) this.closeWith(CloseCode.TOO_SLOW, 'client reads too slowly');
  }

  /** Another connection took the session over: this one closes without touching it. */
  evict(code: number, reason: string): void {
    this.session = undefined;
    this.closeWith(code, reason);
  }

  closeWith(code: number, reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.gw.deps.metrics.closes.inc({ reason: String(code) });
      this.conn.close(code, reason);
    }
    this.detach();
  }

  /** The connection is gone: its session waits out the grace period for a resume. */
  detach(): void {
    this.closed = true;
    this.live = false;
    const s = this.session;
    this.session = undefined;
    if (s && s.link === this) {
      s.link = undefined;
      this.gw.sessionLost(s);
    }
  }
}

function issuesOf(error: z.ZodError, prefix: (string | number)[] = []): Issue[] {
  return error.issues.slice(0, 20).map((i) => ({
    path: [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    message: i.message,
  }));
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof LobbyError) return err.toBody();
  if (err instanceof TimeoutError) return { code: 'TIMEOUT', message: 'the request did not complete in time' };
  return { code: 'INTERNAL', message: 'internal error; it was logged' };
}

class TimeoutError extends Error {}

function withTimeout<T>(value: Promise<T> | T, ms: number): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  let timer: NodeJS.Timeout;
  return Promise.race([
    value,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError()), ms))),
  ]).finally(() => clearTimeout(timer));
}
