import { LobbyClient, LobbyError, LobbyMirror } from '@foyer/client-sdk';
import type { CallArgs, CloseInfo, LobbyState, MirrorState, OpData, OpName, OpResult, StateInfo } from '@foyer/client-sdk';
import { DEFAULT_FILTER, fromMirror, type ListFilter, type LobbyModel, type Toast } from './model.js';
import { announce } from './reactions.js';
import { forgetSession, loadSession, restoredMirror, saveGuest, saveSession, type Positions, type SavedGuest } from './session.js';
import { Store } from './store.js';
import { when } from './ui.js';

/**
 * The page's model of the lobby: one LobbyClient and the SDK's mirror fed by
 * it (whose state the page shows), the page's own state (connection label,
 * toasts, list filter), and the actions that fetch and refetch. Feature
 * actions (friends, mail, you) are in actions.ts.
 */
export class Lobby {
  readonly store = new Store<LobbyModel>({
    conn: 'idle',
    connDetail: '',
    restoring: false,
    signedOut: null,
    profile: null,
    filter: { ...DEFAULT_FILTER },
    listLoading: false,
    mailTo: null,
    toasts: [],
    clockOffset: 0,
    ...fromMirror(restoredMirror(undefined)),
  });

  #client: LobbyClient | undefined;
  #mirror: LobbyMirror | undefined;
  #unsubs: (() => void)[] = [];
  /** The mirror as it stood when the client was replaced (a retry at page load), or as the tab saved it. */
  #carried: MirrorState;
  #token: string | undefined;
  #nextToast = 1;
  #refetching = new Set<string>();
  #resumeTries = 0;
  /** Streams of the latest resume that came back as a snapshot (their history no longer reached back): shown with 'Resumed'. */
  #resyncedStreams = 0;
  /** Calls to subscribeList, one after another: the same filter is the same subscription, so one call's unsubscribe must not overtake another's subscribe. */
  #listing: Promise<void> = Promise.resolve();
  /** Server time of the latest login: mail sent before it is not announced with a toast. */
  #mailSince = 0;

