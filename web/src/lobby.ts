import { LobbyClient, LobbyError } from '@foyer/client-sdk';
import type { CloseInfo, EventData, EventName, LobbyState, OpData, OpName, OpResult, StateInfo } from '@foyer/client-sdk';
import type { GameSummary, GameView, PartyView, TicketUpdate } from '@foyer/shared';
import { Store } from './store.js';

// ---------------------------------------------------------------- state

export interface ChatLine {
  id: number;
  from: { userId: string; name: string };
  text: string;
  at: number;
}

export interface Chat {
  /** The game or party the lines belong to; lines of another one start afresh. */
  roomId: string | null;
  lines: ChatLine[];
}

export interface Toast {
  id: number;
  kind: 'error' | 'notice' | 'info';
  title: string;
  text: string;
}

export interface Invite {
  partyId: string;
  from: { userId: string; name: string };
  expiresAt: number;
  /** When this page first saw it, for the countdown bar. */
  seenAt: number;
  /** The party as it was when the invite was sent (absent when fetched with party.current). */
  party?: PartyView;
}

/** What a player needs to reach a started game: from game.started, or from a ready match. */
export interface StartKey {
  gameId: string;
  sessionKey?: string;
  serverAddress?: string;
}

export interface ListFilter {
  gameType: string;
  nameContains: string;
  freeSeats: boolean;
  noPassword: boolean;
  status: 'any' | 'open' | 'inProgress';
}

export type ConnLabel = LobbyState | 'idle';

/** A friend, a request either way, or a user one blocked (friends.list, friends.changed). */
export type Friend = EventData<'friends.changed'>['friend'];
export type Presence = NonNullable<Friend['presence']>;
/** One message of one's inbox (mail.list, mail.received). */
export type Mail = EventData<'mail.received'>['mail'];
export type Profile = OpResult<'profile.get'>['profile'];
/** Whom the mail form writes to: a friend, or the sender of a message being answered. */
export interface MailTarget {
  userId: string;
  name: string;
}

export interface LobbyModel {
  conn: ConnLabel;
  /** Why the connection is in that state (close reason, next retry), in words. */
  connDetail: string;
  /** Set while a stored session is being resumed at page load. */
  restoring: boolean;
  me: { userId: string; name: string } | null;
  /** One's own profile (account kind, level, rating), fetched after login. */
  profile: Profile | null;
  /** The activity text one's friends see (presence.set). */
  activity: string | null;
  game: GameView | null;
  spectating: boolean;
  startKey: StartKey | null;
  gameChat: Chat;
  party: PartyView | null;
  partyChat: Chat;
  invites: Invite[];
  ticket: TicketUpdate | null;
  /** Whether this player pressed accept on the found match. */
  accepted: boolean;
  /** When this page first saw the found match (local clock), for the countdown bar. */
  foundAt: number;
  filter: ListFilter;
  subscriptionId: string | null;
  games: GameSummary[];
  listLoading: boolean;
  /** Friends, requests both ways and blocked users; null until friends.list answered. */
  friends: Friend[] | null;
  /** Unacknowledged mail, as listed and received (deduplicated by id). */
  mail: Mail[];
  mailLoaded: boolean;
  /** Set by a friend's "Mail" or a message's "Reply": the mail form writes to them. */
  mailTo: MailTarget | null;
  toasts: Toast[];
  /** Server clock minus local clock (ms), from session.ping: countdowns use server time. */
  clockOffset: number;
}

const DEFAULT_FILTER: ListFilter = { gameType: '', nameContains: '', freeSeats: false, noPassword: false, status: 'any' };

// ---------------------------------------------------------------- persistence (per tab)

const KEY = 'foyer.session';
interface Saved {
  token: string;
  userId: string;
  name: string;
  lastSeq: number;
  subscriptionId?: string | null;
  startKey?: StartKey | null;
  gameChat?: Chat;
  partyChat?: Chat;
  filter?: ListFilter;
  /** Mail acknowledged in this tab: a replayed mail.received of one of them is not shown again. */
  acked?: string[];
  activity?: string | null;
}

/** A guest remembered by this browser: auth.guest with its device secret is the same guest again. */
const GUEST_KEY = 'foyer.guest';
export interface SavedGuest {
  userId: string;
  name: string;
  deviceSecret: string;
}

export function savedGuest(): SavedGuest | undefined {
  try {
    const raw = localStorage.getItem(GUEST_KEY);
    const g = raw ? (JSON.parse(raw) as SavedGuest) : undefined;
    return g && typeof g.deviceSecret === 'string' && typeof g.name === 'string' ? g : undefined;
  } catch {
    return undefined;
  }
}

function saveGuest(g: SavedGuest | undefined): void {
  try {
    if (g) localStorage.setItem(GUEST_KEY, JSON.stringify(g));
    else localStorage.removeItem(GUEST_KEY);
  } catch {
    // Storage off: the guest is new at each login.
  }
}

function load(): Saved | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as Saved) : undefined;
    return s && typeof s.token === 'string' && typeof s.lastSeq === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the lobby

