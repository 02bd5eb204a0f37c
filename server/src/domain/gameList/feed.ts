/**
 * The game list's feed between nodes, its pure part: a game's owner
 * publishes the game's listing (its summary, or a tombstone once it is no
 * longer listed) on one of LIST_SHARDS list channels; every node applies the
 * listings it hears, in the order the rule below gives, whatever order they
 * arrive in. The I/O around it is services/listFeed.ts.
 */
import type { GameSummary } from '@foyer/shared';

/** How many list channels (and stored list shards) there are: bounded, whatever the number of games. */
export const LIST_SHARDS = 16;

/** Where a listing stands: the fencing epoch of the owner that published it, and the game's version then. */
export interface Stamp {
  epoch: number;
  version: number;
}

/** One game's listing as its owner publishes it: the summary, or null when the game is no longer listed (a tombstone). */
export interface Listing extends Stamp {
  id: string;
  /** The node that published it (for a tombstone of a dead owner's game: that owner). */
  owner: string;
  game: GameSummary | null;
}

/**
 * The ordering rule, the same on every node and in Redis's stored copy:
 * a listing replaces what is known when its (epoch, version) is greater —
 * epoch first, so a new owner (a takeover raises the epoch) wins even when
 * it rebuilt the game from an older state than the dead owner had listed;
 * a node never keeps a dead owner's listing over the live owner's. At equal
 * (epoch, version) a tombstone wins over a listing: what was removed stays
 * removed until its owner says more. Anything older is ignored, so
 * listings may be coalesced (intermediate versions skipped) and may arrive
 * out of order between owners.
 */
export function supersedes(next: Stamp, nextRemoves: boolean, known: (Stamp & { removed: boolean }) | undefined): boolean {
  if (!known) return true;
  if (next.epoch !== known.epoch) return next.epoch > known.epoch;
  if (next.version !== known.version) return next.version > known.version;
  return nextRemoves && !known.removed;
}

/** The list shard (and channel) of a game: FNV-1a of its id, the same on every node. */
export function shardOf(gameId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < gameId.length; i++) h = Math.imul(h ^ gameId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % LIST_SHARDS;
}

/**
 * A listing on the wire and in the stored shard: `<epoch> <version> <+|-> <id> <json>`.
 * The stamp, the kind and the id lead in plain text so that a node (and the
 * script in Redis) can order a listing without parsing its JSON: most
 * listings a node hears back are its own, already applied.
 */
export function encodeListing(l: Listing): string {
  return `${l.epoch} ${l.version} ${l.game ? '+' : '-'} ${l.id} ${JSON.stringify({ owner: l.owner, game: l.game })}`;
}

/** The leading part of an encoded listing, or undefined when it is not one. */
export function headOf(message: string): (Stamp & { id: string; removes: boolean; rest: number }) | undefined {
  const m = /^(\d+) (\d+) ([+-]) (\S+) /.exec(message);
  if (!m) return undefined;
  return { epoch: Number(m[1]), version: Number(m[2]), removes: m[3] === '-', id: m[4]!, rest: m[0].length };
}

export function decodeListing(message: string): Listing | undefined {
  const head = headOf(message);
  if (!head) return undefined;
  try {
    const body = JSON.parse(message.slice(head.rest)) as { owner?: unknown; game?: GameSummary | null };
    if (typeof body.owner !== 'string' || (head.removes ? body.game !== null : body.game?.id !== head.id)) return undefined;
    return { id: head.id, epoch: head.epoch, version: head.version, owner: body.owner, game: body.game ?? null };
  } catch {
    return undefined;
  }
}

/** Whether the list shows the same thing (a ready toggle bumps the version but changes no listed field). */
export function sameListing(a: GameSummary | undefined, b: GameSummary | undefined): boolean {
  if (!a || !b) return a === b;
  for (const k of Object.keys(a) as (keyof GameSummary)[]) {
    if (k === 'version') continue;
    if (k === 'attributes' ? JSON.stringify(a[k]) !== JSON.stringify(b[k]) : a[k] !== b[k]) return false;
  }
  return true;
}

/** What a node knows of one game's listing. */
export interface Known extends Stamp {
  owner: string;
  removed: boolean;
  shard: number;
  /** The catch-up generation in which it was last heard of. */
  gen: number;
  /** When it was removed (a tombstone is kept a while, then forgotten). */
  removedAt: number;
}

/**
 * The stamps of every listing a node has heard of, and for a while of the
 * removed ones too: a stale listing arriving after its tombstone (a catch-up
 * page read before the removal, a late message of a replaced owner) must not
 * bring a removed game back.
 */
export class ListBook {
  private readonly live = new Map<string, Known>();
  /** Removed ones, in removal order: the oldest are forgotten first. */
  private readonly tombstones = new Map<string, Known>();

  constructor(
    private readonly now: () => number,
    /** How long a tombstone is kept. */
    private readonly keepRemovedMs = 60_000,
  ) {}

  get(id: string): Known | undefined {
    return this.live.get(id) ?? this.tombstones.get(id);
  }

  /** Records the listing when it supersedes what is known; true when it did (the list must follow). */
  accept(l: Stamp & { id: string; owner: string; removes: boolean }, gen: number): boolean {
    const k = this.get(l.id);
    if (!supersedes(l, l.removes, k)) {
      if (k) k.gen = Math.max(k.gen, gen);
      return false;
    }
    this.live.delete(l.id);
    this.tombstones.delete(l.id);
    const next: Known = { epoch: l.epoch, version: l.version, owner: l.owner, removed: l.removes, shard: shardOf(l.id), gen, removedAt: l.removes ? this.now() : 0 };
    (l.removes ? this.tombstones : this.live).set(l.id, next);
    this.prune();
    return true;
  }

  /**
   * Forgets a game without a tombstone: a catch-up found it in no stored
   * shard. That may be a removal it missed, or a Redis that lost everything
   * and whose owner lists it again in a moment at the same stamp (which a
   * tombstone would refuse).
   */
  forget(id: string): void {
    this.live.delete(id);
    this.tombstones.delete(id);
  }

  /** Listed games of `shard` that a catch-up begun at `since` did not see and nobody spoke of meanwhile: gone. */
  unseen(shard: number, seen: ReadonlySet<string>, since: number): string[] {
    const out: string[] = [];
    for (const [id, k] of this.live) if (k.shard === shard && k.gen < since && !seen.has(id)) out.push(id);
    return out;
  }

  /** Listed games (not tombstones) and who listed them. */
  listed(): IterableIterator<[string, Known]> {
    return this.live.entries();
  }

  /** How many tombstones are kept now. */
  get removedCount(): number {
    return this.tombstones.size;
  }

  /** Forgets tombstones older than keepRemovedMs. */
  private prune(): void {
    const cutoff = this.now() - this.keepRemovedMs;
    for (const [id, k] of this.tombstones) {
      if (k.removedAt > cutoff) return;
      this.tombstones.delete(id);
    }
  }
}
