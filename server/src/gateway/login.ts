import { CloseCode, type OpParsed, type OpResult, type StreamPosition, type StreamResume } from '@foyer/shared';
import { LobbyError } from '../errors.js';
import { assertNotBanned, type Account } from '../store/accounts.js';
import type { CatchUp, Connection } from './connection.js';
import type { Gateway, LoginAccount } from './gateway.js';
import { LoginThrottle } from './rateLimit.js';
import { claimed, Session, type Claimed } from './session.js';
import { userStream } from './streams.js';
import type { Identity } from './tokens.js';
import type { LetGo, SessionRecord } from '../cluster/sessions.js';

/** The ops that log a connection in or out; they need the connection, not only a session. */
export const loginOps = ['auth.guest', 'auth.register', 'auth.login', 'auth.token', 'session.resume', 'session.logout'] as const;
export type LoginOp = (typeof loginOps)[number];
export type LoginHandler<O extends LoginOp> = (data: OpParsed<O>, c: Connection, after: (fn: () => void) => void) => OpResult<O> | Promise<OpResult<O>>;

/**
 * The client's address for a login's throttle, read once before its awaits so
 * that a failure counts against it. A login queued behind others may run
 * after its socket closed, when the address can no longer be read (uws reads
 * it from the socket): refused then, rather than throttled as no one's.
 */
function addressOf(c: Connection): string {
  if (c.closed) throw new LobbyError('UNAUTHENTICATED', 'the connection closed before its login ran');
  return c.conn.ip;
}

/**
 * Logging a connection in and out: the login ops and session.logout, the
 * token in the URL, the throttle of failed logins, and the one session per
 * account across the cluster.
 */
