/** A set of listeners, each called in turn; one that throws is reported and does not stop the others. */
export class Listeners<A extends unknown[]> {
  readonly #set = new Set<(...args: A) => void>();

  /** Returns the unsubscribe function. The listener is wrapped, so the same function added twice is called twice and each unsubscribe removes only its own. */
  add(listener: (...args: A) => void): () => void {
    const entry = (...args: A) => listener(...args);
    this.#set.add(entry);
    return () => void this.#set.delete(entry);
  }

  emit(...args: A): void {
    for (const listener of [...this.#set]) {
      try {
        listener(...args);
      } catch (err) {
        report(err);
      }
    }
  }
}

/** A listener's bug is the app's to see, but must not stop delivery to the others. */
export function report(err: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === 'function') g.reportError(err);
  else console.error('LobbyClient: a listener threw', err);
}
