import type { Bus, KeyRead } from './bus.js';

/** The reads asked for in one tick, and their answer once the tick is over. */
interface Batch {
  reads: KeyRead[];
  /** Each read's place in `reads` (by kind and key): a read asked for twice is made once. */
  at: Map<string, number>;
  answer: Promise<(string | string[] | null)[]>;
}

/**
 * The node's one way of reading per-user records and session records:
 * whatever any part of the node asks for in one tick goes to Redis together
 * at the end of it, in one round trip (`Bus.readAll`). A login asks for its
 * game, party, invites and queue records from three services as its session
 * opens; the directory asks for the sessions of the users a tick's events
 * go to: each is one read. A failed read fails every caller of that tick.
 */
export class TickReads {
  private batch: Batch | undefined;

  constructor(private readonly bus: Bus) {}

  /** A key's value (null: absent). */
  get(key: string): Promise<string | null> {
    return this.read({ key }) as Promise<string | null>;
  }

  /** Several keys' values, in the order asked. */
  getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  /** A set's members. */
  members(key: string): Promise<string[]> {
    return this.read({ key, members: true }) as Promise<string[]>;
  }

  private read(r: KeyRead): Promise<string | string[] | null> {
    const b = (this.batch ??= this.newBatch());
    const id = (r.members ? 's:' : 'v:') + r.key;
    let i = b.at.get(id);
    if (i === undefined) b.at.set(id, (i = b.reads.push(r) - 1));
    return b.answer.then((values) => values[i] as string | string[] | null);
  }

  private newBatch(): Batch {
    const reads: KeyRead[] = [];
    const answer = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.batch = undefined;
      return this.bus.readAll(reads);
    });
    return { reads, at: new Map(), answer };
  }
}
