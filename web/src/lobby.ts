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

export interface LobbyModel {
  conn: ConnLabel;
  /** Why the connection is in that state (close reason, next retry), in words. */
  connDetail: string;
  /** Set while a stored session is being resumed at page load. */
  restoring: boolean;
  me: { userId: string; name: string } | null;
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
type Orphan = { ev: EventName; data: any; at: number };

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

  constructor(readonly url: string) {
    const saved = load();
    if (saved) {
      this.set({
        filter: { ...DEFAULT_FILTER, ...saved.filter },
        startKey: saved.startKey ?? null,
        gameChat: saved.gameChat ?? { roomId: null, lines: [] },
        partyChat: saved.partyChat ?? { roomId: null, lines: [] },
      });
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

  async login(name: string): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await this.act('Log in', async () => {
      if (client.state === 'closed') await client.connect();
      this.#seq = 0;
      const r = await client.call('auth.guest', { name });
      this.#token = r.token;
      this.set({ me: { userId: r.userId, name: r.name }, gameChat: { roomId: null, lines: [] }, partyChat: { roomId: null, lines: [] }, startKey: null });
      this.#save();
      await this.#afterLogin(null);
    });
  }

  /** Forgets the tab's session and starts over logged out. */
  async logout(): Promise<void> {
    sessionStorage.removeItem(KEY);
    this.#token = undefined;
    const client = this.#client;
    this.#detachClient();
    await client?.close();
    this.set({
      me: null, game: null, party: null, invites: [], ticket: null, startKey: null, games: [], subscriptionId: null,
      gameChat: { roomId: null, lines: [] }, partyChat: { roomId: null, lines: [] },
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
    await Promise.all([this.refetchGame(), this.refetchParty(), this.refetchTicket(), this.subscribeList()]);
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
      this.#adopt((o) => (o.data as { gameId?: string }).gameId === view.id && (GAME_EVENTS as readonly string[]).includes(o.ev), (o) => this.#gameEvent(o.ev as GameEv, o.data));
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
      this.#adopt((o) => (o.data as { partyId?: string }).partyId === view.id && (PARTY_EVENTS as readonly string[]).includes(o.ev), (o) => this.#partyEvent(o.ev as PartyEv, o.data));
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
      this.#adopt((o) => (o.data as { subscriptionId?: string }).subscriptionId === r.subscriptionId, (o) => this.#listEvent(o.ev as 'games.added', o.data));
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
const TRANSIENT: ReadonlySet<string> = new Set(['DISCONNECTED', 'CLOSED', 'TIMEOUT', 'SHUTTING_DOWN', 'RATE_LIMITED', 'INTERNAL']);

const newestFirst = (a: GameSummary, b: GameSummary) => b.createdAt - a.createdAt || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
