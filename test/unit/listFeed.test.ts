import { GameCreate } from '@foyer/shared';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalBus, LocalHub } from '../../server/src/cluster/bus.js';
import { Names } from '../../server/src/cluster/names.js';
import { applyGame, decideGame, summaryOf, type GameState } from '../../server/src/domain/game/index.js';
import { LIST_SHARDS, ListBook, decodeListing, encodeListing, shardOf, supersedes, type Listing } from '../../server/src/domain/gameList/feed.js';
import { GameList } from '../../server/src/domain/gameList/index.js';
import { ListFeed } from '../../server/src/services/listFeed.js';

const names = new Names('t');
const log = pino({ level: 'silent' });
const rules = { defaultTeamSize: 4, maxSpectators: 2, confirmTimeoutMs: 120_000, maxDurationMs: 3_600_000, serverAddress: 'play.example:7777' };

/** A game as its owner holds it, made by the pure domain (a password game: the hash must never be listed). */
function newGame(id: string, name = 'Room'): GameState {
  const d = decideGame(undefined, { type: 'create', gameId: id, by: { userId: 'ann', name: 'Ann' }, settings: { ...GameCreate.parse({ name, gameType: 'PvE', password: 'secret-pw' }), profile: { level: 1, rating: 1000 } } }, { now: 1000, newId: () => 'x', newKey: () => 'k' }, rules);
  if (!d.ok) throw new Error(d.code);
  let s: GameState | undefined;
  for (const e of d.events) s = applyGame(s, e);
  return s!;
}

/** Every microtask the in-process bus queued has run (its deliveries). */
const delivered = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One node's feed on a shared in-process hub, with everything around it
 * plain data: the games it holds and owns, who is alive, a fake clock, and a
 * turn of the event loop that ends only when the test says so (`turn()`).
 */
function node(hub: LocalHub, nodeId: string, world: { live: Set<string>; successor: string }) {
  const states = new Map<string, GameState>();
  const owners = new Map<string, { owner: string; epoch: number }>();
  const list = new GameList();
  const clock = { now: 0 };
  let deferred: (() => void)[] = [];
  const bus = new LocalBus(hub);
  const feed = new ListFeed({
    bus,
    names,
    nodeId,
    log,
    list,
    state: (id) => states.get(id),
    ownership: (id) => owners.get(id),
    owned: () => [...owners].filter(([, o]) => o.owner === nodeId).map(([id]) => id),
    isLive: (n) => world.live.has(n),
    successor: () => world.successor,
    apply: (_before, after, id) => (after ? list.upsert(after) : list.remove(id)),
    orphanGraceMs: 1000,
    defer: (fn) => deferred.push(fn),
    now: () => clock.now,
  });
  /** The owner changes a game (as a committed batch does): the new state, and the feed told. */
  const change = (s: GameState, epoch = 1) => {
    states.set(s.id, s);
    owners.set(s.id, { owner: nodeId, epoch });
    feed.changed(s.id, s.version);
  };
  const end = (id: string) => {
    const v = states.get(id)!.version;
    states.delete(id);
    feed.changed(id, v + 1);
    owners.delete(id);
  };
  const turn = () => {
    const fns = deferred;
    deferred = [];
    for (const fn of fns) fn();
  };
  return { feed, bus, list, states, owners, clock, change, end, turn };
}

/** n1 and n2 on one hub, both alive, n2 the successor of every game, their feeds subscribed. */
async function twoNodes() {
  const hub = new LocalHub();
  const world = { live: new Set(['n1', 'n2']), successor: 'n2' };
  const n1 = node(hub, 'n1', world);
  const n2 = node(hub, 'n2', world);
  await n1.feed.start();
  await n2.feed.start();
  return { hub, world, n1, n2 };
}

/** Everything published on the list channels of a hub, decoded. */
async function wire(hub: LocalHub): Promise<Listing[]> {
  const seen: Listing[] = [];
  const bus = new LocalBus(hub);
  for (let n = 0; n < LIST_SHARDS; n++) await bus.subscribe(names.listChannel(n), (m) => seen.push(decodeListing(m)!));
  return seen;
}

