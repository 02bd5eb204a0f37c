import type { FriendView, Presence, ProfileView } from '@foyer/shared';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Gateway } from '../gateway/gateway.js';
import type { FriendChange, FriendEntry, FriendState, Friends } from '../store/friends.js';

type PresenceView = z.output<typeof Presence>;
type FriendViewOut = z.output<typeof FriendView>;

export interface FriendServiceDeps {
  log: Logger;
  gateway: Gateway;
  store: Friends;
}

/** What presence needs to know of the rest of the lobby; set once games and matchmaking exist. */
export interface Whereabouts {
  inGame(userId: string): boolean;
  inQueue(userId: string): boolean;
  /** Looks up whether these users of other nodes are in a game (their nodes hold their games, this one may not), for `inGame`. */
  lookUp?(users: readonly string[]): Promise<void>;
}

interface PresenceRecord {
  name: string;
  status: PresenceView['status'];
  activity: string | null;
}

const OFFLINE: PresenceView = { status: 'offline', activity: null };
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Friends (stored) and presence (in memory, this node's sessions).
 *
 * Each online user's list is cached from login to the end of the session, so
 * the lobby can ask synchronously whether two users are friends (friends-only
 * games) or one blocked the other (party invites). A list that fails to load
 * (storage down) is retried in the background; meanwhile the checks answer
 * "no" and presence goes on without the friends it cannot name yet.
 *
 * Presence is online / inGame / inQueue (queue first: a game team waiting in a
 * queue shows inQueue) plus a game-defined activity; every change is pushed
 * as presence.changed to the user's online friends. Games and matchmaking
 * call `touched(userId)`; changes are collected and pushed once per tick, so
 * the steps of one move (leave one game, join another) are not seen.
 */
/** The list of a user with no friends, requests or blocks (most players): one shared map, never changed, rather than an empty one each (0.2 KiB). */
const EMPTY: Map<string, FriendState> = new Map();

export class FriendService {
  /** Online user → their list (other user → state from their side); EMPTY until it has an entry. */
  private readonly lists = new Map<string, Map<string, FriendState>>();
  /** Lists being loaded; `stale` when a change came in meanwhile (the load reads again). */
  private readonly loading = new Map<string, { stale: boolean }>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  /**
   * Online users whose presence changes someone may hear: those with a
   * non-EMPTY list or an activity (`watched`). The rest (every guest) have
   * nobody to tell; their presence is derived when asked (`presenceOf`),
   * which saves a record and a map entry per session (~80 bytes).
   */
  private readonly presences = new Map<string, PresenceRecord>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  whereabouts: Whereabouts = { inGame: () => false, inQueue: () => false };

  constructor(private readonly deps: FriendServiceDeps) {
    deps.gateway.onSession({
      // An account made by this very login has no friends yet: nothing to read (the shared EMPTY list: a guest's own empty map cost 0.17 KiB).
      started: (userId, known) => (known?.created && this.lists.set(userId, EMPTY), this.online(userId)),
      back: (userId) => this.online(userId),
      ended: (userId) => this.offline(userId),
      // Its presence goes on on the other node; this one forgets it without telling anyone.
      moved: (userId) => this.forget(userId),
    });
  }

  /** Whether the two are friends (friendship is mutual: either one's list, loaded while online on this node, tells). */
  isFriend(ownerId: string, userId: string): boolean {
    return this.lists.get(ownerId)?.get(userId) === 'friend' || this.lists.get(userId)?.get(ownerId) === 'friend';
  }

  /** Whether `userId` blocked `otherId` (`userId` must be online on this node). */
  blocks(userId: string, otherId: string): boolean {
    return this.lists.get(userId)?.get(otherId) === 'blocked';
  }

  /** A user's game or queue may have changed: their presence is checked again at the end of the tick. */
  touched(userId: string): void {
    if (!this.presences.has(userId)) return;
    this.dirty.add(userId);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const users = [...this.dirty];
      this.dirty.clear();
      for (const u of users) this.refresh(u);
    });
  }

  /** A user on another node of the cluster (as the directory has it cached: `locate` first): status from the replicated games and queues; the activity is known there. */
  presenceOf(userId: string): PresenceView {
    const p = this.presences.get(userId);
    if (p) return { status: p.status, activity: p.activity };
    return this.deps.gateway.online(userId) ? { status: this.status(userId), activity: null } : OFFLINE;
  }

  private status(userId: string): PresenceRecord['status'] {
    if (!this.deps.gateway.online(userId)) return 'offline';
    if (this.whereabouts.inQueue(userId)) return 'inQueue';
    if (this.whereabouts.inGame(userId)) return 'inGame';
    return 'online';
  }

  /** A change of name, rating or side is pushed to the user's online friends. */
  profileChanged(profile: z.output<typeof ProfileView>): void {
    const users = this.friendsOf(profile.userId);
    if (users.length) this.deps.gateway.toUsers(users, 'friends.profileChanged', { userId: profile.userId, profile });
  }

  /** The user's friends; events to them reach those online, wherever they are (the directory finds them, offline ones get nothing). */
  private friendsOf(userId: string): string[] {
    const out: string[] = [];
    for (const [other, state] of this.lists.get(userId) ?? []) if (state === 'friend') out.push(other);
    return out;
  }

  private announce(userId: string, p: PresenceRecord): void {
    const users = this.friendsOf(userId);
    p.name = this.deps.gateway.sessions.get(userId)?.name ?? p.name; // a guest may have taken a name since
    if (users.length) this.deps.gateway.toUsers(users, 'presence.changed', { userId, name: p.name, presence: { status: p.status, activity: p.activity } });
  }

  private refresh(userId: string): void {
    const p = this.presences.get(userId);
    if (!p) return;
    const status = this.status(userId);
    if (status === 'offline' || status === p.status) return; // offline is the session's end, announced there
    p.status = status;
    this.announce(userId, p);
  }

  /**
   * The user's presence record, made now if they have none: from here on
   * their changes are announced. Made with the status as it is now, so the
   * next change is measured against what a friend would be shown
   * (`presenceOf` derived the same status until then, and the activity was
   * null). Nobody heard of the user before (no list entry, no activity), so
   * nothing is owed from before.
   */
  private watched(userId: string, name: string): PresenceRecord {
    let p = this.presences.get(userId);
    if (!p) this.presences.set(userId, (p = { name, status: this.status(userId), activity: null }));
    return p;
  }

  /**
   * No record here: one is made when the list turns out non-EMPTY (load, or
   * apply's first entry) or at setActivity, whichever comes first. Until the
   * list loads nobody could be told anything (friendsOf is empty), so a
   * record made by the load announces as the old one did then.
   */
  private online(userId: string): void {
    if (!this.deps.gateway.sessions.has(userId)) return;
    if (!this.lists.has(userId)) void this.load(userId);
  }

  private offline(userId: string): void {
    const p = this.presences.get(userId);
    if (p) this.announce(userId, { ...p, status: 'offline', activity: null });
    this.forget(userId);
  }

  private forget(userId: string): void {
    this.presences.delete(userId);
    this.dirty.delete(userId);
    const retry = this.retries.get(userId);
    if (retry) clearTimeout(retry.timer);
    this.retries.delete(userId);
    this.lists.delete(userId);
  }

  /** Loads an online user's list, then tells their online friends they are here. */
  private async load(userId: string): Promise<void> {
    const inFlight = this.loading.get(userId);
    if (inFlight) return void (inFlight.stale = true);
    const mark = { stale: false };
    this.loading.set(userId, mark);
    try {
      let entries: FriendEntry[];
      do {
        mark.stale = false;
        entries = await this.deps.store.list(userId);
      } while (mark.stale);
      const session = this.deps.gateway.sessions.get(userId);
      if (!session) return;
      const fresh = !this.lists.has(userId);
      this.lists.set(userId, entries.length ? new Map(entries.map((e) => [e.userId, e.state])) : EMPTY);
      const retry = this.retries.get(userId);
      if (retry) clearTimeout(retry.timer);
      this.retries.delete(userId);
      // A record made by setActivity before the load is kept (with its activity); an EMPTY list without one needs none.
      const p = entries.length ? this.watched(userId, session.name) : this.presences.get(userId);
      if (fresh && p) this.announce(userId, p);
    } catch (err) {
      const retry = this.retries.get(userId);
      const delay = Math.min(RETRY_MAX_MS, retry ? retry.delay * 2 : RETRY_MIN_MS);
      this.deps.log.warn({ err, userId, retryInMs: delay }, 'loading the friend list failed; friends-only checks and presence wait for it');
      const timer = setTimeout(() => {
        if (this.deps.gateway.sessions.has(userId) && !this.lists.has(userId)) void this.load(userId);
      }, delay);
      timer.unref();
      this.retries.set(userId, { timer, delay });
    } finally {
      this.loading.delete(userId);
    }
  }

  private view(e: FriendEntry): FriendViewOut {
    return e.state === 'friend' ? { ...e, presence: this.presenceOf(e.userId) } : { ...e };
  }

  /** Keeps the caches in step and tells both sides. */
  private apply(changes: FriendChange[]): void {
    for (const c of changes) {
      const list = this.lists.get(c.ownerId);
      if (list === EMPTY) {
        if (!c.removed) {
          this.lists.set(c.ownerId, new Map([[c.friend.userId, c.friend.state]]));
          // The first entry: later status changes must reach this friend (a list still loading makes its record when it loads).
          const session = this.deps.gateway.sessions.get(c.ownerId);
          if (session) this.watched(c.ownerId, session.name);
        }
      } else if (list) {
        if (c.removed) list.delete(c.friend.userId);
        else list.set(c.friend.userId, c.friend.state);
      }
      const loading = this.loading.get(c.ownerId);
      if (loading) loading.stale = true;
      this.deps.gateway.toUsers([c.ownerId], 'friends.changed', { friend: this.view(c.friend), removed: c.removed });
    }
  }

  /** The caller's entry after the change. */
  private mine(changes: FriendChange[], userId: string): FriendViewOut {
    const c = changes.find((x) => x.ownerId === userId && !x.removed);
    if (!c) throw new Error('friend change without the caller\'s entry');
    return this.view(c.friend);
  }

  async request(userId: string, other: string): Promise<FriendViewOut> {
    const changes = await this.deps.store.request(userId, other);
    await this.deps.gateway.locate([other]); // for the presence in the views
    this.apply(changes);
    return this.mine(changes, userId);
  }

  async accept(userId: string, other: string): Promise<FriendViewOut> {
    const changes = await this.deps.store.accept(userId, other);
    await this.deps.gateway.locate([other]);
    this.apply(changes);
    return this.mine(changes, userId);
  }

  /** Declines, removes, blocks or unblocks `other`. */
  async change(how: 'decline' | 'remove' | 'block' | 'unblock', userId: string, other: string): Promise<void> {
    this.apply(await this.deps.store[how](userId, other));
  }

  async list(userId: string): Promise<FriendViewOut[]> {
    const entries = await this.deps.store.list(userId);
    const friends = entries.filter((e) => e.state === 'friend').map((e) => e.userId);
    const away = await this.deps.gateway.locate(friends);
    if (away.size) await this.whereabouts.lookUp?.([...away.keys()]);
    // Storage is back (the list loaded): a cache that failed to load need not wait for its retry.
    if (!this.lists.has(userId) && this.deps.gateway.sessions.has(userId)) void this.load(userId);
    return entries.map((e) => this.view(e));
  }

  /** The user's own activity line; friends hear of a change. */
  setActivity(userId: string, name: string, activity: string | null): PresenceView {
    // Clearing an activity never set changes nothing: no record for it.
    if (activity === null && !this.presences.has(userId)) return { status: this.status(userId), activity: null };
    // A record made here stays for the session (even if the activity goes back to null): rare, and simpler than dropping it.
    const p = this.watched(userId, name);
    if (p.activity !== activity) {
      p.activity = activity;
      this.announce(userId, p);
    }
    return { status: p.status, activity: p.activity };
  }
}
