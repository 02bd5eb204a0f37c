/**
 * Work under way per user: the lookups a session opened here starts (its
 * game, its party and invites, by their records), which what the user sends
 * meanwhile waits for. Only the latest task of a key is kept, and only until
 * it settles; a failure is logged by the caller's task, never thrown to a
 * waiter.
 */
export class UnderWay {
  private readonly tasks = new Map<string, Promise<unknown>>();

  track(key: string, task: Promise<unknown>): void {
    const settled: Promise<unknown> = task
      .catch(() => {})
      .finally(() => {
        if (this.tasks.get(key) === settled) this.tasks.delete(key);
      });
    this.tasks.set(key, settled);
  }

  /** Resolves once the key's task (if any) has settled. */
  async done(key: string): Promise<void> {
    await this.tasks.get(key);
  }
}
