/**
 * One matchmaking queue, as a pure entity (player versus player matches), with
 * the decide/apply split of `game/`: `decideQueue` checks a command against
 * the state and answers with events and timers, changing nothing;
 * `applyQueue` is the only code that changes the state. No timers, no clock,
 * no randomness: time and ids come in through `ctx`; the accept deadline is a
 * timer the caller schedules (and `tick` ends overdue accept phases too, so a
 * queue taken over from a replica, without its timers, still ends them).
 * Events are plain JSON-safe data: a replica fed them rebuilds the same state,
 * index included. A node that cannot (it missed events, joins late, or takes
 * the queue over) restores a `QueueSnapshot` instead.
 *
 * Tickets. A ticket is one player, a party (`partyId`) or a game's team
 * (`gameId`); it is never split: all its players go to one team. Its rating
 * is the mean of its players' ratings. `state.tickets` holds every ticket of
 * the queue — queued, or found (in an accept phase) — in queue order; a
 * ticket that returns to the queue after a failed accept phase keeps its
 * place and its `queuedAt`. Found tickets leave when their match is ready
 * (the service then creates the game) or when they are cancelled. A player
 * is in at most one ticket, a ticket in at most one match, a party or game
 * has at most one ticket. The players handed to `enqueue` are kept as they
 * are (not copied): hand over objects nobody changes afterwards.
 *
 * Matching, on `tick`:
 *  1. accept phases past `acceptBy` end as on `acceptDeadline`;
 *  2. queued tickets older than `maxWaitMs` time out (`MM_TIMEOUT`);
 *  3. oldest first, each queued ticket not yet matched this tick anchors a
 *     search. Its window is `min(initialWindow + growthPerSec × its wait in
 *     seconds, maxWindow)`. Candidates are the oldest queued tickets whose
 *     rating is within the window of the anchor's, found through a rating
 *     index: buckets of `bucketWidth` rating points, each in queue order,
 *     merged oldest first with a small heap, pulled only as the search needs
 *     them. In a queue with `maxLatencyMs` the index has one lane per region
 *     (a ticket is in the lane of each region where all its players are
 *     within the limit), and the anchor searches the lanes of its own
 *     regions, best first (at most `lanesPerAnchor`), so every candidate
 *     shares that region. A depth-first search takes the anchor and then
 *     candidates oldest first, placing each whole ticket in the team with the
 *     lowest rating sum that has room for it (or leaving it out), keeping
 *     sides (team 0 is side A, team 1 side B, others `any` only) and the
 *     unique attribute, and backtracking when sizes do not pack exactly (it
 *     prunes when the candidates left cannot fill the room left, per side).
 *     When every team is full, it evens the teams out by swapping tickets of
 *     equal size between the strongest and the weakest team, and takes the
 *     match if the team means then differ by at most the window; else it
 *     searches on. The match's region is the one all its players share with
 *     the lowest worst latency. No match: the next oldest ticket anchors.
 *  Tickets that went back to the queue in step 1 are matched from the next
 *  tick on.
 *
 * Bounded work per tick (`QueueLimits`, defaults in `defaultLimits`): at most
 * `maxTimeoutsPerTick` timeouts (the others time out on the next ticks);
 * matching stops after `maxPlayersPerTick` players or `maxMatchesPerTick`
 * matches, `maxAnchorsPerTick` searches, `maxVisitsPerTick` tickets walked in
 * queue order, or `workPerTick` units of work — an index entry examined, a
 * bucket opened or a search node visited is one unit, 50–250 ns each. One
 * search examines at most `scanPerAnchor` entries, pulls at most
 * `candidatesPerAnchor` candidates and visits at most `searchNodesPerAnchor`
 * nodes. What is not counted is O(1) per entry per tick: skipping, once per
 * tick, the entries at the head of each bucket already taken this tick. So a
 * tick's cost does not grow with the queue; a queue where nothing can match
 * (say, only parties of 2 and 4 for teams of 5) costs its full budget on
 * every tick and nothing more.
 *
 * Accept phase. A found match waits `acceptTimeoutMs` for every player's
 * accept (an accept counts until the deadline has been processed); the last
 * accept makes it ready. A decline, a cancel (by any player of a found
 * ticket) or the deadline breaks it:
 *  - decline / cancel: the decliner's (canceller's) ticket is cancelled
 *    (reason `declined`, or the cancel's reason); every other ticket of the
 *    match returns to the queue, whether its players had accepted yet or not
 *    — they did nothing wrong;
 *  - deadline: each ticket with a player who did not accept is cancelled
 *    (reason `acceptTimeout`); the tickets whose players all accepted return
 *    to the queue.
 * Tickets returning to the queue keep their `queuedAt`: their window and
 * their place in line.
 *
 * Mutation: `applyQueue` changes `state` in place (its Maps and index) and
 * returns the same object — a queue holds 100k tickets and copying it per
 * event is out of the question. `Ticket` and `Match` objects are never
 * changed once made, only replaced, so those held by events or read earlier
 * stay valid snapshots. `decideQueue` changes nothing (the property test
 * checks it).
 *
 * Files: `state.ts` (types, state, apply), `snapshot.ts`, `decide.ts`,
 * `candidates.ts` (the rating index walked oldest first), `search.ts` and
 * `balance.ts` (team building), `updates.ts` (what players are told).
 */
export { type MmCtx, type TicketPlayer, type Ticket, type Match, type QueueLimits, defaultLimits, type RatingIndex, type Lane, type Bucket, type Entry, type QueueState, type MmCommand, type MmTimer, type MmDecision, type MmEvent, newQueue, ticketOfParty, ticketOfGame, ticketOf, windowOf, allowedSizes, applyQueue, MAX_REGIONS_PER_TICKET, type Regions } from './state.js';
export { type QueueSnapshot, snapshotQueue, restoreQueue } from './snapshot.js';
export { decideQueue } from './decide.js';
export { ticketUpdate, updatesOf } from './updates.js';
