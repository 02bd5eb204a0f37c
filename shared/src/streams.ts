import { z } from 'zod';
import { text } from './common.js';

/**
 * Streams (protocol version 2). Every event belongs to one stream, named for
 * what it concerns:
 *
 * - `game:<gameId>`: one game, to its players and spectators (and its chat);
 * - `party:<partyId>`: one party, to its members (and its chat);
 * - `user:<userId>`: everything personal — invites, mail, friends and their
 *   presence, one's matchmaking ticket, rating changes, notices, and the
 *   secrets meant for that player only (a started game's session key);
 * - `games:<key>`: one game-list filter; every session subscribed to the same
 *   filter shares its stream (the key names the filter, not the session).
 *
 * A stream's events are numbered by `offset`, one more per event, and the
 * numbering is valid within an `epoch`: when the stream's history is lost
 * (the stream was rebuilt on another node, say), its epoch changes and
 * offsets start again. Every subscriber of a stream on a node receives the
 * byte-identical frame. Order holds within a stream; across streams a client
 * reconciles by the versions the events carry (a game's `version`, a party's
 * `version`).
 */
export const StreamName = text({ min: 3, max: 128 })
  .regex(/^(game|party|user|games):[^\s]+$/)
  .meta({ id: 'StreamName', description: 'The stream an event belongs to: `game:<id>`, `party:<id>`, `user:<id>` or `games:<key>`.' });

/** Where a client is in one stream: the last offset it received, in which epoch. */
export const StreamPosition = z
  .object({
    stream: StreamName,
    offset: z.number().int().nonnegative().describe('The offset of the last event received in this stream (0: none yet).'),
    epoch: text({ min: 1, max: 32 }).describe('The numbering the offset belongs to; a different epoch on the server means its history is gone.'),
  })
  .meta({ id: 'StreamPosition', description: 'A position in one stream.' });
export type StreamPosition = z.infer<typeof StreamPosition>;

/**
 * What session.resume did with one stream:
 * - `resumed`: every event after the client's position follows, in order;
 * - `resynced`: the history no longer covers the position (or the epoch
 *   changed, or the client did not list the stream): the stream's snapshot
 *   event follows (game.snapshot, party.snapshot, user.snapshot,
 *   games.snapshot), then live events;
 * - `gone`: the session no longer receives this stream (it left the game or
 *   party, the game ended, the subscription was dropped): forget it.
 */
export const StreamResume = StreamPosition.extend({
  state: z.enum(['resumed', 'resynced', 'gone']),
}).meta({ id: 'StreamResume', description: 'One stream after session.resume: its position on the server now, and how the client catches up.' });
export type StreamResume = z.infer<typeof StreamResume>;

/** At most this many positions in one session.resume. */
export const MAX_RESUME_STREAMS = 64;
