import { jsonCodec } from '@foyer/shared';
import { ReplayBuffer } from './replay.js';

/** What a session needs from its current connection. */
export interface SessionLink {
  deliver(frame: string): void;
}

/**
 * A logged-in user on this node. It outlives its connection for the
 * reconnect grace period, numbering and keeping its events so a resume can
 * replay what the client missed.
 */
export class Session {
  seq = 0;
  link: SessionLink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly replay: ReplayBuffer;
  /** Taken over from a dead node: its numbering is not the one the client knows, so a resume resyncs. */
  adopted = false;
  /** The player's stored level and rating (OpenSkill ordinal), kept current by services/standings.ts. */
  standing: { level: number; rating: number } | undefined;
  /** When this session began on this node (admin views). */
  readonly since = Date.now();

  constructor(
    readonly userId: string,
    public name: string,
    buffer: { events: number; bytes: number },
  ) {
    this.replay = new ReplayBuffer(buffer.events, buffer.bytes);
  }

  /** Numbers, keeps and (if connected) sends one event whose data is already encoded. */
  push(ev: string, encodedData: string): void {
    const frame = jsonCodec.eventFrame(ev, ++this.seq, encodedData);
    this.replay.push(this.seq, frame);
    this.link?.deliver(frame);
  }

  /** Starts numbering afresh: the client was told to resync. */
  restart(): void {
    this.seq = 0;
    this.replay.clear();
  }
}
