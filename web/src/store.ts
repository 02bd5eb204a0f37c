import { useEffect, useState } from 'preact/hooks';

/**
 * A tiny observable state container: `set` merges a patch and notifies the
 * subscribers once per microtask, however many patches came in between.
 */
export class Store<T extends object> {
  #state: T;
  readonly #subs = new Set<() => void>();
  #scheduled = false;

  constructor(initial: T) {
    this.#state = initial;
  }

  get state(): T {
    return this.#state;
  }

  set(patch: Partial<T> | ((s: T) => Partial<T>)): void {
    const p = typeof patch === 'function' ? patch(this.#state) : patch;
    this.#state = { ...this.#state, ...p };
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      for (const fn of [...this.#subs]) fn();
    });
  }

  subscribe(fn: () => void): () => void {
    this.#subs.add(fn);
    return () => void this.#subs.delete(fn);
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore<T extends object>(store: Store<T>): T {
  const [, bump] = useState(0);
  const rendered = store.state;
  useEffect(() => {
    const unsubscribe = store.subscribe(() => bump((n) => n + 1));
    // Effects run after paint: a change between the first render and now
    // (a fast session.resume at page load) notified nobody, so render again.
    if (store.state !== rendered) bump((n) => n + 1);
    return unsubscribe;
  }, [store]);
  return rendered;
}

/** The current time, refreshed every `ms` while the component is mounted. */
export function useNow(ms = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
