import { randomBytes } from 'node:crypto';
import { jsonCodec, type EventName } from '@foyer/shared';
import type { Session } from './session.js';

/**
 * How long after a frame its stream's sessions are checked for slow reading
 * (at most; a check covers every stream published on meanwhile). The
 * transport's own hard limit (uWS maxBackpressure) leaves room for what
 * arrives in between.
 */
export const SLOW_CHECK_MS = 50;

/** The kinds of stream (shared/src/streams.ts): the part of a stream's name before the colon. */
export type StreamKind = 'game' | 'party' | 'user' | 'games';

export const streamKind = (name: string): StreamKind => name.slice(0, name.indexOf(':')) as StreamKind;

export const userStream = (userId: string) => `user:${userId}`;
export const gameStream = (gameId: string) => `game:${gameId}`;
export const partyStream = (partyId: string) => `party:${partyId}`;

/**
 * Whether a stream's frames go to its sessions' sockets one by one
 * (SessionLink.deliver) rather than through a transport topic: a user's own
 * stream, which only that user's session receives. A topic of its own cost
 * every socket about 0.25 KiB outside the V8 heap on uWS (the topic, its
 * name and its subscriber entry), a Set of one on ws. (A uWS socket with no
 * other topic holds the shared anchor topic instead: uws.ts.)
 */
export const sentDirect = (name: string): boolean => name.startsWith('user:');

/**
 * Epochs name each instance of a stream on a node: this process's prefix
 * (a node restarted with the same id numbers anew) and a count shared by
 * every hub in the process (several nodes in one process never share one).
 */
const EPOCH_PREFIX = randomBytes(4).toString('base64url').slice(0, 5);
let epochs = 0;

/** One event that stands for a stream's whole state: sent to one session in place of events it missed. */
export interface Snapshot {
  ev: EventName;
  data: unknown;
}

/**
 * Builds a stream's snapshot for one session; undefined when there is nothing
 * to show (the stream's subject is gone). A promise when it reads storage.
 */
export type Snapshotter = (session: Session, stream: string) => Snapshot | undefined | Promise<Snapshot | undefined>;

/** Where the delivery of frames happens: a topic per stream on the transport (uWS natively), but for the streams sentDirect. */
export interface Publisher {
  publish(topic: string, frame: string): void;
}

/**
 * One stream as this node carries it: its numbering (offset within an epoch
 * unique to this instance) and a bounded history of its latest frames. It
 * exists while a session here receives it; a session in its grace period
 * still does, so what it misses stays in the history. (A user's own stream
 * is put away while quiet, and made again as it was: StreamHub.putAway.)
 */
export class Stream {
  offset = 0;
  /** Published on since the hub's last slow-reader check. */
  hot = false;
  /** Published on since the hub's last forgetQuiet(): a history is forgotten at the second call that finds it quiet. */
  private recent = false;
  /**
   * The sessions here that receive it: the first alone, a Set once there are
   * more. Most streams are a user's own (one session each); a Set and its
   * table would cost a node of 10,000 sessions about 1.5 MiB.
   */
  private subs: Session | Set<Session> | undefined;
  /**
   * The latest frames; made at the first event and let go when quiet (most
   * user streams of idle sessions never get one): one field while there is
   * none, where its three would cost every stream 16 bytes more.
   */
  private history: History | undefined;

  /** `serial`: its epoch's number (a small integer, where the epoch's string would cost every stream 26 bytes). */
  constructor(
    readonly name: string,
    readonly serial = ++epochs,
  ) {}

  /** The epoch this instance of the stream numbers its offsets in (made when asked: at a publish, a login, a resume). */
  get epoch(): string {
    return EPOCH_PREFIX + this.serial.toString(36);
  }

  /** How many sessions here receive it. */
  get size(): number {
    const s = this.subs;
    return s instanceof Set ? s.size : s ? 1 : 0;
  }

  add(session: Session): void {
    const s = this.subs;
    if (s instanceof Set) s.add(session);
    else if (!s || s === session) this.subs = session;
    else this.subs = new Set([s, session]);
  }

  /** False when the session was not one of them. */
  delete(session: Session): boolean {
    const s = this.subs;
    if (s instanceof Set) return s.delete(session);
    if (s !== session) return false;
    this.subs = undefined;
    return true;
  }

  /** Calls `fn` for each session that receives it. */
  forEachSession(fn: (session: Session) => void): void {
    const s = this.subs;
    if (s instanceof Set) for (const x of s) fn(x);
    else if (s) fn(s);
  }

