import { createHash } from 'node:crypto';
import type { GameFilter, GameSort, GameSummary } from '@foyer/shared';
import { LobbyError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { CursorError, GameList, type GameListPage, type GameListQuery } from '../domain/gameList/index.js';

const MAX_SUBSCRIPTIONS = 8;

/**
 * This node's game list and its list streams: `games.list` pages,
 * `games.subscribe` subscriptions (one stream per distinct filter, shared by
 * every session with that filter), and the list events a listing change
 * sets off on them. The list itself is fed by the owners' listings
 * (listFeed.ts, through `publishChange`).
 */
export class GameListStreams {
  readonly list = new GameList();
  /** The filter of each list stream this node carries (`games:<key>`). */
  private readonly filters = new Map<string, GameFilter>();
  /** Per user with list subscriptions here: each one's sort and limit (its snapshot's first page). */
  private readonly pages = new Map<string, Map<string, { sort: GameSort; limit: number }>>();

  constructor(private readonly gateway: Gateway) {
    // The last session here left a list stream: the list stops watching its filter.
    gateway.hub.onDropped = (name) => {
      if (!this.filters.delete(name)) return;
      this.list.unsubscribe(name);
    };
    gateway.snapshotter('games', (s, name) => {
      const filter = this.filters.get(name);
      const page = this.pages.get(s.userId)?.get(name);
      if (!filter || !page) return undefined;
      return { ev: 'games.snapshot', data: { subscriptionId: name, games: this.list.query({ filter, sort: page.sort, limit: page.limit }).games } };
    });
  }

  /** A listing changed (or went): the list streams it changes in hear of it, then the list takes it. */
  publishChange(before: GameSummary | undefined, after: GameSummary | undefined, gameId: string): void {
    const changes = this.list.changes(before, after);
    // The game is encoded once for every list stream it changes in (one per distinct filter).
    const game = changes.length && after ? JSON.stringify(after) : '';
    const id = JSON.stringify(gameId);
    for (const c of changes) {
      if (c.kind === 'removed') this.gateway.publishEncoded(c.subscriptionId, 'games.removed', listEventData(c.subscriptionId, 'gameId', id));
      else this.gateway.publishEncoded(c.subscriptionId, c.kind === 'added' ? 'games.added' : 'games.updated', listEventData(c.subscriptionId, 'game', game));
    }
    if (after) this.list.upsert(after);
    else this.list.remove(gameId);
  }

  /** The session starts afresh (or left): its list subscriptions are gone. */
  unsubscribeAll(userId: string): void {
    const mine = this.pages.get(userId);
    this.pages.delete(userId);
    if (mine) for (const name of mine.keys()) this.gateway.unsubscribe(userId, name);
  }

  /** A page of the game list (BAD_REQUEST for a bad cursor). */
  query(q: GameListQuery): GameListPage {
    try {
      return this.list.query(q);
    } catch (err) {
      if (err instanceof CursorError) throw new LobbyError('BAD_REQUEST', err.message);
      throw err;
    }
  }

  /**
   * A live subscription to the list under `filter`, and its first page. The
   * subscription is the filter's stream, shared by every session with the
   * same filter: the same filter twice is the same subscription.
   */
  subscribe(userId: string, q: Omit<GameListQuery, 'cursor'> & { sort: GameSort; limit: number }): GameListPage & { subscriptionId: string } {
    const filter = q.filter ?? { status: 'any' };
    const subscriptionId = listStream(filter);
    let mine = this.pages.get(userId);
    if (!mine?.has(subscriptionId) && (mine?.size ?? 0) >= MAX_SUBSCRIPTIONS) throw new LobbyError('BAD_REQUEST', `at most ${MAX_SUBSCRIPTIONS} game list subscriptions per user`);
    // Subscribe before reading the page: a change in between is pushed, not lost.
    if (!this.filters.has(subscriptionId)) {
      this.filters.set(subscriptionId, filter);
      this.list.subscribe(subscriptionId, filter);
    }
    if (!mine) this.pages.set(userId, (mine = new Map()));
    mine.set(subscriptionId, { sort: q.sort, limit: q.limit });
    this.gateway.subscribe(userId, subscriptionId);
    return { subscriptionId, ...this.list.query({ filter, sort: q.sort, limit: q.limit }) };
  }

  unsubscribeOf(userId: string, subscriptionId: string): void {
    const mine = this.pages.get(userId);
    if (!mine?.delete(subscriptionId)) throw new LobbyError('BAD_REQUEST', 'no such subscription');
    if (!mine.size) this.pages.delete(userId);
    this.gateway.unsubscribe(userId, subscriptionId);
  }
}

/** Keys in a fixed order at every depth: one filter, one text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The stream of a list filter: `games:` and a short stable hash of the filter, the same on every node. */
export function listStream(filter: GameFilter): string {
  return `games:${createHash('sha256').update(canonical(filter)).digest('base64url').slice(0, 16)}`;
}

/** The JSON of `{subscriptionId, [key]: value}` for a value already encoded, as JSON.stringify writes it. */
export function listEventData(subscriptionId: string, key: 'game' | 'gameId', encodedValue: string): string {
  return `{"subscriptionId":${JSON.stringify(subscriptionId)},"${key}":${encodedValue}}`;
}
