import type { EntitySpec, Moves } from './entitySpec.js';

/** A batch that changes nobody's records. */
const NO_MOVES: Moves = { came: [], joined: [], left: [], invited: [], uninvited: [] };

/**
 * What a batch changed of who is in an entity: by interest, the diff of its
 * users, members and invitees before and after (users of other nodes who
 * came in, whose nodes must hear of it; whose records change); for an entity
 * too big to diff (a queue), from its events (`records`). Undefined: no
 * records are kept for this kind.
 */
export function movesOf<S, C, E, R>(spec: EntitySpec<S, C, E, R>, before: S | undefined, after: S | undefined, events: E[]): Moves | undefined {
  const interest = spec.interest;
  if (!interest) return spec.records && { ...NO_MOVES, ...spec.records.moves(events) };
  const diff = (a: readonly string[], b: readonly string[]) => a.filter((u) => !b.includes(u));
  const [ub, ua] = [before ? interest.users(before) : [], after ? interest.users(after) : []];
  const [mb, ma] = [before ? interest.members(before) : [], after ? interest.members(after) : []];
  const [ib, ia] = [before && interest.invitees ? interest.invitees(before) : [], after && interest.invitees ? interest.invitees(after) : []];
  return { came: diff(ua, ub).filter((u) => !interest.here(u)), joined: diff(ma, mb), left: diff(mb, ma), invited: diff(ia, ib), uninvited: diff(ib, ia) };
}

/** Everyone's records as the entity is now, as if they had all just come in (written again at a rejoin: Redis may have lost them). */
export function recordsOf<S, C, E, R>(spec: EntitySpec<S, C, E, R>, s: S): Moves | undefined {
  const moves = spec.records ? { ...NO_MOVES, joined: [...spec.records.members(s)] } : movesOf(spec, undefined, s, []);
  return moves && { ...moves, came: [], left: [], uninvited: [] };
}
