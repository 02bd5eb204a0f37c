import { errorCodes } from '@foyer/shared';
import type { ErrorCode } from '@foyer/shared';

/**
 * What every entity of the domain shares: who issues a command, how a
 * decision refuses, and the transaction a decision builds its events in.
 */

/** Who issues a command: `name` is the session's display name. */
export interface Member {
  userId: string;
  name: string;
}

/**
 * The figures that decide who may join a game and who is matched with whom.
 * Server-owned: read from the stored profile, never from what a client says.
 * `rating` is the OpenSkill ordinal (mu − 3σ).
 */
export interface Standing {
  level: number;
  rating: number;
}

/** A refused command: an error code of the protocol and a message for the user. */
export interface Refusal {
  ok: false;
  code: ErrorCode;
  message: string;
}

/** The answer of `decide`: the entity's view afterwards (null once it ended), its events and timers; or a refusal. */
export type Decision<V, E, T> = { ok: true; result: V | null; events: E[]; timers: T[] } | Refusal;

export function fail(code: ErrorCode, message: string = errorCodes[code]): Refusal {
  return { ok: false, code, message };
}

/** The pure functions of an entity a transaction needs. */
export interface TxEntity<S, E, V> {
  apply(s: S, e: E): S | undefined;
  view(s: S): V;
}

/** Collects a decision's events, applying each as it goes so later steps see the state so far. */
export class Tx<S extends { version: number }, E, T, V> {
  readonly events: E[] = [];
  readonly timers: T[] = [];
  private ended = false;
  constructor(
    public s: S,
    private readonly entity: TxEntity<S, E, V>,
  ) {}

  /** The version the next state-changing event produces. */
  get next(): number {
    return this.s.version + 1;
  }

  emit(e: E): this {
    this.events.push(e);
    const after = this.entity.apply(this.s, e);
    if (after) this.s = after;
    else this.ended = true;
    return this;
  }

  done(): Decision<V, E, T> {
    return { ok: true, result: this.ended ? null : this.entity.view(this.s), events: this.events, timers: this.timers };
  }
}
