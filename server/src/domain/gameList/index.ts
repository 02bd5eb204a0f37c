/**
 * The game list of one lobby node: an in-memory index of the listed games
 * that answers `games.list`, `games.subscribe` and `games.quickJoin` from the
 * node's own copy: a repeated browse is answered at once from this node's
 * up-to-date copy, never by asking other nodes. Pure: no I/O, no timers, no
 * clock.
 *
 * Index design. Every game is one `Entry` (a flat copy of the fields filters
 * read) in a slot table. Entries sit in *scopes*: one for all games and one
 * per gameType, each split by status (any / open / inProgress). A scope keeps
 * three orders: all its entries by (createdAt, id), and two sets of buckets —
 * one per player count, one per free-seat count (small integers) — each
 * bucket ordered by (createdAt, id). Ordered sets are chunks of ≤ 512
 * (createdAt, slot + meta word) pairs in Float64Arrays: insert/delete is a
 * binary search plus a native memmove. A page is a walk from the cursor's
 * position in the narrowest scope the filter allows (gameType, status): the
 * meta word (status, free seat, password flags and a 24-bit bloom signature
 * of the attributes) rejects most non-matching games without touching their
 * entry, the full filter runs on the rest; at most MAX_SCAN are examined.
 * Quick join has its own per-gameType index of joinable games, bucketed by
 * (rounded mean level, rating band) cell and free seats: a search visits cells
 * in order of distance and stops when no nearer cell can exist.
 *
 * Summaries are stored by reference and returned as they are; treat them as
 * snapshots and upsert again after any change (the index keeps its own copy of
 * every field it files or filters by, so even a changed-in-place summary
 * upserted again is re-filed correctly).
 *
 * Files: `gameList.ts` (the GameList class), `entry.ts`, `filters.ts`,
 * `orderedSets.ts`, `scopes.ts`, `quickJoin.ts`, `cursor.ts`.
 */
export { MAX_SCAN, QUICK_JOIN_MAX_SCAN, QUICK_JOIN_CANDIDATES, MAX_LIMIT, type GameListQuery, type GameListPage, type QuickJoinProfile, type SubscriptionChange, GameList } from './gameList.js';
export { matches } from './filters.js';
export { RATING_BAND, quickJoinDistance } from './quickJoin.js';
export { CursorError } from './cursor.js';
