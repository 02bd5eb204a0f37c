import type { EventData, EventName, OpData, OpName, OpResult } from '@foyer/shared';

/** One event as a client received it: its name and the data the protocol gives that name. */
export type ReceivedEvent = { [E in EventName]: { ev: E; data: EventData<E> } }[EventName];

/** One successful reply, with the request it answers. */
export type ReceivedReply = { [O in OpName]: { op: O; data: OpData<O>; result: OpResult<O> } }[OpName];

/**
 * What the mirror is fed: an event or a reply, stamped with the local time it
 * arrived (`at`, ms) so the reducers stay pure. A reply also says when its
 * request went out (`sentAt`): events that came after that are newer than
 * the reply's snapshot and are applied on top of it. `dismissTicket` comes
 * from the user rather than the server: a finished ticket stays on show until
 * then. `resynced` from the client: it reconnected, but into a new session
 * (session.resume said `resumed: false`), so what belonged to the old session
 * (a game list subscription) is gone. `streamGone` from the client too:
 * session.resume said the session no longer receives that stream (it left
 * the game or party, the game ended, the list subscription was dropped), so
 * what the mirror kept of it goes.
 */
export type MirrorInput =
  | (ReceivedEvent & { at: number })
  | (ReceivedReply & { at: number; sentAt: number })
  | { local: 'dismissTicket' | 'resynced'; at: number }
  | { local: 'streamGone'; stream: string; at: number };

export type EventInput = Extract<MirrorInput, { ev: EventName }>;
export type ReplyInput = Extract<MirrorInput, { op: OpName }>;

export function isEvent<E extends EventName>(input: MirrorInput, ...names: readonly E[]): input is Extract<EventInput, { ev: E }> {
  return 'ev' in input && (names as readonly string[]).includes(input.ev);
}

/** The id in a stream name of that kind (`game:<id>` → `<id>`), or undefined for a stream of another kind. */
export function streamId(stream: string, kind: 'game' | 'party' | 'user' | 'games'): string | undefined {
  return stream.startsWith(kind + ':') ? stream.slice(kind.length + 1) : undefined;
}

/** The stream `input` says is gone, if it is a `streamGone`. */
export function goneStream(input: MirrorInput): string | undefined {
  return 'local' in input && input.local === 'streamGone' ? input.stream : undefined;
}

export function isReply<O extends OpName>(input: MirrorInput, ...ops: readonly O[]): input is Extract<ReplyInput, { op: O }> {
  return 'op' in input && (ops as readonly string[]).includes(input.op);
}

/** How long an event is kept for a snapshot that has not arrived yet (a game, party or list subscription), or to replay over one. */
export const WAIT_MS = 10_000;
const WAIT_MAX = 200;

/**
 * Events kept for later: for an entity whose snapshot (a reply on its way)
 * has not arrived yet. Kept for WAIT_MS, at most WAIT_MAX of them.
 */
export function keep(waiting: readonly EventInput[], input: EventInput): EventInput[] {
  const fresh = waiting.filter((w) => input.at - w.at < WAIT_MS);
  fresh.push(input);
  return fresh.length > WAIT_MAX ? fresh.slice(-WAIT_MAX) : fresh;
}

/** Splits the kept events into those `match` takes (still fresh) and the rest. */
export function takeWaiting(waiting: readonly EventInput[], at: number, match: (w: EventInput) => boolean): { taken: EventInput[]; rest: EventInput[] } {
  const fresh = waiting.filter((w) => at - w.at < WAIT_MS);
  return { taken: fresh.filter(match), rest: fresh.filter((w) => !match(w)) };
}