  /** A frame to each session's socket (a stream sentDirect); its own loop, not forEachSession: no closure per frame. */
  deliver(frame: string): void {
    const s = this.subs;
    if (s instanceof Set) for (const x of s) x.link?.deliver(frame);
    else s?.link?.deliver(frame);
  }

  /** Frames kept. */
  get kept(): number {
    const h = this.history;
    return h ? h.frames.length - h.head : 0;
  }

  remember(frame: string, maxFrames: number, maxBytes: number): void {
    this.recent = true;
    const h = (this.history ??= { frames: [], head: 0, bytes: 0 });
    h.frames.push(frame);
    h.bytes += frame.length;
    while (this.kept > maxFrames || (h.bytes > maxBytes && this.kept > 0)) this.dropOldest(h);
  }

  /** Drops the history if nothing was published since the previous call (see StreamHub.forgetQuiet). */
  age(): void {
    if (this.recent) this.recent = false;
    else this.history = undefined;
  }

  private dropOldest(h: History): void {
    const frames = h.frames;
    h.bytes -= frames[h.head]!.length;
    // Drop the reference now: the slot is only compacted away later.
    frames[h.head++] = undefined;
    // Compact now and then rather than shifting the array on every eviction.
    if (h.head === frames.length) this.history = undefined;
    else if (h.head > 64 && h.head * 2 > frames.length) {
      h.frames = frames.slice(h.head);
      h.head = 0;
    }
  }

  /** Whether every frame after `offset` of this epoch is still kept. */
  covers(epoch: string, offset: number): boolean {
    return epoch === this.epoch && offset <= this.offset && offset >= this.offset - this.kept;
  }

  /** The frames after `offset` (which must be covered). */
  since(offset: number): string[] {
    const n = this.offset - offset;
    const frames = this.history?.frames;
    if (n <= 0 || !frames) return [];
    return frames.slice(frames.length - n) as string[];
  }
}

/** A stream's latest frames, oldest first from `head` (slots before it are emptied, compacted away now and then), and their size. */
interface History {
  frames: (string | undefined)[];
  head: number;
  bytes: number;
}

/**
 * The streams this node carries and who receives them. Publishing builds
 * the frame once per event (`jsonCodec.eventFrame`), keeps it in the
 * stream's history and hands it to the transport's topic: every subscriber
 * on the node gets the same bytes. Sockets subscribe to the topics of their
 * session's streams only once live (Connection.goLive), so a login's reply
 * and what it must catch up on go first.
 */
export class StreamHub {
  private readonly streams = new Map<string, Stream>();
  private readonly snapshotters = new Map<StreamKind, Snapshotter>();
  publisher: Publisher | undefined;
  /** A stream nobody here receives any more was dropped (the game list stops watching its filter). */
  onDropped: (name: string) => void = () => {};

  /**
   * Streams published on since the last check of their sessions for slow
   * reading, which runs SLOW_CHECK_MS after the first of them: once per
   * stream and check rather than per frame and subscriber (uWS writes
   * published frames only after the callback anyway, so a check right after
   * the publish saw the backlog before it).
   */
  private hot: Stream[] = [];
  /** Frames handed to sessions since the last takeDelivered() (a metric's source). */
  private delivered = 0;

  constructor(
    private readonly history: { events: number; bytes: number },
    /** Called for each stream published on, SLOW_CHECK_MS after the first one: cut its slow readers off. */
    private readonly checkSlow: (stream: Stream) => void,
    /** The sessions here by user id: whose own stream a name is (see putAway). */
    private readonly sessions: ReadonlyMap<string, Session>,
  ) {}

  /** The stream, if a session here receives it. */
  get(name: string): Stream | undefined {
    return this.streams.get(name) ?? this.takeOut(name);
  }

  /**
   * A quiet user stream without history is put away: its session keeps its
   * numbering (two small integers) instead of the Stream and its entry here,
   * about 0.12 KiB for each idle session. Nothing a client can see changes:
   * takeOut makes it again as it was (same epoch, same offset, no history,
   * as a quiet stream would be) the moment anything asks for it.
   */
  private putAway(st: Stream): void {
    st.forEachSession((s) => {
      s.ownSerial = st.serial;
      s.ownOffset = st.offset;
    });
    this.streams.delete(st.name);
  }

