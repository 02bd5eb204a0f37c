/**
 * Group commit for storage calls of one kind: the calls made within one turn
 * of the event loop go to storage together, as one statement, at the end of
 * that turn. A login makes several storage calls (the new guest's row, then
 * its standing, friends, mail and pending admin commands); under a burst of
 * logins each of them is one statement per turn instead of one per player,
 * which saves a parse, a plan and a round trip (or, with the embedded
 * database, a pass through its WebAssembly) per player. A call alone waits
 * for the end of its turn only.
 *
 * `run` gets the inputs in call order and returns one output per input, in
 * the same order. If it throws, every call of the batch fails with that
 * error, unless `alone` is given: then each call is tried again by itself, so
 * that a bad input fails only its own call.
 */
export class Batch<In, Out> {
  private queue: { input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly options: { max?: number; alone?: (input: In) => Promise<Out> } = {},
  ) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: it runs after every I/O callback of this turn, so a burst of requests read together shares one batch.
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    const max = this.options.max ?? 200;
    for (let i = 0; i < all.length; i += max) void this.send(all.slice(i, i + max));
  };

  private async send(batch: typeof this.queue): Promise<void> {
    const { alone } = this.options;
    if (batch.length === 1 && alone) return alone(batch[0]!.input).then(batch[0]!.resolve, batch[0]!.reject);
    let outs: Out[];
    try {
      outs = await this.run(batch.map((b) => b.input));
    } catch (err) {
      if (!alone || isUnavailable(err)) return batch.forEach((b) => b.reject(err));
      return void (await Promise.all(batch.map((b) => alone(b.input).then(b.resolve, b.reject))));
    }
    batch.forEach((b, i) => b.resolve(outs[i]!));
  }
}

/** Storage is down or slow: trying each call alone would only wait longer for the same answer. */
const isUnavailable = (err: unknown) => (err as { code?: string }).code === 'STORAGE_UNAVAILABLE';

/** Rows grouped by a key, each group in row order; keys without rows get []. */
export function groupBy<R>(keys: readonly string[], rows: readonly R[], keyOf: (r: R) => string): R[][] {
  const groups = new Map<string, R[]>(keys.map((k) => [k, []]));
  for (const r of rows) groups.get(keyOf(r))?.push(r);
  return keys.map((k) => groups.get(k)!);
}

/** Rows tagged with the 1-based position `i` of their call in the batch (`with ordinality`), grouped per call. */
export const byCall = <R extends { i: number }>(calls: readonly unknown[], rows: readonly R[]): R[][] =>
  groupBy(
    calls.map((_, i) => String(i + 1)),
    rows,
    (r) => String(r.i),
  );
