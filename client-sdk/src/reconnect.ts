import type { ReconnectOptions } from './types.js';

/**
 * How the client backs off between reconnect attempts: the `reconnect`
 * option with its defaults filled in, and the wait before each attempt.
 */

export type ReconnectPolicy = Required<ReconnectOptions>;

/** The policy the `reconnect` option asks for (on by default); undefined when reconnecting is off. */
export function reconnectPolicy(option: boolean | ReconnectOptions | undefined): ReconnectPolicy | undefined {
  const r = option ?? true;
  if (r === false) return undefined;
  const o = r === true ? {} : r;
  const minDelayMs = Math.max(0, o.minDelayMs ?? 250);
  return { minDelayMs, maxDelayMs: Math.max(minDelayMs, o.maxDelayMs ?? 10_000) };
}

/** The wait before the next attempt, `attempt` attempts having failed since the last good connection. */
export function backoffDelay({ minDelayMs, maxDelayMs }: ReconnectPolicy, attempt: number): number {
  // Full jitter: clients dropped together (a node going away) spread their retries out.
  const ceiling = Math.min(maxDelayMs, Math.max(minDelayMs, 1) * 2 ** Math.min(attempt + 1, 30));
  return Math.round(minDelayMs + Math.random() * Math.max(0, ceiling - minDelayMs));
}