const GAME_EVENTS = [
  'game.playerJoined',
  'game.playerLeft',
  'game.playerUpdated',
  'game.spectatorJoined',
  'game.spectatorLeft',
  'game.updated',
  'game.started',
  'game.ended',
] as const;
const PARTY_EVENTS = [
  'party.invited',
  'party.inviteEnded',
  'party.snapshot',
  'party.memberJoined',
  'party.memberLeft',
  'party.memberUpdated',
  'party.leaderChanged',
  'party.queueChanged',
  'party.ended',
] as const;
type GameEv = (typeof GAME_EVENTS)[number];
type PartyEv = (typeof PARTY_EVENTS)[number];
type Orphan = { ev: EventName; data: unknown; at: number };
const SOCIAL_EVENTS = ['friends.changed', 'presence.changed', 'friends.profileChanged'] as const;
type SocialEv = (typeof SOCIAL_EVENTS)[number];
type Social = { [E in SocialEv]: { ev: E; d: EventData<E> } }[SocialEv];

/** How long an event for a game, party or list this page does not know yet is kept for it. */
const ORPHAN_MS = 10_000;
const CHAT_KEEP = 100;

/**
 * The page's model of the lobby: one LobbyClient, the state the page shows,
 * and every action a person can take. Events update the state as they come;
 * an event for a game, party or list subscription whose snapshot has not
 * arrived yet (a reply still on its way) waits and is applied on top of it.
 */
export class Lobby {
  readonly store = new Store<LobbyModel>({
    conn: 'idle',
    connDetail: '',
    restoring: false,
    me: null,
    profile: null,
    activity: null,
    game: null,
    spectating: false,
    startKey: null,
    gameChat: { roomId: null, lines: [] },
    party: null,
    partyChat: { roomId: null, lines: [] },
    invites: [],
    ticket: null,
    accepted: false,
    foundAt: 0,
    filter: { ...DEFAULT_FILTER },
    subscriptionId: null,
    games: [],
    listLoading: false,
    friends: null,
    mail: [],
    mailLoaded: false,
    mailTo: null,
    toasts: [],
    clockOffset: 0,
  });

  #client: LobbyClient | undefined;
  #unsubs: (() => void)[] = [];
  #token: string | undefined;
  #orphans: Orphan[] = [];
  #nextId = 1;
  #refetching = new Set<string>();
  /**
   * The seq of the last event this page handled, saved as `lastSeq`. Kept
   * here, not read from the SDK: after a page-load session.resume the SDK
   * counts from 0 again, so a later automatic resume may replay events this
   * tab saw before the reload; they are dropped by seq.
   */
  #seq = 0;
  #subscribing = 0;
  #resumeTries = 0;
  /** Friend events that came while friends.list was on its way: applied again on top of its answer. */
  #socialWhileLoading: Social[] | null = null;
  /** Mail acknowledged here; a repeated mail.received of one of them is dropped. */
  #acked = new Set<string>();
  /** Server time of the latest login: mail sent before it is not announced with a toast. */
  #mailSince = 0;

