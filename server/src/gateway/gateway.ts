import { CloseCode, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type EventData, type EventName } from '@foyer/shared';
import type { Publisher, Snapshotter, StreamHub, StreamKind } from './streams.js';
import { userStream } from './streams.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../admin/metrics.js';
import type { Cluster } from '../cluster/cluster.js';
import { LobbyError } from '../errors.js';
import type { Conn, ConnHandlers, Transport, UpgradeInfo } from '../transport/index.js';
import type { Account, Accounts } from '../store/accounts.js';
import { Connection } from './connection.js';
import { Delivery } from './delivery.js';
import { Directory, type Remote } from './directory.js';
import { prevails, type LetGo, type SessionRecord } from '../cluster/sessions.js';
import { Dispatch } from './dispatch.js';
import { Login, type LoginHandler, type LoginOp } from './login.js';
import type { OpRegistry } from './registry.js';
import { claimed, Session } from './session.js';
import { tenths } from './tenths.js';
import type { Tokens } from './tokens.js';
import type { ThrottleStore } from './rateLimit.js';


/**
 * What the lobby hears about sessions: a connection was lost (the grace period
 * starts), the session came back within it, or it ended for good.
 */
/**
 * The account as the login that started a session read or made it, so a
 * listener need not read it again. `created`: made by this very login, so
 * nothing refers to it yet (no friends, mail, deferred commands).
 */
export interface LoginAccount {
  account: Account;
  created: boolean;
}

export interface SessionListener {
  started?(userId: string, known?: LoginAccount): void;
  lost?(userId: string): void;
  back?(userId: string): void;
  ended?(userId: string): void;
  /** A login that was not a resume took the session over: it starts afresh (resync), without what belonged to the old one (list subscriptions). */
  restarted?(userId: string): void;
  /** The session went on on another node: forget what this node kept for it, but the user is still here. */
  moved?(userId: string): void;
  /** A session appeared here (a login, or adopted from a dead node): it must receive the streams of what the user is in. */
  opened?(userId: string): void;
}


export interface GatewayDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  tokens: Tokens;
  registry: OpRegistry;
  accounts: Accounts;
  cluster: Cluster;
  /** The Redis where failed logins are counted for the whole cluster; in memory without. */
  throttleStore?: ThrottleStore;
}


/**
 * How often the gateway looks for connections due a ping (at most; at least 10
 * times per interval). Small slices keep each burst of pings, and of the pongs
 * that come back, to a few dozen sockets at 10,000 connections.
 */
const HEARTBEAT_TICK_MS = 100;

/**
 * Sessions and their connections: protocol version check, heartbeat, the
 * sessions' lifetime (grace period, moves between nodes, adoption from a dead
 * node). Its parts: `connection.ts` (one socket), `dispatch.ts` (frame to
 * reply), `login.ts`, `directory.ts` (sessions on other nodes), `delivery.ts`
 * (events to sessions).
 */
export class Gateway {
  readonly sessions = new Map<string, Session>();
  readonly directory: Directory;
  /**
   * Per user, the fence of this node's login being written to Redis. Its
   * record may be read, and its session asked for, before this node reads
   * the answer of its own write: then the login is `superseded` (it lost)
   * or the asker refused.
   */
  readonly claiming = new Map<string, { fence: number; superseded?: string }>();
  private readonly connections = new Set<Connection>();
  /** The sweep's timer: set only while the node has a connection (with none there is nothing to ping or close). */
  private heartbeat: NodeJS.Timeout | undefined;
  /**
   * Forgets the streams' quiet histories (StreamHub.forgetQuiet) every
   * silence limit + grace period: the longest a dead client's session lives.
   */
  private forgetter: NodeJS.Timeout | undefined;
  /** The transport closes silent connections itself (Transport.silenceLimitMs): the sweep leaves them. */
  private silenceWatched = false;
  private closing = false;
  private draining = false;
  private readonly listeners: SessionListener[] = [];
  private readonly login: Login;
  private readonly dispatch: Dispatch;
  private readonly delivery: Delivery;

