/** One listed game as the index files it: a flat copy of the fields filters and orders read. */
import type { GameSummary } from '@foyer/shared';
import { type Attrs, metaOf, scratch, trigrams } from './filters.js';
import type { QjCell } from './quickJoin.js';

export type StatusClass = 'open' | 'inProgress';

/**
 * One listed game, with flat copies of the fields filters and indexes read
 * (one object to touch per examined game). `c` and `id` never change for an
 * entry: they are its key everywhere. `pl`, `fs` and `st` are the values the
 * entry is filed under; `upsert` re-files before it refreshes them.
 */
export class Entry {
  // What a scan reads first comes first (fewer cache lines per examined game).
  st: StatusClass | null;
  fs: number;
  pw: boolean;
  gameType: string;
  /** The meta word the entry is filed with (see metaOf); name trigram bits. */
  meta: number;
  n0: number;
  n1: number;
  minL: number | null;
  maxL: number | null;
  lname: string;
  attrs: Attrs;
  g: GameSummary;
  readonly id: string;
  readonly c: number;
  pl: number;
  name: string;
  qj: QjCell | null = null;
  qfs = 0;
  /** Index in the list's slot table; -1 when not listed. */
  slot = -1;
  constructor(g: GameSummary) {
    this.id = g.id;
    this.c = g.createdAt;
    this.g = g;
    this.gameType = g.gameType;
    this.name = g.name;
    this.lname = g.name.toLowerCase();
    trigrams(this.lname, scratch);
    this.n0 = scratch[0];
    this.n1 = scratch[1];
    this.attrs = g.attributes;
    this.meta = metaOf(g);
    this.pl = g.players;
    this.fs = g.freeSeats;
    this.st = statusOf(g);
    this.pw = g.hasPassword;
    this.minL = g.minLevel;
    this.maxL = g.maxLevel;
  }
  refresh(g: GameSummary): void {
    if (g.name !== this.name) {
      this.name = g.name;
      this.lname = g.name.toLowerCase();
      trigrams(this.lname, scratch);
      this.n0 = scratch[0];
      this.n1 = scratch[1];
    }
    this.attrs = g.attributes;
    this.g = g;
    this.gameType = g.gameType;
    this.pl = g.players;
    this.fs = g.freeSeats;
    this.st = statusOf(g);
    this.pw = g.hasPassword;
    this.minL = g.minLevel;
    this.maxL = g.maxLevel;
  }
}

/** Fills a free slot of the table. */
export const VACANT = new Entry({
  id: '',
  name: '',
  gameType: '',
  ownerId: '',
  ownerName: '',
  players: 0,
  maxPlayers: 0,
  freeSeats: 0,
  spectators: 0,
  hasPassword: false,
  locked: false,
  closed: true,
  inProgress: false,
  friendsJoinOnly: false,
  startMode: 'manual',
  minLevel: null,
  maxLevel: null,
  school: null,
  attributes: {},
  meanLevel: 0,
  meanRating: 0,
  createdAt: 0,
  version: 0,
});

export function statusOf(g: GameSummary): StatusClass | null {
  return g.inProgress ? 'inProgress' : g.closed ? null : 'open';
}

/** Order by (createdAt, id). */
export function cmpKey(c: number, id: string, e: Entry): number {
  return c !== e.c ? (c < e.c ? -1 : 1) : id === e.id ? 0 : id < e.id ? -1 : 1;
}
