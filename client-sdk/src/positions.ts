import type { StreamPosition } from '@foyer/shared';
import type { StreamState } from './types.js';

/**
 * Where a client stands in each stream of its session: the last offset
 * received, in which epoch. It tells duplicates from new events and is what
 * session.resume sends.
 */
export class StreamPositions {
  readonly #at = new Map<string, { offset: number; epoch: string }>();

  constructor(saved: readonly StreamPosition[] = []) {
    for (const p of saved) this.#at.set(p.stream, { offset: p.offset, epoch: p.epoch });
  }

  list(): StreamPosition[] {
    return [...this.#at].map(([stream, p]) => ({ stream, offset: p.offset, epoch: p.epoch }));
  }

  clear(): void {
    this.#at.clear();
  }

  /**
   * Whether an event frame is new, and if so moves the position to it. A
   * snapshot stands for the stream's whole state at its offset: it always
   * applies and sets the position. Any other frame at an offset already seen
   * in its epoch is a duplicate (replayed again after a resume, say).
   */
  accept(ev: string, stream: string, offset: number, epoch: string): boolean {
    const known = this.#at.get(stream);
    if (!ev.endsWith('.snapshot') && known && known.epoch === epoch && offset <= known.offset) return false;
    if (known) {
      known.offset = offset;
      known.epoch = epoch;
    } else this.#at.set(stream, { offset, epoch });
    return true;
  }

  /**
   * A login reply's streams. After a resume, a resumed stream keeps the
   * client's own position (the missed events follow), a resynced one takes
   * the reply's (its snapshot follows), a gone one is forgotten. Returns
   * what the resume did with each stream.
   */
  fromLogin(resume: boolean, streams: readonly Record<string, unknown>[]): [string, StreamState][] {
    const told: [string, StreamState][] = [];
    for (const p of streams) {
      if (typeof p.stream !== 'string' || typeof p.offset !== 'number' || typeof p.epoch !== 'string') continue;
      const state = resume ? (p.state as StreamState) : undefined;
      if (state === 'gone') this.#at.delete(p.stream);
      else if (state !== 'resumed' || !this.#at.has(p.stream)) this.#at.set(p.stream, { offset: p.offset, epoch: p.epoch });
      if (state) told.push([p.stream, state]);
    }
    return told;
  }
}
