/**
 * The frames a session sent most recently, kept so a client that lost its
 * connection can resume without a full resync: those the client has not
 * acknowledged (`ack` on its requests), bounded in count and bytes. Once a
 * frame is evicted or acknowledged, a resume from before it can only resync.
 */
export class ReplayBuffer {
  private frames: ({ seq: number; frame: string } | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  /** Highest seq ever evicted: a resume from below it has a gap. */
  private evictedThrough = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  push(seq: number, frame: string): void {
    this.frames.push({ seq, frame });
    this.bytes += frame.length;
    while (this.frames.length - this.head > this.maxFrames || (this.bytes > this.maxBytes && this.frames.length > this.head)) this.dropOldest();
  }

  /** The client has every frame up to `seq`: they are no longer kept, and a resume from before `seq` resyncs. */
  ack(seq: number): void {
    while (this.head < this.frames.length && this.frames[this.head]!.seq <= seq) this.dropOldest();
    this.evictedThrough = Math.max(this.evictedThrough, seq);
  }

  private dropOldest(): void {
    const old = this.frames[this.head]!;
    // Drop the reference now: the slot is only compacted away later.
    this.frames[this.head++] = undefined;
    this.bytes -= old.frame.length;
    this.evictedThrough = old.seq;
    // Compact now and then rather than shifting the array on every eviction.
    if (this.head === this.frames.length) this.frames.length = this.head = 0;
    else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The frames after `lastSeq`, or undefined when some of them were evicted
   * (or `lastSeq` is ahead of `currentSeq`): the client must resync.
   */
  since(lastSeq: number, currentSeq: number): string[] | undefined {
    if (lastSeq > currentSeq || lastSeq < this.evictedThrough) return undefined;
    const out: string[] = [];
    for (let i = this.head; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (f.seq > lastSeq) out.push(f.frame);
    }
    return out;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    this.evictedThrough = 0;
  }
}
