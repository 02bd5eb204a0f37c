import type { EventName } from './events.js';

/**
 * Every event's name, the one list clients subscribe from. It lives apart from
 * the schemas (events.ts) so a browser bundle that needs only the names does
 * not pull in zod; the compiler holds the two together: a name that is not an
 * event is a type error here, and so is an event missing from the list.
 */
export const eventNames = [
  'server.notice',
  'game.playerJoined',
  'game.playerLeft',
  'game.playerUpdated',
  'game.spectatorJoined',
  'game.spectatorLeft',
  'game.updated',
  'game.started',
  'game.sessionKey',
  'game.snapshot',
  'game.ended',
  'games.added',
  'games.updated',
  'games.removed',
  'games.snapshot',
  'chat.message',
  'party.invited',
  'party.inviteEnded',
  'party.snapshot',
  'party.memberJoined',
  'party.memberLeft',
  'party.memberUpdated',
  'party.leaderChanged',
  'party.queueChanged',
  'party.ended',
  'mail.received',
  'profile.ratingChanged',
  'friends.changed',
  'presence.changed',
  'friends.profileChanged',
  'user.snapshot',
  'mm.status',
] as const satisfies readonly EventName[];

/** Fails to compile, naming the event, when an event of events.ts is not listed above. */
type AllListed<Missing extends never> = Missing;
export type UnlistedEvent = AllListed<Exclude<EventName, (typeof eventNames)[number]>>;

/** The group of events a name's prefix names: `game` (one's game), `games` (list subscriptions), `party`, `friends`… */
export type EventGroup = EventName extends `${infer P}.${string}` ? P : never;
export type EventOf<G extends EventGroup> = Extract<EventName, `${G}.${string}`>;

/** The names of one group's events, in the order of `eventNames`. */
export function eventsOf<G extends EventGroup>(group: G): EventOf<G>[] {
  return eventNames.filter((e): e is EventOf<G> => e.startsWith(`${group}.`));
}