export class Login {
  readonly ops: { [O in LoginOp]: LoginHandler<O> };
  /** Failed logins across the cluster: 10 a minute per name, 50 per address (many players can share one). */
  private readonly failures: LoginThrottle;
  /** Per user, the login running on this node: the next one waits for it (claim and session are one step). */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly gw: Gateway) {
    const { tokens, accounts, throttleStore, config } = gw.deps;
    this.failures = new LoginThrottle({ ...(throttleStore && { store: throttleStore }), prefix: config.redisPrefix, name: 10, address: 50, windowSec: 60 });
    /** Logs the connection in as this account, with a fresh token; `created`: the login made the account. */
    const enter = async (c: Connection, a: Account, after: (fn: () => void) => void, created = false) => {
      assertNotBanned(a);
      const issued = await tokens.issue(a.id, a.name);
      const { streams } = await this.claimAndLogin(c, { userId: a.id, name: a.name, expiresAt: issued.expiresAt, external: false }, undefined, { account: a, created });
      after(() => c.goLive());
      return { userId: a.id, name: a.name, ...issued, streams };
    };
    this.ops = {
      'auth.guest': async (data, c, after) => {
        if (data.deviceSecret === undefined) {
          const { account, deviceSecret } = await accounts.createGuest(data.name);
          return { ...(await enter(c, account, after, true)), deviceSecret };
        }
        const ip = addressOf(c);
        await this.throttle(ip);
        const account = await accounts.guestByDevice(data.deviceSecret);
        if (!account) {
          await this.failures.failed(ip);
          throw new LobbyError('WRONG_CREDENTIALS', 'unknown device secret');
        }
        return enter(c, account, after);
      },
      'auth.register': async (data, c, after) => enter(c, await accounts.register(data.name, data.password), after, true),
      'auth.login': async (data, c, after) => {
        const name = data.name.toLowerCase();
        const ip = addressOf(c);
        await this.throttle(ip, name);
        const account = await accounts.login(data.name, data.password);
        if (!account) {
          await this.failures.failed(ip, name);
          throw new LobbyError('WRONG_CREDENTIALS', 'wrong name or password');
        }
        return enter(c, account, after);
      },
      'auth.token': async (data, c, after) => {
        const id = await this.identify(data.token);
        const { streams } = await this.claimAndLogin(c, id);
        after(() => c.goLive());
        return { userId: id.userId, name: id.name, expiresAt: id.expiresAt, streams };
      },
      'session.resume': async (data, c, after) => {
        // A session still on this node needs no storage: resuming works while the database is down.
        const verified = await tokens.verify(data.token);
        const id = !verified.external && this.gw.sessions.has(verified.userId) ? verified : await this.identify(data.token);
        const { resumed, streams } = await this.claimAndLogin(c, id, data.streams);
        after(() => c.goLive());
        return { userId: id.userId, name: id.name, expiresAt: id.expiresAt, resumed, streams: streams as StreamResume[] };
      },
      // Answered first; then the connection closes and the session ends for good (no grace: friends see the user offline at once).
      'session.logout': (_data, c, after) => {
        const s = c.session!;
        after(() => {
          c.evict(CloseCode.LOGGED_OUT, 'logged out');
          this.gw.drop(s, 'ended');
        });
        return {};
      },
    };
  }

  /**
   * One session per account: the user's session record is claimed in Redis
   * (with a fresh fence) and the session bound to the connection, one login
   * of the account at a time on this node. A live other node holding the
   * session is asked to let it go first (closing its connection with
   * REPLACED) or refuses (`refuse` policy, ALREADY_LOGGED_IN), before the
   * record is ours: whichever login loses, the two are never both alive.
   */
  private claimAndLogin(c: Connection, id: Identity, listed?: StreamPosition[], known?: LoginAccount): Promise<{ resumed: boolean; streams: (StreamPosition | StreamResume)[] }> {
    const prev = this.pending.get(id.userId) ?? Promise.resolve();
    const run = prev.then(async () => {
      this.gw.claiming.delete(id.userId);
      const { record, moved } = await this.claim(id.userId, id.name, listed !== undefined);
      const claimed = this.gw.claiming.get(id.userId);
      this.gw.claiming.delete(id.userId);
      if (claimed?.superseded) {
        // Another node's login took the record from this one before it went live: this login lost (replace).
        const here = this.gw.sessions.get(id.userId);
        if (here) ((here.link as Connection | undefined)?.evict(CloseCode.REPLACED, claimed.superseded), this.gw.drop(here, 'moved'));
        c.closeWith(CloseCode.REPLACED, claimed.superseded);
        throw new LobbyError('ALREADY_LOGGED_IN', 'logged in elsewhere at the same time');
      }
      try {
        return await this.login(c, id, listed, moved, record, known);
      } catch (err) {
        // Claimed but not logged in: the record now names a session still here, or nothing (then it goes).
        const here = this.gw.sessions.get(id.userId);
        if (here) here.record = record;
        else this.gw.deps.cluster.sessions.release(id.userId, record);
        throw err;
      }
    });
    const tail = run.then(
      () => {},
      () => {},
    );
    this.pending.set(id.userId, tail);
    void tail.then(() => this.pending.get(id.userId) === tail && this.pending.delete(id.userId));
    return run;
  }

  /** Claims the user's session record for this node (see claimAndLogin). */
  private async claim(userId: string, name: string, resuming: boolean): Promise<{ record: Claimed; moved: boolean }> {
    const { cluster, config, log } = this.gw.deps;
    if (this.gw.isClosing) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    const refuse = !resuming && config.loginPolicy === 'refuse';
    const here = this.gw.sessions.get(userId);
    // Refused before the record is touched.
    if (refuse && here?.link) throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another connection');
    if (cluster.sessions.up) {
      let answered: SessionRecord | undefined;
      try {
        const { record, previous, moved } = await cluster.sessions.claim(userId, name, async (holder) => {
          try {
            const { answer } = await cluster.call<{ answer: LetGo }>(holder.node, 'session.move', { userId, fence: holder.fence, refuse, resuming });
            answered = holder;
            return answer;
          } catch (err) {
            if (err instanceof LobbyError && err.code === 'ALREADY_LOGGED_IN') throw err;
            // Under `refuse` a login that cannot be checked is refused; otherwise the newer login wins.
            if (refuse) throw new LobbyError('NODE_UNAVAILABLE', 'the node holding this account\'s session did not answer; try again shortly');
            log.warn({ userId, holder: holder.node, err: (err as Error).message }, 'the node that held the session did not answer; going on here');
            return 'none';
          }
        }, (fence) => this.gw.claiming.set(userId, { fence }));
        // A holder that did not answer, or was taken for dead, hears it once it can: its session, if it still has it, is the older one.
        if (previous && previous.node !== cluster.nodeId && answered !== previous) cluster.tell(previous.node, 'session.taken', { userId, fence: previous.fence });
        return { record: claimed(record, true), moved };
      } catch (err) {
        if (err instanceof LobbyError) throw err;
        log.warn({ userId, err: (err as Error).message }, 'the session record could not be read or written (Redis trouble)');
      }
    }
    // Redis is away: a session held here is checked here; any other login is checked only under `replace`
    // (the newer session wins when Redis is back), and refused under `refuse` unless this node is alone.
    if (!here && config.loginPolicy === 'refuse' && !cluster.alone) {
      throw new LobbyError('NODE_UNAVAILABLE', 'the cluster bus (Redis) is down: this login cannot be checked against the other nodes; try again shortly');
    }
    return { record: claimed({ node: cluster.nodeId, fence: cluster.sessions.localFence(here?.record?.fence), name }, false), moved: false };
  }

  /** Checked before the password, so a throttled guesser learns nothing, even with the right one. */
  private async throttle(address: string, name?: string): Promise<void> {
    if (!(await this.failures.allowed(address, name))) {
      throw new LobbyError('LOGIN_THROTTLED', 'too many failed logins; wait a minute');
    }
  }

  /**
   * A token's identity as an account: ours must belong to an account that is
   * not banned; an external subject is linked to its own account.
   */
  private async identify(token: string): Promise<Identity> {
    const id = await this.gw.deps.tokens.verify(token);
    const account = id.external ? await this.gw.deps.accounts.external(id.userId, id.name) : await this.gw.deps.accounts.get(id.userId);
    if (!account) throw new LobbyError('TOKEN_INVALID', 'the account of this token does not exist');
    assertNotBanned(account);
    return { ...id, userId: account.id, name: id.external ? account.name : id.name };
  }

  /**
   * Binds a verified identity to the connection, taking over or replacing any
   * session of that user, and plans how each of its streams catches up.
   * Events reach the connection only from `goLive`, run once the login reply
   * is out: the client sees the reply first, then snapshots and what it
   * missed, then live events, with no gap and no overtaking.
   *
   * `listed` (session.resume): where the client stands. A session still held
   * here resumes each stream whose history covers the client's position and
   * resyncs the others (their snapshots follow); a session that is new here
   * resyncs every stream. A plain login that takes over a session held here
   * sends every stream's snapshot; a brand-new session sends none.
   */
  private async login(
    c: Connection,
    id: Identity,
    listed: StreamPosition[] | undefined,
    moved: boolean,
    record: Claimed,
    known: LoginAccount | undefined,
  ): Promise<{ resumed: boolean; streams: (StreamPosition | StreamResume)[] }> {
    if (this.gw.isClosing) throw new LobbyError('SHUTTING_DOWN', 'server is shutting down; reconnect to another node');
    // Its socket closed while the login awaited: a session attached to it would never hear of the close
    // (no grace period, no end), and under the `refuse` policy would refuse the user's every later login.
    if (c.closed) throw new LobbyError('UNAUTHENTICATED', 'the connection closed before its login was done');
    const { config } = this.gw.deps;
    let s = this.gw.sessions.get(id.userId);
    const resuming = listed !== undefined;
    if (s?.link && s.link !== c) {
      if (!resuming && config.loginPolicy === 'refuse') {
        throw new LobbyError('ALREADY_LOGGED_IN', 'this account is logged in on another connection');
      }
      (s.link as Connection).evict(CloseCode.REPLACED, resuming ? 'session resumed on another connection' : 'logged in elsewhere');
    }
    let resumed = false;
    let held = false;
    if (s) {
      s.record = record;
      held = true;
      if (!s.link) this.gw.notify('back', s.userId);
      clearTimeout(s.graceTimer);
      s.name = id.name;
      resumed = resuming && !s.adopted;
      s.adopted = false;
      if (!resumed) this.gw.notify('restarted', s.userId);
    } else {
      s = new Session(id.userId, id.name);
      s.record = record;
      this.gw.sessions.set(id.userId, s);
      this.gw.hub.subscribe(s, userStream(id.userId));
      this.gw.directory.forget(id.userId);
      this.gw.deps.metrics.sessions.set(this.gw.sessions.size);
      this.gw.notify('opened', id.userId);
      this.gw.notify('started', id.userId, known);
      // It was on another node: to the lobby, the player is back.
      if (moved) this.gw.notify('back', id.userId);
    }
    c.attach(s, id.expiresAt);
    this.gw.deps.log.debug({ userId: id.userId, resumed }, 'login');
    const hub = this.gw.hub;
    const plan = new Map<string, CatchUp>();
    const out: (StreamPosition | StreamResume)[] = [];
    const positions = new Map((listed ?? []).map((p) => [p.stream, p]));
    const resyncs: Promise<void>[] = [];
    for (const name of s.streams) {
      const st = hub.get(name);
      if (!st) continue;
      const at = { stream: name, offset: st.offset, epoch: st.epoch };
      const p = positions.get(name);
      positions.delete(name);
      if (resumed && p && st.covers(p.epoch, p.offset)) {
        plan.set(name, { epoch: st.epoch, offset: p.offset });
        out.push({ ...at, state: 'resumed' });
      } else if (resuming || held) {
        // The snapshot shows the stream as of `at.offset`; what is published while it is made is replayed after it.
        const entry: CatchUp = { epoch: st.epoch, offset: st.offset };
        plan.set(name, entry);
        out.push(resuming ? { ...at, state: 'resynced' } : at);
        const snap = hub.snapshot(s, name);
        if (snap instanceof Promise) resyncs.push(snap.then((v) => void (entry.snapshot = v)));
        else entry.snapshot = snap;
      } else {
        plan.set(name, { epoch: st.epoch, offset: st.offset });
        out.push(at);
      }
    }
    for (const p of positions.values()) out.push({ ...p, state: 'gone' });
    c.plan(plan);
    if (resyncs.length) await Promise.all(resyncs);
    return { resumed, streams: out };
  }

  async urlLogin(c: Connection, token: string): Promise<void> {
    try {
      const id = await this.identify(token);
      await this.claimAndLogin(c, id);
      c.goLive();
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
}