  private takeOut(name: string): Stream | undefined {
    if (!sentDirect(name)) return undefined;
    const s = this.sessions.get(name.slice('user:'.length));
    // The session's own string for the name (one copy, not one per lookup).
    const own = s?.streams.find((n) => n === name);
    if (!s || own === undefined) return undefined;
    const st = new Stream(own, s.ownSerial);
    st.offset = s.ownOffset;
    st.add(s);
    this.streams.set(own, st);
    return st;
  }

  get size(): number {
    return this.streams.size;
  }

  snapshotter(kind: StreamKind, fn: Snapshotter): void {
    this.snapshotters.set(kind, fn);
  }

  snapshot(session: Session, name: string): Snapshot | undefined | Promise<Snapshot | undefined> {
    return this.snapshotters.get(streamKind(name))?.(session, name);
  }

  /** One event on a stream, its data already encoded (JSON of EventData). Nothing happens when no session here receives the stream. */
  publishEncoded(name: string, ev: EventName, encoded: string): void {
    const st = this.get(name);
    if (!st) return;
    const frame = jsonCodec.eventFrame(ev, name, ++st.offset, st.epoch, encoded);
    st.remember(frame, this.history.events, this.history.bytes);
    if (sentDirect(name)) st.deliver(frame);
    else this.publisher?.publish(name, frame);
    this.delivered += st.size;
    if (st.hot) return;
    st.hot = true;
    if (this.hot.push(st) === 1) setTimeout(this.checkHot, SLOW_CHECK_MS).unref();
  }

  private readonly checkHot = (): void => {
    const hot = this.hot;
    this.hot = [];
    for (const st of hot) {
      st.hot = false;
      this.checkSlow(st);
    }
  };

  /**
   * Forgets the history of every stream not published on since the previous
   * call. Called every `keepMs` (Gateway's forgetter), it keeps a frame between
   * keepMs and twice that after its stream's latest: a history that no
   * resume can need any more goes, and an idle game costs no memory for the
   * joins of long ago. What a resume can need: the frames published since
   * the client last read its socket. A client that lost its connection
   * resumes within the reconnect grace period after the server noticed,
   * and the server notices within the transport's silence limit (ws: the
   * heartbeat timeout; Transport.silenceLimitMs); so keepMs is the sum of
   * the two.
   */
  forgetQuiet(): void {
    for (const st of this.streams.values()) {
      st.age();
      // One session only: takeOut brings the stream back to the user's session here, not to one it is replacing.
      if (!st.kept && !st.hot && st.size === 1 && sentDirect(st.name)) this.putAway(st);
    }
  }

  /** Frames handed to sessions since the last call. */
  takeDelivered(): number {
    const n = this.delivered;
    this.delivered = 0;
    return n;
  }

  /** The session receives the stream from now on (its live socket subscribes at once). */
  subscribe(session: Session, name: string): void {
    if (session.streams.includes(name)) return;
    let st = this.streams.get(name);
    if (!st) this.streams.set(name, (st = new Stream(name)));
    // The stream's own name: one string for all its sessions, not a copy each (`game:<id>` is made anew per call).
    // A new array of the exact length (concat and toSpliced make one; push, spread and filter reserve room for 16 more).
    session.streams = session.streams.concat(st.name);
    st.add(session);
    session.link?.subscribed(st.name);
  }

  unsubscribe(session: Session, name: string): void {
    const i = session.streams.indexOf(name);
    if (i < 0) return;
    session.streams = session.streams.toSpliced(i, 1);
    session.link?.unsubscribed(name);
    const st = this.streams.get(name);
    if (!st) return;
    st.delete(session);
    if (st.size) return;
    this.streams.delete(name);
    this.onDropped(name);
  }

  /** The session left this node: it receives nothing any more. */
  unsubscribeAll(session: Session): void {
    for (const name of session.streams) this.unsubscribe(session, name);
  }

  /** Where the session stands in each stream it receives (a login reply's `streams`). */
  positions(session: Session): { stream: string; offset: number; epoch: string }[] {
    const out: { stream: string; offset: number; epoch: string }[] = [];
    for (const name of session.streams) {
      const st = this.get(name);
      if (st) out.push({ stream: name, offset: st.offset, epoch: st.epoch });
    }
    return out;
  }

  /** A frame of one stream for one session only: a snapshot, at the stream's position `offset`. */
  snapshotFrame(name: string, offset: number, snap: Snapshot): string | undefined {
    const st = this.get(name);
    return st && jsonCodec.eventFrame(snap.ev, name, offset, st.epoch, JSON.stringify(snap.data));
  }
}