  constructor(readonly url: string) {
    const saved = load();
    if (saved) {
      this.set({
        filter: { ...DEFAULT_FILTER, ...saved.filter },
        startKey: saved.startKey ?? null,
        gameChat: saved.gameChat ?? { roomId: null, lines: [] },
        partyChat: saved.partyChat ?? { roomId: null, lines: [] },
        activity: saved.activity ?? null,
      });
      this.#acked = new Set(saved.acked ?? []);
    }
    // Keep the tab's session (token, lastSeq, chat) so a reload resumes it.
    this.store.subscribe(() => this.#save());
    addEventListener('pagehide', () => this.#save());
    setInterval(() => this.#save(), 5000);
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

  /** Opens a connection; resumes the tab's stored session if there is one. */
  async start(): Promise<void> {
    this.#detachClient();
    const client = new LobbyClient({ url: this.url, reconnect: { minDelayMs: 300, maxDelayMs: 5000 } });
    this.#client = client;
    this.#listen(client);
    const saved = load();
    this.set({ restoring: !!saved });
    try {
      await client.connect();
    } catch (err) {
      this.set({ restoring: false });
      this.error('Cannot connect to the lobby', err);
      return;
    }
    if (!saved) return;
    try {
      // The SDK resumes by itself after a dropped connection; after a page load it is ours to do.
      this.#seq = saved.lastSeq;
      const r = await client.call('session.resume', { token: saved.token, lastSeq: saved.lastSeq });
      if (!r.resumed) this.#seq = 0; // a new session: numbering starts again
      this.#token = client.token ?? saved.token;
      this.set({ me: { userId: r.userId, name: r.name }, conn: r.resumed ? 'resumed' : 'resynced', connDetail: r.resumed ? 'session resumed after reload' : 'new session: state fetched again' });
      await this.#afterLogin(saved.subscriptionId ?? null);
    } catch (err) {
      const code = err instanceof LobbyError ? err.code : 'INTERNAL';
      if (TRANSIENT.has(code) && this.#resumeTries++ < 5) {
        // The connection, not the session, failed: keep the saved session and try again.
        this.error('Could not resume your session yet; retrying', err);
        setTimeout(() => void this.start(), 1000 * this.#resumeTries);
        return;
      }
      sessionStorage.removeItem(KEY);
      this.set({ me: null, startKey: null });
      this.error('Your saved session could not be resumed; log in again', err);
    }
    this.#resumeTries = 0;
    this.set({ restoring: false });
  }

  /** Logs in as a new guest named `name`, or as the guest this browser remembers. */
  async loginGuest(name: string, remembered?: SavedGuest): Promise<void> {
    await this.#login('Log in as a guest', async (c) => {
      try {
        const r = await c.call('auth.guest', remembered ? { name: remembered.name, deviceSecret: remembered.deviceSecret } : { name });
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
    await this.#login(create ? 'Create an account' : 'Log in', (c) => (create ? c.call('auth.register', { name, password }) : c.call('auth.login', { name, password })));
  }

  async #login(what: string, fn: (c: LobbyClient) => Promise<{ userId: string; name: string; token: string }>): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await this.act(what, async () => {
      if (client.state === 'closed') await client.connect();
      this.#seq = 0;
      this.#acked.clear();
      const r = await fn(client);
      this.#token = r.token;
      await this.#handTokenToSdk(client, r.token);
      // Failed tries ("wrong name or password") are over: their toasts go.
      this.set((s) => ({ me: { userId: r.userId, name: r.name }, gameChat: { roomId: null, lines: [] }, partyChat: { roomId: null, lines: [] }, startKey: null, activity: null, toasts: s.toasts.filter((t) => t.kind !== 'error') }));
      this.#save();
      await this.#afterLogin(null);
    });
  }

  /**
   * The SDK takes the token (and so resumes after a dropped connection) from
   * the logins it knows: auth.guest, auth.token, session.resume, auth.refresh.
   * After auth.login, auth.register or auth.upgrade it may not have it: an
   * auth.refresh hands it over.
   */
  async #handTokenToSdk(client: LobbyClient, token: string): Promise<void> {
    if (client.token === token) return;
    try {
      const r = await client.call('auth.refresh', {});
      this.#token = r.token;
    } catch {
      // Logged in all the same; only a resume after a drop would fall back to the login page.
    }
  }

  /** Forgets the tab's session and starts over logged out. */
  async logout(): Promise<void> {
    sessionStorage.removeItem(KEY);
    this.#token = undefined;
    const client = this.#client;
    this.#detachClient();
    await client?.close();
    this.#acked.clear();
    this.set({
      me: null, profile: null, activity: null, game: null, party: null, invites: [], ticket: null, startKey: null, games: [], subscriptionId: null,
      gameChat: { roomId: null, lines: [] }, partyChat: { roomId: null, lines: [] }, friends: null, mail: [], mailLoaded: false, mailTo: null,
    });
    await this.start();
  }

  #detachClient(): void {
    for (const u of this.#unsubs) u();
    this.#unsubs = [];
    const old = this.#client;
    this.#client = undefined;
    if (old && old.state !== 'closed') void old.close();
  }

  /** After a login, a page-load resume or a resync: fetch everything the page shows. */
  async #afterLogin(oldSubscription: string | null): Promise<void> {
    this.#orphans = [];
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
      this.refetchTicket(),
      this.subscribeList(),
      this.refetchProfile(),
      this.refetchFriends(),
      this.refetchMail(),
    ]);
  }

  #c(): LobbyClient {
    if (!this.#client) throw new LobbyError('CLOSED', 'not connected');
    return this.#client;
  }

  /** Calls an op; the page reports failures itself, so callers may ignore the rejection. */
  call<O extends OpName>(op: O, data: OpData<O>): Promise<OpResult<O>> {
    const client: { call(op: O, data: OpData<O>): Promise<OpResult<O>> } = this.#c();
    return client.call(op, data);
  }

  /** Runs an action; a failure becomes a toast naming the error code and the server's words. */
  async act<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
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
    const id = this.#nextId++;
    this.set((s) => ({ toasts: [...s.toasts.slice(-4), { id, kind, title, text }] }));
    setTimeout(() => this.dismiss(id), kind === 'error' ? 15_000 : 8_000);
  }

  dismiss(id: number): void {
    this.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  }

  #save(): void {
    const me = this.state.me;
    const client = this.#client;
    if (!me || !client) return;
    const token = client.token ?? this.#token;
    if (!token) return;
    const s = this.state;
    const saved: Saved = {
      token,
      userId: me.userId,
      name: me.name,
      lastSeq: this.#seq,
      subscriptionId: s.subscriptionId,
      startKey: s.startKey,
      gameChat: s.gameChat,
      partyChat: s.partyChat,
      filter: s.filter,
      acked: [...this.#acked].slice(-500),
      activity: s.activity,
    };
    try {
      sessionStorage.setItem(KEY, JSON.stringify(saved));
    } catch {
      // Storage full or off: a reload will ask for a name again.
    }
  }

  #listen(client: LobbyClient): void {
    const u = this.#unsubs;
    u.push(client.onState((state, info) => this.#onState(state, info)));
    const on = <E extends EventName>(ev: E, fn: (d: EventData<E>) => void) =>
      u.push(client.on(ev, (d, frame) => {
        if (frame.seq <= this.#seq) return; // handled before a reload
        this.#seq = frame.seq;
        fn(d);
      }));
    for (const ev of GAME_EVENTS) on(ev, (d) => this.#gameEvent(ev, d));
    for (const ev of PARTY_EVENTS) on(ev, (d) => this.#partyEvent(ev, d));
    on('games.added', (d) => this.#listEvent('games.added', d));
    on('games.updated', (d) => this.#listEvent('games.updated', d));
    on('games.removed', (d) => this.#listEvent('games.removed', d));
    on('chat.message', (d) => this.#chat(d));
    on('friends.changed', (d) => this.#social({ ev: 'friends.changed', d }));
    on('presence.changed', (d) => this.#social({ ev: 'presence.changed', d }));
    on('friends.profileChanged', (d) => this.#social({ ev: 'friends.profileChanged', d }));
    on('mail.received', (d) => this.#mailReceived(d.mail));
    on('mm.status', (d) => this.#mmStatus(d));
    on('server.notice', (d) => this.toast('notice', 'Server notice', d.text));
  }

  #onState(state: LobbyState, info: StateInfo): void {
    let detail = '';
    if (state === 'reconnecting') {
      detail = `attempt ${info.attempt ?? 1} in ${((info.delayMs ?? 0) / 1000).toFixed(1)} s` + (info.close ? ` — ${describeClose(info.close)}` : '');
    } else if (state === 'closed') {
      detail = info.error ? `${info.error.code}: ${info.error.message}` : info.close ? describeClose(info.close) : '';
    } else if (state === 'resumed') {
      detail = 'reconnected; missed events replayed';
    } else if (state === 'resynced') {
      detail = 'reconnected, but events were missed: state fetched again';
    }
    if (state === 'resynced') this.#seq = 0;
    this.set({ conn: state, connDetail: detail });
    if (state === 'resynced') void this.#afterLogin(null); // subscribeList replaces the old subscription
    if (state === 'closed' && this.state.me && info.close?.name === 'REPLACED') {
      this.toast('error', 'Disconnected', 'This account logged in on another connection (4001 REPLACED).');
    }
  }

  // ---- snapshots

  async refetchGame(): Promise<void> {
    if (this.#refetching.has('game')) return;
    this.#refetching.add('game');
    try {
      const r = await this.call('game.current', {});
      this.#setGame(r.game, r.spectating);
    } catch (err) {
      this.error('Could not load your game', err);
    } finally {
      this.#refetching.delete('game');
    }
  }

  async refetchParty(): Promise<void> {
    if (this.#refetching.has('party')) return;
    this.#refetching.add('party');
    try {
      const r = await this.call('party.current', {});
      const known = new Map(this.state.invites.map((i) => [i.partyId, i]));
      const invites = r.invites.map((i) => ({ ...i, seenAt: known.get(i.partyId)?.seenAt ?? Date.now(), ...(known.get(i.partyId)?.party && { party: known.get(i.partyId)!.party! }) }));
      this.set({ invites });
      this.#setParty(r.party);
    } catch (err) {
      this.error('Could not load your party', err);
    } finally {
      this.#refetching.delete('party');
    }
  }

  async refetchTicket(): Promise<void> {
    try {
      const r = await this.call('mm.current', {});
      const t = r.ticket;
      const cur = this.state.ticket;
      // A finished ticket on display (ready, cancelled…) stays until dismissed.
      if (t || (cur && (cur.status === 'queued' || cur.status === 'found'))) this.set({ ticket: t, accepted: !!t && t.status === 'found' && this.#acceptedIn(t), foundAt: Date.now() });
    } catch (err) {
      this.error('Could not load your matchmaking ticket', err);
    }
  }

  #acceptedIn(t: TicketUpdate): boolean {
    const me = this.state.me?.userId;
    return !!t.match?.teams.flat().some((p) => p.userId === me && p.accepted);
  }

  /** A game from a reply (create, join, quick join), or null after leaving. */
  enterGame(view: GameView | null, spectating: boolean): void {
    this.#setGame(view, spectating);
  }

  enterParty(view: PartyView | null): void {
    this.#setParty(view);
  }

  #setGame(view: GameView | null, spectating: boolean): void {
    const cur = this.state.game;
    if (view && cur && cur.id === view.id && cur.version > view.version) return; // newer events were applied already
    this.set({ game: view, spectating });
    if (view) {
      if (this.state.gameChat.roomId !== view.id) this.set({ gameChat: { roomId: view.id, lines: [] } });
      if (this.state.startKey && this.state.startKey.gameId !== view.id) this.set({ startKey: null });
      this.#adopt((o) => (o.data as { gameId?: string }).gameId === view.id && (GAME_EVENTS as readonly string[]).includes(o.ev), (o) => this.#gameEvent(o.ev as GameEv, o.data as EventData<GameEv>));
    } else {
      this.set({ startKey: null });
    }
  }

  #setParty(view: PartyView | null): void {
    const cur = this.state.party;
    if (view && cur && cur.id === view.id && cur.version > view.version) return;
    this.set({ party: view });
    if (view) {
      if (this.state.partyChat.roomId !== view.id) this.set({ partyChat: { roomId: view.id, lines: [] } });
      this.#adopt((o) => (o.data as { partyId?: string }).partyId === view.id && (PARTY_EVENTS as readonly string[]).includes(o.ev), (o) => this.#partyEvent(o.ev as PartyEv, o.data as EventData<PartyEv>));
    }
  }

  /** Applies the waiting events a new snapshot was missing (each one's version decides). */
  #adopt(match: (o: Orphan) => boolean, apply: (o: Orphan) => void): void {
    const now = Date.now();
    const mine = this.#orphans.filter((o) => now - o.at < ORPHAN_MS && match(o));
    this.#orphans = this.#orphans.filter((o) => now - o.at < ORPHAN_MS && !match(o));
    for (const o of mine) apply(o);
  }

  #orphan(ev: EventName, data: unknown): void {
    this.#orphans.push({ ev, data, at: Date.now() });
    if (this.#orphans.length > 200) this.#orphans.shift();
  }

  // ---- games

  #gameEvent<E extends GameEv>(ev: E, d: EventData<E>): void {
    const g = this.state.game;
    const me = this.state.me?.userId;
    if (!g || g.id !== d.gameId) {
      this.#orphan(ev, d);
      return;
    }
    if (ev === 'game.ended') {
      const e = d as EventData<'game.ended'>;
      this.set({ game: null, startKey: null });
      this.toast('info', 'Game over', `“${g.name}” ended (${e.reason}).`);
      return;
    }
    const { version } = d as { version: number };
    if (ev === 'game.started') {
      const e = d as EventData<'game.started'>;
      // Every player's copy has the same version; the key must be kept even if the snapshot has the start already.
      if (e.sessionKey || e.serverAddress) this.set({ startKey: { gameId: g.id, ...(e.sessionKey && { sessionKey: e.sessionKey }), ...(e.serverAddress && { serverAddress: e.serverAddress }) } });
      if (version > g.version) this.set({ game: { ...g, version, inProgress: true, startedAt: Date.now(), confirmBy: e.confirmBy } });
      return;
    }
    if (version <= g.version) return;
    if (version > g.version + 1) void this.refetchGame(); // missed something: apply this, then fetch the truth
    let next: GameView = { ...g, version };
    switch (ev) {
      case 'game.playerJoined': {
        const e = d as EventData<'game.playerJoined'>;
        next.players = [...g.players.filter((p) => p.userId !== e.player.userId), e.player].sort((a, b) => a.slot - b.slot);
        break;
      }
      case 'game.playerLeft': {
        const e = d as EventData<'game.playerLeft'>;
        if (e.userId === me) {
          this.set({ game: null, startKey: null });
          if (e.reason !== 'left' && e.reason !== 'joinedAnother') this.toast('info', 'You left the game', `You were removed from “${g.name}” (${e.reason}).`);
          return;
        }
        next.players = g.players.filter((p) => p.userId !== e.userId);
        next.ownerId = e.ownerId;
        break;
      }
      case 'game.playerUpdated': {
        const e = d as EventData<'game.playerUpdated'>;
        next.players = g.players.map((p) => (p.userId === e.player.userId ? e.player : p));
        break;
      }
      case 'game.spectatorJoined': {
        const e = d as EventData<'game.spectatorJoined'>;
        next.spectators = [...g.spectators.filter((p) => p.userId !== e.spectator.userId), e.spectator];
        break;
      }
      case 'game.spectatorLeft': {
        const e = d as EventData<'game.spectatorLeft'>;
        if (e.userId === me) {
          this.set({ game: null, spectating: false });
          if (e.reason === 'kicked') this.toast('info', 'You stopped watching', `The owner removed you from “${g.name}”.`);
          return;
        }
        next.spectators = g.spectators.filter((p) => p.userId !== e.userId);
        break;
      }
      case 'game.updated':
        next = { ...(d as EventData<'game.updated'>).game, version };
        break;
    }
    this.set({ game: next });
  }

  // ---- parties

  #partyEvent<E extends PartyEv>(ev: E, d: EventData<E>): void {
    const me = this.state.me?.userId;
    const p = this.state.party;
    if (ev === 'party.invited') {
      const e = d as EventData<'party.invited'>;
      if (e.userId === me) {
        this.set((s) => ({ invites: [...s.invites.filter((i) => i.partyId !== e.partyId), { partyId: e.partyId, from: e.from, expiresAt: e.expiresAt, seenAt: Date.now(), party: e.party }] }));
        return;
      }
    }
    if (ev === 'party.inviteEnded') {
      const e = d as EventData<'party.inviteEnded'>;
      if (e.userId === me) {
        const had = this.state.invites.find((i) => i.partyId === e.partyId);
        this.set((s) => ({ invites: s.invites.filter((i) => i.partyId !== e.partyId) }));
        if (had && (e.reason === 'expired' || e.reason === 'cancelled')) this.toast('info', 'Invite gone', `${had.from.name}'s invite ${e.reason === 'expired' ? 'expired' : 'was cancelled'}.`);
        return;
      }
    }
    if (ev === 'party.snapshot') {
      const view = (d as EventData<'party.snapshot'>).party;
      if (!p || p.id !== view.id || view.version >= p.version) this.#setParty(view);
      return;
    }
    if (ev === 'party.ended') {
      const e = d as EventData<'party.ended'>;
      this.set((s) => ({ invites: s.invites.filter((i) => i.partyId !== e.partyId) }));
      if (p && p.id === e.partyId) {
        this.set({ party: null });
        if (p.members.length > 1 || e.reason !== 'expired') this.toast('info', 'Party over', `Your party ended (${e.reason}).`);
      } else {
        this.#orphan(ev, d);
      }
      return;
    }
    const { partyId, version } = d as { partyId: string; version: number };
    if (!p || p.id !== partyId) {
      this.#orphan(ev, d);
      return;
    }
    if (version <= p.version) return;
    if (version > p.version + 1) void this.refetchParty();
    let next: PartyView = { ...p, version };
    switch (ev) {
      case 'party.invited':
        next = { ...(d as EventData<'party.invited'>).party, version };
        break;
      case 'party.inviteEnded': {
        const e = d as EventData<'party.inviteEnded'>;
        next.invites = p.invites.filter((i) => i.userId !== e.userId);
        break;
      }
      case 'party.memberJoined': {
        const e = d as EventData<'party.memberJoined'>;
        next.members = [...p.members.filter((m) => m.userId !== e.member.userId), e.member];
        next.permanent = next.members.length > 1;
        break;
      }
      case 'party.memberLeft': {
        const e = d as EventData<'party.memberLeft'>;
        if (e.userId === me) {
          this.set({ party: null });
          if (e.reason === 'kicked') this.toast('info', 'Removed from the party', 'The leader removed you from the party.');
          return;
        }
        next.members = p.members.filter((m) => m.userId !== e.userId);
        next.leaderId = e.leaderId;
        next.permanent = next.members.length > 1;
        break;
      }
      case 'party.memberUpdated': {
        const e = d as EventData<'party.memberUpdated'>;
        next.members = p.members.map((m) => (m.userId === e.userId ? { ...m, attributes: e.attributes } : m));
        break;
      }
      case 'party.leaderChanged':
        next.leaderId = (d as EventData<'party.leaderChanged'>).leaderId;
        break;
      case 'party.queueChanged':
        next.queue = (d as EventData<'party.queueChanged'>).queue;
        break;
    }
    this.set({ party: next });
  }

  // ---- game list

  #listEvent(ev: 'games.added' | 'games.updated' | 'games.removed', d: EventData<'games.added'> | EventData<'games.removed'>): void {
    if (d.subscriptionId !== this.state.subscriptionId) {
      // A subscription whose reply is on its way: keep the event for it.
      if (this.#subscribing) this.#orphan(ev, d);
      return;
    }
    if (ev === 'games.removed') {
      const id = (d as EventData<'games.removed'>).gameId;
      this.set((s) => ({ games: s.games.filter((g) => g.id !== id) }));
      return;
    }
    const game = (d as EventData<'games.added'>).game;
    this.set((s) => {
      const old = s.games.find((g) => g.id === game.id);
      if (old && old.version > game.version) return {};
      return { games: [...s.games.filter((g) => g.id !== game.id), game].sort(newestFirst) };
    });
  }

  async subscribeList(): Promise<void> {
    const f = this.state.filter;
    const filter: OpData<'games.subscribe'>['filter'] = { status: f.status };
    if (f.gameType.trim()) filter.gameType = f.gameType.trim();
    if (f.nameContains.trim()) filter.nameContains = f.nameContains.trim().slice(0, 32);
    if (f.freeSeats) filter.hasFreeSeats = true;
    if (f.noPassword) filter.hasPassword = false;
    const old = this.state.subscriptionId;
    this.set({ listLoading: true });
    this.#subscribing++;
    try {
      if (old) {
        this.set({ subscriptionId: null });
        await this.call('games.unsubscribe', { subscriptionId: old }).catch(() => {});
      }
      const r = await this.call('games.subscribe', { filter, limit: 50 });
      if (this.state.filter !== f) {
        // The filter changed while this one was on its way; the newer call wins.
        void this.call('games.unsubscribe', { subscriptionId: r.subscriptionId }).catch(() => {});
        return;
      }
      this.set({ subscriptionId: r.subscriptionId, games: [...r.games].sort(newestFirst) });
      this.#adopt((o) => (o.data as { subscriptionId?: string }).subscriptionId === r.subscriptionId, (o) => this.#listEvent(o.ev as 'games.added', o.data as EventData<'games.added'>));
    } catch (err) {
      this.error('Could not load the game list', err);
    } finally {
      this.#subscribing--;
      this.set({ listLoading: false });
    }
  }

  #filterTimer: ReturnType<typeof setTimeout> | undefined;
  setFilter(patch: Partial<ListFilter>): void {
    this.set((s) => ({ filter: { ...s.filter, ...patch } }));
    clearTimeout(this.#filterTimer);
    this.#filterTimer = setTimeout(() => void this.subscribeList(), 250);
  }

  // ---- you

  async refetchProfile(): Promise<void> {
    try {
      const r = await this.call('profile.get', {});
      this.set((s) => ({ profile: r.profile, ...(s.me && s.me.name !== r.profile.name && { me: { ...s.me, name: r.profile.name } }) }));
    } catch (err) {
      this.error('Could not load your profile', err);
    }
  }

  /** Turns the guest one plays as into a named account (auth.upgrade), keeping id, rating and friends. */
  async upgrade(name: string, password: string): Promise<boolean> {
    const r = await this.act('Save your account', async () => {
      const c = this.#c();
      const r = await c.call('auth.upgrade', { name, password });
      this.#token = r.token;
      await this.#handTokenToSdk(c, r.token);
      return r;
    });
    if (!r) return false;
    if (savedGuest()?.userId === r.userId) saveGuest(undefined);
    this.set({ me: { userId: r.userId, name: r.name } });
    this.toast('info', 'Account saved', `From now on log in as “${r.name}” with your password.`);
    void this.refetchProfile();
    return true;
  }

  async setActivity(activity: string | null): Promise<void> {
    const r = await this.act('Set your status', () => this.call('presence.set', { activity }));
    if (r) this.set({ activity: r.presence.activity });
  }

  // ---- friends and presence

  async refetchFriends(): Promise<void> {
    if (this.#socialWhileLoading) return;
    this.#socialWhileLoading = [];
    try {
      const r = await this.call('friends.list', {});
      const during = this.#socialWhileLoading;
      this.set({ friends: [...r.friends].sort(byName) });
      // Events that crossed the answer: each one is a change at least as new as the list.
      for (const e of during) this.#applySocial(e);
    } catch (err) {
      this.error('Could not load your friends', err);
    } finally {
      this.#socialWhileLoading = null;
    }
  }

  #social(e: Social): void {
    this.#socialWhileLoading?.push(e);
    this.#applySocial(e);
    if (e.ev !== 'friends.changed' || e.d.removed) return;
    const f = e.d.friend;
    if (f.state === 'requestReceived') this.toast('info', 'Friend request', `${f.name} wants to be your friend.`);
  }

  #applySocial(e: Social): void {
    const list = this.state.friends;
    if (!list) return; // friends.list is on its way (or failed: its retry brings everything)
    switch (e.ev) {
      case 'friends.changed': {
        const f = e.d.friend;
        const old = list.find((x) => x.userId === f.userId);
        const rest = list.filter((x) => x.userId !== f.userId);
        this.set({ friends: e.d.removed ? rest : [...rest, f].sort(byName) });
        if (!e.d.removed && old?.state === 'requestSent' && f.state === 'friend' && !this.#socialWhileLoading) {
          this.toast('info', 'New friend', `${f.name} accepted your friend request.`);
        }
        break;
      }
      case 'presence.changed': {
        const { userId, name, presence } = e.d;
        this.set({ friends: list.map((x) => (x.userId === userId ? { ...x, name, presence } : x)) });
        break;
      }
      case 'friends.profileChanged': {
        const { userId, profile } = e.d;
        this.set({ friends: list.map((x) => (x.userId === userId ? { ...x, name: profile.name } : x)) });
        break;
      }
    }
  }

  /** A friend op that answers with the entry as it is now (friends.request, friends.accept). */
  async #friendEntry(what: string, op: 'friends.request' | 'friends.accept', userId: string): Promise<Friend | undefined> {
    const r = await this.act(what, () => this.call(op, { userId }));
    if (!r) return undefined;
    this.set((s) => ({ friends: s.friends && [...s.friends.filter((x) => x.userId !== r.friend.userId), r.friend].sort(byName) }));
    return r.friend;
  }

  async requestFriend(userId: string): Promise<boolean> {
    if (userId === this.state.me?.userId) {
      this.toast('error', 'Send a friend request', 'That is your own user id.');
      return false;
    }
    const f = await this.#friendEntry('Send a friend request', 'friends.request', userId);
    if (!f) return false;
    this.toast('info', f.state === 'friend' ? 'New friend' : 'Friend request sent', f.state === 'friend' ? `You and ${f.name} are friends now.` : `${f.name} sees your request.`);
    return true;
  }

  async acceptFriend(f: Friend): Promise<void> {
    await this.#friendEntry(`Accept ${f.name}'s request`, 'friends.accept', f.userId);
  }

  /** Ops that answer `{}`: the friends.changed event that follows updates the list. */
  async friendOp(op: 'friends.decline' | 'friends.remove' | 'friends.block' | 'friends.unblock', f: Friend, what: string): Promise<void> {
    const ok = await this.act(what, () => this.call(op, { userId: f.userId }));
    if (ok && op === 'friends.unblock') this.set((s) => ({ friends: s.friends && s.friends.filter((x) => x.userId !== f.userId) }));
  }

  async inviteToParty(user: { userId: string; name: string }): Promise<void> {
    await this.act(`Invite ${user.name} to your party`, async () => {
      const r = await this.call('party.invite', { userId: user.userId });
      this.enterParty(r.party);
      const inv = r.party.invites.find((i) => i.userId === user.userId);
      this.toast('info', 'Party invite sent', inv ? `${user.name} has ${Math.round((inv.expiresAt - this.now()) / 1000)} s to accept.` : `${user.name} is invited.`);
    });
  }

  // ---- mail

  async refetchMail(): Promise<void> {
    try {
      const r = await this.call('mail.list', { limit: 200 });
      // Together with what mail.received brought meanwhile: nothing leaves the inbox but by mail.ack.
      this.set((s) => ({ mail: mergeMail(s.mail, r.mail.filter((m) => !this.#acked.has(m.id))), mailLoaded: true }));
    } catch (err) {
      this.error('Could not load your mail', err);
    }
  }

  #mailReceived(m: Mail): void {
    if (this.#acked.has(m.id) || this.state.mail.some((x) => x.id === m.id)) return; // delivered at least once: keep one copy
    this.set((s) => ({ mail: mergeMail(s.mail, [m]) }));
    if (m.sentAt >= this.#mailSince) this.toast('info', `Mail from ${m.fromName}`, m.body.length > 120 ? m.body.slice(0, 117) + '…' : m.body);
  }

  async ackMail(all: string[]): Promise<void> {
    const ids = all.slice(0, 200); // the most one mail.ack takes
    if (!ids.length) return;
    const ok = await this.act(ids.length > 1 ? 'Acknowledge the mail' : 'Acknowledge the message', () => this.call('mail.ack', { ids }));
    if (!ok) return;
    for (const id of ids) this.#acked.add(id);
    const gone = new Set(ids);
    this.set((s) => ({ mail: s.mail.filter((m) => !gone.has(m.id)) }));
  }

  /**
   * Sends one message. `clientMsgId` makes a retry after a dropped connection
   * safe: 'error' means the send may not have happened (try again with the
   * same id); 'refused' that the server refused it for this recipient.
   */
  async sendMail(to: MailTarget, body: string, clientMsgId: string): Promise<'sent' | 'refused' | 'error'> {
    const r = await this.act(`Mail ${to.name}`, () => this.call('mail.send', { to: [to.userId], body, clientMsgId }));
    if (!r) return 'error';
    const failed = r.failed.find((f) => f.to === to.userId);
    if (failed) {
      this.toast('error', `Mail to ${to.name} was not sent`, `${failed.code}: ${MAIL_REFUSALS[failed.code] ?? 'the server refused it'}`);
      return 'refused';
    }
    this.toast('info', 'Mail sent', `${to.name} gets it now if online, or at their next login.`);
    return 'sent';
  }

  // ---- chat and matchmaking

  #chat(d: EventData<'chat.message'>): void {
    const key = d.channel === 'game' ? 'gameChat' : 'partyChat';
    const roomId = (d.channel === 'game' ? d.gameId : d.partyId) ?? null;
    const line: ChatLine = { id: this.#nextId++, from: d.from, text: d.text, at: d.at };
    this.set((s) => {
      const chat = s[key];
      const lines = chat.roomId === roomId ? [...chat.lines, line].slice(-CHAT_KEEP) : [line];
      return { [key]: { roomId, lines } } as Partial<LobbyModel>;
    });
  }

  #mmStatus(t: TicketUpdate): void {
    const prev = this.state.ticket;
    const sameMatch = !!prev?.match && !!t.match && prev.match.matchId === t.match.matchId;
    this.set({
      ticket: t,
      accepted: t.status === 'found' ? (sameMatch && this.state.accepted) || this.#acceptedIn(t) : this.state.accepted,
      foundAt: sameMatch ? this.state.foundAt : Date.now(),
    });
    if (t.status === 'ready' && t.gameId) {
      this.set({ startKey: { gameId: t.gameId, ...(t.sessionKey && { sessionKey: t.sessionKey }), ...(t.serverAddress && { serverAddress: t.serverAddress }) } });
      void this.refetchGame();
    }
  }

  async mmAccept(): Promise<void> {
    const ok = await this.act('Accept the match', () => this.call('mm.accept', {}));
    if (ok) this.set({ accepted: true });
  }

  dismissTicket(): void {
    this.set({ ticket: null, accepted: false });
  }
}

export function describeClose(c: CloseInfo): string {
  return `closed ${c.code}${c.name ? ` ${c.name}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
}

/** Failures of the connection rather than of the session: worth another try. */
const TRANSIENT: ReadonlySet<string> = new Set(['DISCONNECTED', 'CLOSED', 'TIMEOUT', 'SHUTTING_DOWN', 'RATE_LIMITED', 'INTERNAL', 'NODE_UNAVAILABLE', 'NODE_DRAINING', 'STORAGE_UNAVAILABLE']);

/** Why mail.send refused a recipient (its `failed[].code`), in words. */
const MAIL_REFUSALS: Readonly<Record<string, string>> = {
  USER_NOT_FOUND: 'there is no such player',
  BLOCKED: 'one of you blocked the other',
  INBOX_FULL: 'their inbox is full until they read some mail',
};

/** The sender's user id of a message from a player (`<project>:<userId>`); undefined for operators' mail (`system:…`). */
export function senderId(m: Mail): string | undefined {
  if (m.from.startsWith('system:')) return undefined;
  const i = m.from.indexOf(':');
  return i > 0 ? m.from.slice(i + 1) : undefined;
}

function mergeMail(a: readonly Mail[], b: readonly Mail[]): Mail[] {
  const byId = new Map(a.map((m) => [m.id, m]));
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.sentAt - y.sentAt || x.id.localeCompare(y.id));
}

const byName = (a: Friend, b: Friend) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId);

const newestFirst = (a: GameSummary, b: GameSummary) => b.createdAt - a.createdAt || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