describe('the ordering rule', () => {
  const at = (epoch: number, version: number, removed = false) => ({ epoch, version, removed });
  it('takes a greater (epoch, version), epoch first; at equal stamps only a tombstone over a listing', () => {
    expect(supersedes({ epoch: 1, version: 5 }, false, undefined)).toBe(true);
    expect(supersedes({ epoch: 1, version: 5 }, false, at(1, 4))).toBe(true);
    expect(supersedes({ epoch: 1, version: 3 }, false, at(1, 4))).toBe(false);
    // A takeover from an older state: the new owner's epoch wins over the dead owner's higher version.
    expect(supersedes({ epoch: 2, version: 2 }, false, at(1, 9))).toBe(true);
    expect(supersedes({ epoch: 1, version: 10 }, false, at(2, 2))).toBe(false);
    expect(supersedes({ epoch: 1, version: 4 }, true, at(1, 4))).toBe(true);
    expect(supersedes({ epoch: 1, version: 4 }, false, at(1, 4, true))).toBe(false);
    expect(supersedes({ epoch: 1, version: 4 }, false, at(1, 4))).toBe(false);
    expect(supersedes({ epoch: 1, version: 4 }, true, at(1, 4, true))).toBe(false);
  });

  it('encodes a listing with its stamp in front and decodes it back; the shard is stable and bounded', () => {
    const game = newGame('g1');
    const l: Listing = { id: 'g1', owner: 'n1', epoch: 3, version: game.version, game: summaryOf(game) };
    expect(encodeListing(l).startsWith(`3 ${game.version} + g1 `)).toBe(true);
    expect(decodeListing(encodeListing(l))).toEqual(l);
    expect(decodeListing(encodeListing({ ...l, game: null }))).toEqual({ ...l, game: null });
    expect(decodeListing('3 1 + g1 {"owner":"n1","game":null}')).toBeUndefined();
    expect(decodeListing('garbage')).toBeUndefined();
    const shards = new Set(Array.from({ length: 400 }, (_, i) => shardOf(`game-${i}`)));
    expect([...shards].every((n) => n >= 0 && n < LIST_SHARDS)).toBe(true);
    expect(shards.size).toBe(LIST_SHARDS);
    expect(shardOf('g1')).toBe(shardOf('g1'));
  });

  it('keeps a tombstone for a while, then forgets it', () => {
    const clock = { now: 0 };
    const book = new ListBook(() => clock.now, 60_000);
    expect(book.accept({ id: 'a', owner: 'n1', epoch: 1, version: 3, removes: true }, 0)).toBe(true);
    clock.now = 59_000;
    expect(book.accept({ id: 'a', owner: 'n1', epoch: 1, version: 2, removes: false }, 0)).toBe(false);
    clock.now = 61_000;
    book.accept({ id: 'b', owner: 'n1', epoch: 1, version: 1, removes: false }, 0);
    expect(book.get('a')).toBeUndefined();
    expect(book.removedCount).toBe(0);
  });
});