  constructor(readonly url: string) {
    const saved = loadSession();
    this.#carried = restoredMirror(saved);
    this.set({ ...fromMirror(this.#carried), filter: { ...DEFAULT_FILTER, ...saved?.filter } });
    // Keep the tab's session (token, stream positions, chat) so a reload resumes it.
    this.store.subscribe(() => this.save());
    addEventListener('pagehide', () => this.save());
    setInterval(() => this.save(), 5000);
  }

  get state(): LobbyModel {
    return this.store.state;
  }

  set(patch: Partial<LobbyModel> | ((s: LobbyModel) => Partial<LobbyModel>)): void {
    this.store.set(patch);
  }

  /** Server time now, as well as this page knows it. */
  now(): number {
    return Date.now() + this.state.clockOffset;
  }

  // ---- connection and session

  /**
   * Opens a connection; resumes the tab's stored session if there is one:
   * the SDK sends session.resume with the saved stream positions, so the
   * events the tab missed follow (or a snapshot where the server's history
   * no longer reaches back).
   */
  async start(): Promise<void> {
    this.#detachClient();
    const saved = loadSession();
    const client = new LobbyClient({
      url: this.url,
      reconnect: { minDelayMs: 300, maxDelayMs: 5000 },
      ...(saved && { token: saved.token, positions: saved.positions }),
    });
    this.#client = client;
    // The mirror first: on a resync it drops what the old session had before the page fetches again.
    this.#useMirror(client, this.#carried);
    this.#unsubs.push(
      client.onState((state, info) => this.#onState(state, info)),
      client.onStream((_stream, state) => {
        if (state !== 'resynced') return;
        this.#resyncedStreams++;
        if (this.state.conn === 'resumed') this.set({ connDetail: resumedDetail(this.#resyncedStreams) });
      }),
      // Requests sent without an id (chat lines) have no reply to fail; their refusals come here.
      client.onRefusal((op, error) => this.toast('error', op === 'chat.send' ? SEND_CHAT : op, `${error.code}: ${error.message}`)),
    );
    this.set({ restoring: !!saved });
    try {
      await client.connect();
    } catch (err) {
      // A refused token was handled by #onState, which started over already.
      if (this.#client !== client) return;
      this.set({ restoring: false });
      if (!saved) return this.error('Cannot connect to the lobby', err);
      const code = err instanceof LobbyError ? err.code : 'INTERNAL';
      if (TRANSIENT.has(code) && this.#resumeTries++ < 5) {
        // The connection, not the session, failed: keep the saved session and try again.
        this.error('Could not resume your session yet; retrying', err);
        setTimeout(() => void this.start(), 1000 * this.#resumeTries);
        return;
      }
      this.#signOut(refusal(err));
      this.#carried = restoredMirror(undefined);
      return this.start();
    }
    this.#resumeTries = 0;
    if (saved) {
      this.#token = client.token ?? saved.token;
      const resumed = client.state === 'resumed';
      this.set({ conn: client.state, connDetail: resumed ? 'session resumed after reload' : 'new session: state fetched again' });
      // The mirror kept only chats, key and status over the reload: fetch the rest. Only a resumed session
      // still holds the list subscription this tab saved.
      await this.#afterLogin(resumed ? (saved.subscriptionId ?? null) : null);
    }
    this.set({ restoring: false });
  }

  /** A mirror fed by `client`, starting from `initial`; the page shows its state. */
  #useMirror(client: LobbyClient, initial: MirrorState): void {
    this.#mirror?.detach();
    // The SDK drops events already delivered (by stream offset), also those the tab saw before a reload.
    const mirror = new LobbyMirror(client, { initial });
    this.#mirror = mirror;
    this.#unsubs.push(
      mirror.subscribe((next, prev, input) => {
        if (next !== prev) this.set(fromMirror(next));
        announce(next, prev, input, (kind, title, text) => this.toast(kind, title, text), this.#mailSince);
        // An event skipped a version: show it, and fetch the whole thing.
        if (next.game.stale && !prev.game.stale) void this.refetchGame();
        if (next.party.stale && !prev.party.stale) void this.refetchParty();
      }),
    );
    this.set(fromMirror(initial));
  }

  /** Logs in as a new guest named `name`, or as the guest this browser remembers. */
  async loginGuest(name: string, remembered?: SavedGuest): Promise<void> {
    await this.#login('Log in as a guest', async () => {
      try {
        const r = await this.call('auth.guest', remembered ? { name: remembered.name, deviceSecret: remembered.deviceSecret } : { name });
        const deviceSecret = r.deviceSecret ?? remembered?.deviceSecret;
        if (deviceSecret) saveGuest({ userId: r.userId, name: r.name, deviceSecret });
        return r;
      } catch (err) {
        // The remembered guest is gone (or became a named account elsewhere): forget it.
        if (remembered && err instanceof LobbyError && err.code === 'WRONG_CREDENTIALS') saveGuest(undefined);
        throw err;
      }
    });
  }

  /** Logs in to a named account, or creates one (auth.register). */
  async loginAccount(name: string, password: string, create: boolean): Promise<void> {
    await this.#login(create ? 'Create an account' : 'Log in', () => (create ? this.call('auth.register', { name, password }) : this.call('auth.login', { name, password })));
  }

  async #login(what: string, fn: () => Promise<{ userId: string; name: string; token: string }>): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await this.act(what, async () => {
      if (client.state === 'closed') await client.connect();
      // The login reply starts the mirror afresh (chats, start key, status, acknowledged mail).
      const r = await fn();
      this.#token = r.token;
      await this.handTokenToSdk(r.token);
      // Failed tries ("wrong name or password") are over: their toasts go, and so does why the last session ended.
      this.set((s) => ({ toasts: s.toasts.filter((t) => t.kind !== 'error'), signedOut: null }));
      this.save();
      await this.#afterLogin(null);
    });
  }

  /**
   * The SDK takes the token (and so resumes after a dropped connection) from
   * the logins it knows: auth.guest, auth.token, session.resume, auth.refresh.
   * After auth.login, auth.register or auth.upgrade it may not have it: an
   * auth.refresh hands it over.
   */
  async handTokenToSdk(token: string): Promise<void> {
    this.#token = token;
    const client = this.#c();
    if (client.token === token) return;
    try {
      const r = await client.call('auth.refresh', {});
      this.#token = r.token;
    } catch {
      // Logged in all the same; only a resume after a drop would fall back to the login page.
    }
  }

  /** Ends the session on the server (friends see the player offline at once), forgets it in the tab and starts over logged out. */
  async logout(): Promise<void> {
    const client = this.#client;
    this.#signOut(null);
    // The page lets go of the client first (nothing it still does is saved or shown), and leaves closing it to logout().
    this.#client = undefined;
    this.#detachClient();
    this.#carried = restoredMirror(undefined);
    // Not connected: the session ends when its reconnect grace period does; the page logs out all the same.
    await client?.logout().catch(() => undefined);
    this.set(fromMirror(this.#carried));
    await this.start();
  }

  /** Forgets the tab's session (and what it showed); `why`, in words, is shown on the login screen. */
  #signOut(why: string | null): void {
    forgetSession();
    this.#token = undefined;
    this.set((s) => ({ profile: null, mailTo: null, signedOut: why, toasts: s.toasts.filter((t) => t.kind !== 'error') }));
  }

  /**
   * The server refused the session's token on a reconnect (a restart with
   * another secret, an account deleted or banned): the client gave up, so
   * the page starts over at its login screen on a new connection.
   */
  async #refused(err: LobbyError): Promise<void> {
    this.#signOut(refusal(err));
    this.#detachClient();
    this.#carried = restoredMirror(undefined);
    this.set(fromMirror(this.#carried));
    await this.start();
  }

  #detachClient(): void {
    if (this.#mirror) this.#carried = this.#mirror.state;
    this.#mirror?.detach();
    this.#mirror = undefined;
    for (const u of this.#unsubs) u();
    this.#unsubs = [];
    const old = this.#client;
    this.#client = undefined;
    if (old && old.state !== 'closed') void old.close();
  }

  /** After a login, a page-load resume or a resync: fetch everything the page shows. */
  async #afterLogin(oldSubscription: string | null): Promise<void> {
    const c = this.#c();
    const t0 = Date.now();
    void c.call('session.ping', { t: t0 }).then(
      (r) => this.set({ clockOffset: Math.round(r.serverTime - (t0 + Date.now()) / 2) }),
      () => {},
    );
    if (oldSubscription) void c.call('games.unsubscribe', { subscriptionId: oldSubscription }).catch(() => {});
    this.#mailSince = Date.now() + this.state.clockOffset;
    // A new session (the old one outlived its grace period) starts without a status: set it again.
    const activity = this.state.activity;
    if (activity) void c.call('presence.set', { activity }).catch(() => {});
    await Promise.all([
      this.refetchGame(),
      this.refetchParty(),
      this.refetch('mm.current', 'Could not load your matchmaking ticket'),
      this.subscribeList(),
      this.refetchProfile(),
      this.refetch('friends.list', 'Could not load your friends'),
      this.refetch('mail.list', 'Could not load your mail', { limit: 200 }),
    ]);
  }

  #c(): LobbyClient {
    if (!this.#client) throw new LobbyError('CLOSED', 'not connected');
    return this.#client;
  }

  #m(): LobbyMirror {
    if (!this.#mirror) throw new LobbyError('CLOSED', 'not connected');
    return this.#mirror;
  }

  /** Calls an op through the mirror (its reply updates what the page shows); the page reports failures itself, so callers may ignore the rejection. */
  call<O extends OpName>(op: O, ...args: CallArgs<O>): Promise<OpResult<O>> {
    return this.#m().call(op, ...args);
  }

  /** Runs an action; a failure becomes a toast naming the error code and the server's words. */
  async act<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const r = await fn();
      // It worked this time: the toasts of its failed tries are out of date.
      if (this.state.toasts.some((t) => t.kind === 'error' && t.title === what)) this.set((s) => ({ toasts: s.toasts.filter((t) => t.kind !== 'error' || t.title !== what) }));
      return r;
    } catch (err) {
      this.error(what, err);
      return undefined;
    }
  }

  error(what: string, err: unknown): void {
    let text: string;
    if (err instanceof LobbyError) {
      text = `${err.code}: ${err.message}`;
      if (err.issues?.length) text += ' — ' + err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    } else {
      text = err instanceof Error ? err.message : String(err);
    }
    this.toast('error', what, text);
  }

  toast(kind: Toast['kind'], title: string, text: string): void {
    const id = this.#nextToast++;
    this.set((s) => ({ toasts: [...s.toasts.slice(-4), { id, kind, title, text }] }));
    setTimeout(() => this.dismiss(id), kind === 'error' ? 15_000 : 8_000);
  }

  dismiss(id: number): void {
    this.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  }

  /**
   * Sends a chat line without waiting for an answer (fire-and-forget): it
   * shows when it comes back as chat.message, like everyone else's, and a
   * refusal (too fast, not in the game) comes as a toast. Returns whether it
   * went out.
   */
  sendChat(channel: 'game' | 'party', text: string): boolean {
    const client = this.#client;
    if (!client || !OPEN.has(client.state)) {
      this.toast('error', SEND_CHAT, 'Not connected to the lobby; try again once the connection is back.');
      return false;
    }
    client.send('chat.send', { channel, text });
    return true;
  }

  /** A finished ticket stays on show until the person dismisses it. */
  dismissTicket(): void {
    this.#mirror?.apply({ local: 'dismissTicket', at: Date.now() });
  }

  save(): void {
    const mirror = this.#mirror;
    const client = this.#client;
    const token = client?.token ?? this.#token;
    if (!mirror || !token) return;
    // Until the connection is up, the positions to keep are the ones saved (the client has not resumed from them yet).
    const positions: Positions = client && OPEN.has(client.state) ? client.positions() : (loadSession()?.positions ?? []);
    saveSession(mirror, token, positions, this.state.filter);
  }

  #onState(state: LobbyState, info: StateInfo): void {
    let detail = '';
    if (state === 'reconnecting' || state === 'connecting') this.#resyncedStreams = 0;
    if (state === 'reconnecting') {
      detail = `attempt ${info.attempt ?? 1} in ${((info.delayMs ?? 0) / 1000).toFixed(1)} s` + (info.close ? ` — ${describeClose(info.close)}` : '');
    } else if (state === 'closed') {
      detail = info.error ? `${info.error.code}: ${info.error.message}` : info.close ? describeClose(info.close) : '';
    } else if (state === 'resumed') {
      detail = resumedDetail(this.#resyncedStreams);
    } else if (state === 'resynced') {
      detail = 'reconnected into a new session: state fetched again';
    }
    if (state === 'closed' && info.error && REFUSALS.has(info.error.code)) {
      void this.#refused(info.error);
      return;
    }
    this.set({ conn: state, connDetail: detail });
    // A new session: fetch everything again (at page load, start() does). subscribeList replaces the old subscription.
    if (state === 'resynced' && !this.state.restoring) void this.#afterLogin(null);
    if (state === 'closed' && this.state.me && info.close?.name === 'REPLACED') {
      this.toast('error', 'Disconnected', 'This account logged in on another connection (4001 REPLACED).');
    }
  }

  // ---- snapshots

  /** Fetches one snapshot through the mirror; a failure becomes a toast. */
  async refetch<O extends 'mm.current' | 'friends.list' | 'mail.list' | 'game.current' | 'party.current'>(op: O, what: string, ...args: CallArgs<O>): Promise<void> {
    // One at a time per op: a second ask while one is on its way gets the same answer.
    if (this.#refetching.has(op)) return;
    this.#refetching.add(op);
    try {
      await this.call(op, ...args);
    } catch (err) {
      this.error(what, err);
    } finally {
      this.#refetching.delete(op);
    }
  }

  refetchGame(): Promise<void> {
    return this.refetch('game.current', 'Could not load your game');
  }

  refetchParty(): Promise<void> {
    return this.refetch('party.current', 'Could not load your party');
  }

  async refetchProfile(): Promise<void> {
    try {
      const r = await this.call('profile.get', {});
      this.set({ profile: r.profile });
    } catch (err) {
      this.error('Could not load your profile', err);
    }
  }

  // ---- game list

  /** (Re)subscribes the list to the current filter, after any call still on its way. */
  subscribeList(): Promise<void> {
    const next = this.#listing.then(() => this.#subscribeList());
    this.#listing = next;
    return next;
  }

  async #subscribeList(): Promise<void> {
    const f = this.state.filter;
    const filter: OpData<'games.subscribe'>['filter'] = { status: f.status };
    if (f.gameType.trim()) filter.gameType = f.gameType.trim();
    if (f.nameContains.trim()) filter.nameContains = f.nameContains.trim().slice(0, 32);
    if (f.freeSeats) filter.hasFreeSeats = true;
    if (f.noPassword) filter.hasPassword = false;
    const old = this.state.subscriptionId;
    this.set({ listLoading: true });
    try {
      if (old) await this.call('games.unsubscribe', { subscriptionId: old }).catch(() => {});
      const data = { filter, limit: 50 };
      const sentAt = Date.now();
      const r = await this.#c().call('games.subscribe', data);
      if (this.state.filter !== f) {
        // The filter changed while this one was on its way; the next call (queued behind this one) subscribes to it.
        void this.call('games.unsubscribe', { subscriptionId: r.subscriptionId }).catch(() => {});
        return;
      }
      this.#m().apply({ op: 'games.subscribe', data, result: r, at: Date.now(), sentAt });
    } catch (err) {
      this.error('Could not load the game list', err);
    } finally {
      this.set({ listLoading: false });
    }
  }

  #filterTimer: ReturnType<typeof setTimeout> | undefined;
  setFilter(patch: Partial<ListFilter>): void {
    this.set((s) => ({ filter: { ...s.filter, ...patch } }));
    clearTimeout(this.#filterTimer);
    this.#filterTimer = setTimeout(() => void this.subscribeList(), 250);
  }
}

/** What a resume did: every stream replayed, or some of them sent as snapshots (what they missed is not shown, e.g. notices). */
function resumedDetail(resynced: number): string {
  if (resynced === 0) return 'reconnected; missed events replayed';
  return `reconnected; ${resynced} ${resynced === 1 ? 'stream' : 'streams'} resynced from snapshots, the rest replayed`;
}

function describeClose(c: CloseInfo): string {
  return `closed ${c.code}${c.name ? ` ${c.name}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
}

/** The states in which the client is open and logged in as far as the page knows. */
const OPEN: ReadonlySet<LobbyState> = new Set(['connected', 'resumed', 'resynced']);

/** The title of a chat line's failure toast. */
const SEND_CHAT = 'Send a chat line';

/** A stored token refused for good: the session is over and the page goes back to its login screen. */
const REFUSALS: ReadonlySet<string> = new Set(['TOKEN_INVALID', 'TOKEN_EXPIRED', 'BANNED']);

/** Why a stored session was refused, in a plain sentence for the login screen. */
function refusal(err: unknown): string {
  const code = err instanceof LobbyError ? err.code : undefined;
  if (code === 'TOKEN_EXPIRED') return 'Your login has expired. Please log in again.';
  if (code === 'BANNED') return banned((err as LobbyError).message);
  if (code === 'TOKEN_INVALID') return 'The lobby no longer knows your login (the server was reset, or the account is gone). Please log in again.';
  return 'Your session could not be taken back. Please log in again.';
}

/** The server's "banned until <ISO time>[: reason]" as a sentence with a local time; its own words when they read otherwise. */
function banned(message: string): string {
  const m = /^banned until (\S+?)(?:: (.*))?$/.exec(message);
  const until = m ? Date.parse(m[1]!) : NaN;
  if (!m || Number.isNaN(until)) return `This account is banned (${message}).`;
  return `This account is banned until ${when(until)}${m[2] ? `. The reason given: ${m[2]}` : ''}.`;
}

/** Failures of the connection rather than of the session: worth another try. */
const TRANSIENT: ReadonlySet<string> = new Set(['DISCONNECTED', 'CLOSED', 'TIMEOUT', 'SHUTTING_DOWN', 'RATE_LIMITED', 'INTERNAL', 'NODE_UNAVAILABLE', 'NODE_DRAINING', 'STORAGE_UNAVAILABLE']);