  constructor(readonly deps: GatewayDeps) {
    const { config, tokens, registry } = deps;
    this.directory = new Directory(this.sessions, deps.cluster, deps.log);
    this.delivery = new Delivery(this.sessions, this.directory, deps.cluster, deps.metrics, { events: config.streamHistoryEvents, bytes: config.streamHistoryBytes });
    this.login = new Login(this);
    this.dispatch = new Dispatch({ ...deps, loginOps: this.login.ops as Record<LoginOp, LoginHandler<LoginOp>>, closing: () => this.closing });

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

  /** Shutting down: no new logins or requests. */
  get isClosing(): boolean {
    return this.closing;
  }

  notify(kind: keyof SessionListener, userId: string, known?: LoginAccount): void {
    for (const l of this.listeners) {
      try {
        l[kind]?.(userId, known);
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
    this.connectionsChanged();

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
      if (token) c.enqueue(() => this.login.urlLogin(c, token));
    }
    return c;
  };

  /** The transport closed the connection's socket. */
  socketClosed(c: Connection): void {
    this.connections.delete(c);
    this.deps.metrics.connections.dec();
    this.connectionsChanged();
    c.detach();
  }

  /**
   * What runs for connections runs only while there is one: the sweep, and
   * the event loop's delay sampler (loopDelay.ts). Their timers were most of
   * what a node without players spent (docs/performance.md, Cluster).
   */
  private connectionsChanged(): void {
    const any = this.connections.size > 0;
    this.deps.metrics.loopDelay.sampling = any;
    if (any && !this.heartbeat && !this.closing) {
      // Each connection is pinged once per interval at its own offset: pinging
      // every socket in one sweep stalls the node for a moment at 10,000 connections.
      const { heartbeatIntervalMs } = this.deps.config;
      this.heartbeat = setInterval(() => this.sweep(), Math.max(10, Math.min(HEARTBEAT_TICK_MS, Math.floor(heartbeatIntervalMs / 10))));
      this.heartbeat.unref();
    } else if (!any && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** The other node holding the user's session, if one does. */
  nodeOf(userId: string): Promise<string | undefined> {
    return this.directory.nodeOf(userId);
  }

  /** The sessions of these users on other nodes (a directory lookup, batched and cached briefly). */
  locate(users: readonly string[]): Promise<Map<string, Remote>> {
    return this.directory.locate(users);
  }

  /** Whether the user has a session on this node or another, as far as this node knows now (`locate` first for others); its display name. */
  online(userId: string): { name: string } | undefined {
    return this.directory.online(userId);
  }

  /** The streams this node carries. */
  get hub(): StreamHub {
    return this.delivery.hub;
  }

  /** Where frames are published: the transport, once it exists; and who closes silent connections. */
  useTransport(transport: Publisher & Pick<Transport, 'silenceLimitMs'>): void {
    const { heartbeatTimeoutMs, reconnectGraceMs } = this.deps.config;
    this.delivery.hub.publisher = transport;
    this.silenceWatched = transport.silenceLimitMs !== undefined;
    // A dead client's connection is closed at most this long after it fell silent: the transport's limit, else the sweep's.
    const silenceMs = transport.silenceLimitMs ?? heartbeatTimeoutMs;
    clearInterval(this.forgetter);
    this.forgetter = setInterval(() => this.delivery.hub.forgetQuiet(), silenceMs + reconnectGraceMs);
    this.forgetter.unref();
  }

  /** How a stream of this kind shows its whole state to one session (a resync). */
  snapshotter(kind: StreamKind, fn: Snapshotter): void {
    this.delivery.hub.snapshotter(kind, fn);
  }

  /** The user's session here, if any, receives the stream from now on. */
  subscribe(userId: string, stream: string): void {
    const s = this.sessions.get(userId);
    if (s) this.delivery.hub.subscribe(s, stream);
  }

  unsubscribe(userId: string, stream: string): void {
    const s = this.sessions.get(userId);
    if (s) this.delivery.hub.unsubscribe(s, stream);
  }

  /** One event on a stream this node carries: to every session here that receives it. */
  publish<E extends EventName>(stream: string, ev: E, data: EventData<E>): void {
    this.delivery.publish(stream, ev, data);
  }

  /** As publish, with the data already encoded (JSON of EventData<E>). */
  publishEncoded(stream: string, ev: EventName, encoded: string): void {
    this.delivery.hub.publishEncoded(stream, ev, encoded);
  }

  /** Chat lines (not replicated): published here and on the nodes holding the other members' sessions; `encoded` is the JSON of the event's data. */
  publishToMembers(stream: string, members: () => readonly string[], ev: EventName, encoded: string): void {
    this.delivery.publishToMembers(stream, members, ev, encoded);
  }

  /** A personal event on each user's own stream, wherever their session is. */
  toUsers<E extends EventName>(users: readonly string[], ev: E, data: EventData<E>): void {
    this.delivery.toUsers(users, ev, data);
  }

  /** Follows a personal event as it reaches a user whose session is here (`Delivery.watch`). */
  watch<E extends EventName>(ev: E, fn: (userId: string, data: EventData<E>) => void): void {
    this.delivery.watch(ev, fn);
  }

  /** A personal event to the users whose session is here (every node does its own, from a replicated entity). */
  toUsersHere<E extends EventName>(users: readonly string[], ev: E, data: EventData<E>): void {
    this.delivery.toUsersHere(users, ev, data);
  }

  /** To every session of the cluster (server.notice). */
  toEveryone<E extends EventName>(ev: E, data: EventData<E>): void {
    this.delivery.toEveryone(ev, data);
  }

  runAsUser<T>(userId: string, task: () => Promise<T>): Promise<T> | undefined {
    const s = this.sessions.get(userId);
    if (!s) return undefined;
    const c = s.link as Connection | undefined;
    if (!c) return task();
    // In the storage lane: the task works on stored data, in order with the user's requests that do.
    return new Promise<T>((resolve, reject) => c.enqueue(() => task().then(resolve, reject), true));
  }

  /**
   * An operator removes the user from this node: the connection closes with
   * `code` and the session ends at once (no grace period, nothing to resume).
   * False when the user has no session here.
   */
  endSession(userId: string, code: number, reason: string): boolean {
    const s = this.sessions.get(userId);
    if (!s) {
      this.directory.where([userId], (remote) => {
        const e = remote.get(userId);
        if (e) this.deps.cluster.tell(e.node, 'session.end', { userId, code, reason });
      });
      return false;
    }
    (s.link as Connection | undefined)?.closeWith(code, reason);
    this.drop(s, 'ended');
    return true;
  }

  /** The session leaves this node: for good (`ended`), or to go on on another node (`moved`). */
  drop(s: Session, how: 'ended' | 'moved'): void {
    clearTimeout(s.graceTimer);
    if (this.sessions.get(s.userId) !== s) return;
    this.sessions.delete(s.userId);
    this.delivery.hub.unsubscribeAll(s);
    this.deps.metrics.sessions.set(this.sessions.size);
    if (how === 'ended' && s.record) this.deps.cluster.sessions.release(s.userId, s.record);
    else if (how === 'moved') this.deps.cluster.sessions.unlist(s.userId);
    this.notify(how, s.userId);
  }

  private joinCluster(cluster: Cluster): void {
    // Another node's login asks for the session its record names (by fence).
    cluster.handle<{ userId: string; fence: number; refuse: boolean; resuming: boolean }>('session.move', ({ userId, fence, refuse, resuming }, from) => {
      const claiming = this.claiming.get(userId);
      if (claiming?.fence === fence) {
        if (refuse) throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another node');
        claiming.superseded = resuming ? 'session resumed on another connection' : 'logged in elsewhere';
        this.directory.learn(userId, from, this.sessions.get(userId)?.name ?? '');
        return { answer: 'moved' satisfies LetGo };
      }
      const s = this.sessions.get(userId);
      if (s?.record?.recorded && s.record.fence > fence) return { answer: 'stale' satisfies LetGo };
      if (s?.link && refuse) throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another node');
      this.directory.learn(userId, from, s?.name ?? '');
      if (!s) return { answer: 'none' satisfies LetGo };
      (s.link as Connection | undefined)?.evict(CloseCode.REPLACED, resuming ? 'session resumed on another connection' : 'logged in elsewhere');
      this.drop(s, 'moved');
      return { answer: 'moved' satisfies LetGo };
    });
    // A login elsewhere went on without this node's answer: a session here as old as the record it replaced goes.
    cluster.onCast<{ userId: string; fence: number }>('session.taken', ({ userId, fence }) => {
      const s = this.sessions.get(userId);
      if (s?.record && s.record.fence <= fence) this.evictMoved(s, 'logged in elsewhere');
    });
    // Redis came back (maybe empty) and a record of another node names a session this node holds too.
    cluster.handle<{ userId: string; rival: SessionRecord }>('session.conflict', ({ userId, rival }) => {
      const s = this.sessions.get(userId);
      if (!s?.record || prevails(rival, s.record, this.deps.config.loginPolicy)) {
        if (s) this.evictMoved(s, 'logged in elsewhere');
        return { keep: false };
      }
      return { keep: true };
    });
    cluster.onCast<{ userId: string; code: number; reason: string }>('session.end', ({ userId, code, reason }) => void this.endSession(userId, code, reason));
    cluster.onRejoin(() => this.reassert());
    // The sessions of a dead node wait out their grace period on a successor, as if their connections had just dropped.
    cluster.onNodeDown((dead) => void this.adoptFrom(dead));
  }

  private evictMoved(s: Session, reason: string): void {
    (s.link as Connection | undefined)?.evict(CloseCode.REPLACED, reason);
    this.drop(s, 'moved');
  }

  /**
   * Writes this node's session records again (Redis came back, maybe having
   * lost them). A user whose record another node wrote meanwhile has two
   * sessions: the two nodes settle which stays by policy (`prevails`).
   */
  private async reassert(): Promise<void> {
    const { cluster, log, config } = this.deps;
    const all = [...this.sessions.values()];
    for (let i = 0; i < all.length; i += 200) {
      await Promise.all(
        all.slice(i, i + 200).map(async (s) => {
          const mine = s.record;
          if (!mine || this.sessions.get(s.userId) !== s) return;
          const theirs = await cluster.sessions.reassert(s.userId, mine);
          mine.recorded = true;
          if (!theirs) return;
          try {
            const { keep } = await cluster.call<{ keep: boolean }>(theirs.node, 'session.conflict', { userId: s.userId, rival: { node: mine.node, fence: mine.fence, name: mine.name } });
            if (keep) return void (this.sessions.get(s.userId) === s && this.evictMoved(s, 'logged in elsewhere'));
            if (!(await cluster.sessions.replace(s.userId, theirs, mine))) await cluster.sessions.reassert(s.userId, mine);
          } catch (err) {
            log.warn({ userId: s.userId, other: theirs.node, policy: config.loginPolicy, err: (err as Error).message }, 'two sessions of one account; not settled yet');
          }
        }),
      );
    }
  }

  /** Adopts the sessions a dead node listed, those whose successor this node is (unless they went on elsewhere). */
  private async adoptFrom(dead: string): Promise<void> {
    const { cluster } = this.deps;
    let listed: Map<string, string>;
    try {
      listed = await cluster.sessions.listedOn(dead);
    } catch {
      return; // Redis is away: its records stay with the dead node until they are claimed
    }
    await Promise.all(
      [...listed.keys()].map(async (userId) => {
        if (cluster.successor(`user:${userId}`) !== cluster.nodeId) return;
        const adopted = this.sessions.has(userId) ? undefined : await cluster.sessions.adopt(userId, dead);
        // Taken for dead but alive after all (a stall): it drops its session when it hears.
        if (adopted?.previous) cluster.tell(dead, 'session.taken', { userId, fence: adopted.previous.fence });
        const record = adopted?.record;
        if (record && !this.sessions.has(userId)) {
          const s = new Session(userId, record.name || listed.get(userId)!);
          s.adopted = true;
          s.record = claimed(record, true);
          this.sessions.set(userId, s);
          this.directory.forget(userId);
          this.delivery.hub.subscribe(s, userStream(userId));
          this.notify('opened', userId);
          this.deps.metrics.sessions.set(this.sessions.size);
          this.sessionLost(s);
        }
        await cluster.sessions.unlistFrom(dead, userId).catch(() => {});
      }),
    );
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
    this.heartbeat = undefined;
    clearInterval(this.forgetter);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, this.deps.config.shutdownTimeoutMs)));
    await Promise.race([Promise.all([...this.connections].map((c) => c.idle())), deadline]);
    clearTimeout(timer);
    for (const c of [...this.connections]) c.closeWith(1001, 'server shutting down');
    for (const s of this.sessions.values()) clearTimeout(s.graceTimer);
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
   * Every tick: pings the connections due one, and closes the silent (unless
   * the transport does: silenceWatched), those not logged in in time and
   * those whose token expired (checked here rather than by a timer per
   * connection, which 10,000 connections would keep).
   */
  private sweep(): void {
    const ms = Date.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.deps.config;
    // The connections' times are in tenths of a second (tenths.ts).
    const now = tenths(ms);
    const timeout = heartbeatTimeoutMs / 100;
    for (const c of this.connections) {
      if (c.closed) continue;
      if (!this.silenceWatched && now - c.lastSeen > timeout) c.closeWith(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      else if (now >= c.deadline) {
        if (c.session) c.closeWith(CloseCode.AUTH_EXPIRED, 'token expired');
        else c.closeWith(CloseCode.AUTH_TIMEOUT, 'not logged in in time');
      } else if (now >= c.nextPing) {
        c.conn.ping();
        c.nextPing = tenths(ms + heartbeatIntervalMs);
        c.rest(ms);
      }
    }
  }

  received(c: Connection, text: string | null): void {
    this.dispatch.received(c, text);
  }
}