describe('ListFeed (in-process bus, fake clock)', () => {
  it('coalesces the changes of one turn into one listing with the last version, and lists nothing for a change the list does not show', async () => {
    const { hub, n1, n2 } = await twoNodes();
    const seen = await wire(hub);
    let g = newGame('g1');
    n1.change(g);
    for (let i = 1; i <= 5; i++) n1.change((g = { ...g, name: `Room ${i}`, version: g.version + 1 }));
    expect(seen).toEqual([]); // nothing before the turn ends
    n1.turn();
    await delivered();
    expect(seen.map((l) => [l.id, l.version, l.game?.name])).toEqual([['g1', g.version, 'Room 5']]);
    // The same on both nodes: the owner applied its own listing through the same path.
    expect(n1.list.get('g1')).toEqual(n2.list.get('g1'));
    expect(n2.list.get('g1')?.version).toBe(g.version);
    // Listed fields only: no password hash, no key of any kind.
    expect(JSON.stringify(seen)).not.toMatch(/passwordHash|secret-pw|sessionKey/);
    expect(n2.list.get('g1')?.hasPassword).toBe(true);
    // A change the list does not show (a ready toggle: only the version moves) lists nothing.
    n1.change((g = { ...g, version: g.version + 1 }));
    n1.turn();
    await delivered();
    expect(seen).toHaveLength(1);
  });

  it('ignores a listing older than what it has, by (epoch, version); a new owner wins with a lower version', async () => {
    const hub = new LocalHub();
    const world = { live: new Set(['n1', 'n2']), successor: 'n2' };
    const n2 = node(hub, 'n2', world);
    await n2.feed.start();
    const send = new LocalBus(hub);
    const summary = summaryOf(newGame('g1'));
    const say = (epoch: number, version: number, name: string | null) =>
      send.publish(names.listChannel(shardOf('g1')), encodeListing({ id: 'g1', owner: 'n1', epoch, version, game: name === null ? null : { ...summary, name, version } }));
    say(1, 5, 'five');
    say(1, 3, 'three');
    await delivered();
    expect(n2.list.get('g1')).toMatchObject({ name: 'five', version: 5 });
    say(2, 2, 'taken over');
    say(1, 9, 'late from the old owner');
    await delivered();
    expect(n2.list.get('g1')).toMatchObject({ name: 'taken over', version: 2 });
    say(2, 2, null);
    say(2, 2, 'again');
    await delivered();
    expect(n2.list.get('g1')).toBeUndefined();
    say(3, 1, 'back');
    await delivered();
    expect(n2.list.get('g1')).toMatchObject({ name: 'back', version: 1 });
  });

  it('removes an ended game everywhere (a tombstone), from the stored shard too, and a stale listing does not bring it back', async () => {
    const { hub, n1, n2 } = await twoNodes();
    const seen = await wire(hub);
    const g = newGame('g1');
    n1.change(g);
    n1.turn();
    await delivered();
    const stale = encodeListing(seen[0]!);
    expect(hub.hashes.get(names.listShard(shardOf('g1')))?.has('g1')).toBe(true);
    n1.end('g1');
    n1.turn();
    await delivered();
    expect(seen.map((l) => [l.version, l.game === null])).toEqual([
      [g.version, false],
      [g.version + 1, true],
    ]);
    expect(n1.list.get('g1')).toBeUndefined();
    expect(n2.list.get('g1')).toBeUndefined();
    expect(hub.hashes.get(names.listShard(shardOf('g1')))?.has('g1')).toBe(false);
    new LocalBus(hub).publish(names.listChannel(shardOf('g1')), stale);
    await delivered();
    expect(n2.list.get('g1')).toBeUndefined();
  });

  it('a node that starts later lists every game from the stored shards, takes them again after a Redis restart lost them, and drops what none holds any more', async () => {
    const hub = new LocalHub();
    const world = { live: new Set(['n1', 'n3']), successor: 'n1' };
    const n1 = node(hub, 'n1', world);
    await n1.feed.start();
    const games = Array.from({ length: 40 }, (_, i) => newGame(`g${i}`, `Room ${i}`));
    for (const g of games) n1.change(g);
    n1.turn();
    const n3 = node(hub, 'n3', world);
    await n3.feed.start();
    await n3.feed.catchUp();
    for (const g of games) expect(n3.list.get(g.id)).toEqual(n1.list.get(g.id));
    expect(n3.list.size).toBe(40);
    // Redis restarts empty: n3 finds nothing stored until n1, rejoining too, lists its games again (same stamps).
    hub.hashes.clear();
    await n3.feed.catchUp();
    expect(n3.list.size).toBe(0);
    await n1.feed.catchUp();
    await delivered();
    expect(n3.list.size).toBe(40);
    for (const g of games) expect(n3.list.get(g.id)).toEqual(n1.list.get(g.id));
    // n3 misses a game's end (its subscription was gone): the next catch-up removes it.
    await n3.bus.unsubscribe(names.listChannel(shardOf('g7')));
    n1.end('g7');
    n1.turn();
    await delivered();
    expect(n3.list.get('g7')).toBeDefined();
    await n3.feed.catchUp();
    expect(n3.list.get('g7')).toBeUndefined();
    expect(n3.list.size).toBe(39);
  });

  it("removes a dead owner's game that nobody took over, once its successor's grace is over; a later takeover lists it again", async () => {
    const { hub, world, n1, n2 } = await twoNodes();
    const g = newGame('g1');
    n1.change(g);
    n1.turn();
    await delivered();
    expect(n2.list.get('g1')).toBeDefined();
    world.live.delete('n1');
    n2.feed.sweep();
    await delivered();
    expect(n2.list.get('g1')).toBeUndefined();
    expect(hub.hashes.get(names.listShard(shardOf('g1')))?.has('g1')).toBe(false);
    // Taken over late (epoch 2): listed again.
    n2.change(g, 2);
    n2.turn();
    await delivered();
    expect(n2.list.get('g1')?.version).toBe(g.version);
    expect(hub.hashes.get(names.listShard(shardOf('g1')))?.get('g1')).toMatch(/^2 /);
  });
});
