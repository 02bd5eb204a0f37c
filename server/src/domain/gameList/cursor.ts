/** Page cursors: where a walk stopped, for one sort, as an opaque string. */
import type { GameSort, GameSummary } from '@foyer/shared';
import { Entry } from './entry.js';

/** A malformed cursor, or one made for another sort. The service answers BAD_REQUEST. */
export class CursorError extends Error {
  override name = 'CursorError';
}

const CURSOR_VERSION = 1;

type CursorPos = { k: number; c: number; id: string };

function sortValue(by: GameSort['by'], g: GameSummary, e: Entry): number {
  return by === 'players' ? g.players : by === 'freeSeats' ? g.freeSeats : e.c;
}

export function encodeCursor(sort: GameSort, e: Entry): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, sort.by, sort.order, sortValue(sort.by, e.g, e), e.c, e.id])).toString('base64url');
}

export function decodeCursor(cursor: string, sort: GameSort): CursorPos {
  if (cursor.length === 0 || cursor.length > 256 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new CursorError('malformed cursor');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('malformed cursor');
  }
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== CURSOR_VERSION) throw new CursorError('malformed cursor');
  const [, by, order, k, c, id] = v as unknown[];
  if (
    typeof by !== 'string' ||
    typeof order !== 'string' ||
    typeof k !== 'number' ||
    !Number.isFinite(k) ||
    typeof c !== 'number' ||
    !Number.isFinite(c) ||
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > 64 ||
    (by === 'created' && k !== c)
  )
    throw new CursorError('malformed cursor');
  if (by !== sort.by || order !== sort.order) throw new CursorError('cursor was made for another sort');
  return { k, c, id };
}
