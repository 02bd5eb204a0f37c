import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBus, LocalHub, readStored } from '../../server/src/cluster/bus.js';
import { Cluster } from '../../server/src/cluster/cluster.js';
import { Entities, type EntitySpec } from '../../server/src/cluster/entities.js';
import { Interest } from '../../server/src/cluster/interest.js';
import { LobbyError } from '../../server/src/errors.js';

/*
 * Entities by interest on the in-process bus: a tiny room entity whose users
 * live on given nodes. The linger of dropping what nobody needs is tested on
 * Interest alone, with the clock given to its sweep.
 */

const log = pino({ level: 'silent' });

interface Room {
  id: string;
  version: number;
  users: string[];
}
type RoomCommand = { type: 'enter'; userId: string } | { type: 'leave'; userId: string } | { type: 'invite'; userId: string };
type RoomEvent = { type: 'entered' | 'left'; userId: string; version: number };

interface Node {
  id: string;
  cluster: Cluster;
  rooms: Entities<Room, RoomCommand, RoomEvent, number>;
  /** Users with a session on this node. */
  local: Set<string>;
  /** Batches of events this node applied, per room. */
  applied: string[];
  delivered: { users: readonly string[]; ev: string }[];
  /** Snapshots that replaced this node's replica (a gap repaired), per room. */
  replaced: string[];
}

let nodes: Node[] = [];

afterEach(async () => {
  for (const n of nodes) n.rooms.stop();
  await Promise.all(nodes.map((n) => n.cluster.stop()));
  nodes = [];
});

function roomSpec(node: () => Node): EntitySpec<Room, RoomCommand, RoomEvent, number> {
  return {
    kind: 'room',
    version: (s) => s.version,
    decide(id, before, c) {
      const version = (before?.version ?? 0) + 1;
      if (c.type === 'leave' && !before?.users.includes(c.userId)) throw new LobbyError('NOT_IN_GAME', 'not in the room');
      if (c.type === 'invite') {
        // An invite: the owner posts the invitee's personal event, delivered where their session is.
        node().rooms.post(id, [c.userId], 'room.invited', { id });
        return { result: version, events: [{ type: 'entered', userId: c.userId, version }], timers: [] };
      }
      return { result: version, events: [{ type: c.type === 'enter' ? 'entered' : 'left', userId: c.userId, version }], timers: [] };
    },
    apply(id, before, e) {
      const users = before?.users ?? [];
      const next = e.type === 'entered' ? [...users, e.userId] : users.filter((u) => u !== e.userId);
      return next.length ? { id, version: e.version, users: next } : undefined;
    },
    applied: (id) => node().applied.push(id),
    replace: (id) => node().replaced.push(id),
    resume: () => [],
    interest: {
      users: (s) => s.users,
      members: (s) => s.users,
      here: (u) => node().local.has(u),
      locate: async (users) => new Map(users.flatMap((u) => nodes.filter((n) => n.local.has(u)).map((n) => [u, n.id] as [string, string]))),
      deliver: (users, ev) => node().delivered.push({ users, ev }),
      resynced: () => {},
    },
  };
}

async function start(hub: LocalHub, ...ids: string[]): Promise<Node[]> {
  const started: Node[] = [];
  for (const id of ids) {
    const cluster = new Cluster(new LocalBus(hub), { nodeId: id, prefix: 't', heartbeatMs: 25, timeoutMs: 250, callTimeoutMs: 300 }, log);
    const node: Node = { id, cluster, rooms: undefined!, local: new Set(), applied: [], delivered: [], replaced: [] };
    node.rooms = new Entities(roomSpec(() => node), cluster, log);
    nodes.push(node);
    started.push(node);
    await cluster.start();
  }
  await until(() => started.every((n) => n.cluster.nodes().length === ids.length));
  return started;
}

async function until(cond: () => boolean, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets every message already published on the in-process bus arrive (delivery is by microtask). */
const flush = () => new Promise((r) => setTimeout(r, 0));

/** Two nodes holding room `id`: ann's on a (its owner), bob's on b. */
async function sharedRoom(hub: LocalHub, id: string): Promise<[Node, Node]> {
  const [a, b] = await start(hub, 'a', 'b');
  a!.local.add('ann');
  b!.local.add('bob');
  await a!.rooms.create(id, { type: 'enter', userId: 'ann' });
  await b!.rooms.exec(id, { type: 'enter', userId: 'bob' });
  return [a!, b!];
}

/** Each node listening on the room's channel hears it through `wrap` from now on (late, lossy). */
function rewire(hub: LocalHub, id: string, wrap: (fn: (m: string) => void) => (m: string) => void): void {
  const subscribers = hub.channels.get(`t:{room:${id}}`)!;
  for (const fn of [...subscribers]) {
    subscribers.delete(fn);
    subscribers.add(wrap(fn));
  }
}

describe('entities by interest', () => {
  it('the owner stores the snapshot before it answers; a node nobody there needs hears nothing of the entity', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await start(hub, 'a', 'b', 'c');
    a!.local.add('ann');
    b!.local.add('bob');
    expect(await a!.rooms.create('r1', { type: 'enter', userId: 'ann' })).toBe(1);
    // Answered: Redis (here the hub) holds it at that version, under the owner's epoch.
    const stored = readStored(hub.read('t:{room:r1}:snap'))!;
    expect(stored.epoch).toBe(1);
    expect(JSON.parse(stored.value!).state).toEqual({ id: 'r1', version: 1, users: ['ann'] });
    expect(hub.read('t:{user:ann}:room')).toBe('r1');

    // Bob's node routes his command and holds the room from then on, at the version the answer promised.
    expect(await b!.rooms.exec('r1', { type: 'enter', userId: 'bob' })).toBe(2);
    expect(b!.rooms.get('r1')?.version).toBe(2);
    await a!.rooms.exec('r1', { type: 'leave', userId: 'ann' });
    await a!.rooms.exec('r1', { type: 'enter', userId: 'ann' });
    await flush();
    expect(b!.rooms.get('r1')?.version).toBe(4);
    expect(b!.applied.length).toBe(3); // its own command's batch and the two after it
    // c has nobody in it: no replica, no channel, no batch.
    expect(c!.rooms.get('r1')).toBeUndefined();
    expect(c!.applied).toEqual([]);
    expect(hub.channels.get('t:{room:r1}')?.size).toBe(1);
  });

  it('a user another node holds is taken in by the owner: that node is told, holds the entity at that version, then delivers the posted event', async () => {
    const hub = new LocalHub();
    const [a, b] = await start(hub, 'a', 'b');
    a!.local.add('ann');
    b!.local.add('bob');
    await a!.rooms.create('r2', { type: 'enter', userId: 'ann' });
    await a!.rooms.exec('r2', { type: 'invite', userId: 'bob' });
    await until(() => b!.delivered.length === 1);
    expect(b!.rooms.get('r2')).toEqual({ id: 'r2', version: 2, users: ['ann', 'bob'] });
    expect(b!.delivered).toEqual([{ users: ['bob'], ev: 'room.invited' }]);
    expect(a!.delivered).toEqual([]);
  });

  it("a dead owner's entity is rebuilt from its stored snapshot by a successor that held no replica", async () => {
    const hub = new LocalHub();
    const [a, b, c] = await start(hub, 'a', 'b', 'c');
    a!.local.add('ann');
    await a!.rooms.create('r3', { type: 'enter', userId: 'ann' });
    await a!.rooms.exec('r3', { type: 'enter', userId: 'ann2' });
    expect(b!.rooms.get('r3')).toBeUndefined();
    expect(c!.rooms.get('r3')).toBeUndefined();
    a!.rooms.stop();
    await a!.cluster.stop();
    nodes = nodes.filter((n) => n !== a);
    await until(() => [b, c].some((n) => n!.rooms.ownerOf('r3') === n!.id));
    const heir = [b!, c!].find((n) => n.rooms.ownerOf('r3') === n.id)!;
    expect(heir.rooms.get('r3')).toEqual({ id: 'r3', version: 2, users: ['ann', 'ann2'] });
    // It stored it under the raised epoch, and takes commands.
    expect(readStored(hub.read('t:{room:r3}:snap'))!.epoch).toBe(2);
    expect(await heir.rooms.exec('r3', { type: 'leave', userId: 'ann2' })).toBe(3);
    expect(hub.plainSets.get(`t:{node:${heir.id}}:owns`)?.has('room:r3')).toBe(true);
    expect(hub.plainSets.get('t:{node:a}:owns')?.has('room:r3') ?? false).toBe(false);
  });
  it("a routed command that ends the entity answers only once the caller's replica has applied the end, however late its channel", async () => {
    const hub = new LocalHub();
    const [a, b] = await sharedRoom(hub, 'r4');
    await a.rooms.exec('r4', { type: 'leave', userId: 'ann' });
    await flush();
    expect(b.rooms.get('r4')?.users).toEqual(['bob']);
    // The room's channel now lags behind the answers (on a Redis Cluster it may sit on another shard than the reply).
    rewire(hub, 'r4', (fn) => (m) => void setTimeout(() => fn(m), 50));
    // Bob, the last one, leaves: the room ends. When the answer reaches his node, so has the end.
    await b.rooms.exec('r4', { type: 'leave', userId: 'bob' });
    expect(b.rooms.get('r4')).toBeUndefined();
    expect(b.applied).toContain('r4');
  });
});

describe('replicas by interest', () => {
  it('a replica that missed a batch reads the stored snapshot at the next one and converges to the owner', async () => {
    const hub = new LocalHub();
    const [a, b] = await sharedRoom(hub, 'r5');
    b.replaced.length = 0;

    // The room's channel loses the next message, for every node listening.
    let lost = 0;
    rewire(hub, 'r5', (fn) => {
      let first = true;
      return (m) => void (first ? ((first = false), lost++) : fn(m));
    });
    await a.rooms.exec('r5', { type: 'enter', userId: 'ann2' });
    await flush();
    expect(lost).toBeGreaterThan(0);
    expect(b.rooms.get('r5')?.version).toBe(2);

    // The next batch starts at version 3: a gap. b replaces its replica with the stored snapshot.
    await a.rooms.exec('r5', { type: 'enter', userId: 'ann3' });
    await until(() => b.rooms.get('r5')?.version === 4);
    expect(b.rooms.get('r5')).toEqual(a.rooms.get('r5'));
    expect(b.replaced).toEqual(['r5']);
    expect(b.rooms.ownerOf('r5')).toBe('a');

    // Back in step: the next batch is applied as a batch again.
    await a.rooms.exec('r5', { type: 'leave', userId: 'ann3' });
    await until(() => b.rooms.get('r5')?.version === 5);
    expect(b.replaced).toEqual(['r5']);
    expect(b.rooms.get('r5')?.users).toEqual(['ann', 'bob', 'ann2']);
  });

  it('arrival() waits for an entity another node puts a user of this one in, and gives up on an unknown one', async () => {
    const hub = new LocalHub();
    const [a, b] = await start(hub, 'a', 'b');
    b!.local.add('bob');
    // b asks before a's word can have arrived (delivery is asynchronous).
    const waiting = b!.rooms.arrival('r6', 1000);
    await a!.rooms.create('r6', { type: 'enter', userId: 'bob' });
    expect(await waiting).toEqual({ id: 'r6', version: 1, users: ['bob'] });
    const t0 = Date.now();
    expect(await b!.rooms.arrival('never', 50)).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});

describe('interest linger', () => {
  it('drops what nobody needs only after the linger, never while a command is under way, and stops listening', async () => {
    let needed = true;
    const dropped: string[] = [];
    const unlistened: string[] = [];
    const interest = new Interest(
      {
        listen: async () => {},
        unlisten: async (id) => void unlistened.push(id),
        needed: () => needed,
        held: () => ['x'],
        drop: (id) => void dropped.push(id),
      },
      1000,
    );
    try {
      await interest.listen('x');
      interest.sweep(0);
      needed = false;
      interest.sweep(100); // idle from now
      interest.sweep(1050); // not yet a whole linger
      expect(dropped).toEqual([]);
      let release!: () => void;
      const busy = interest.during('x', () => new Promise<void>((r) => (release = r)));
      interest.sweep(5000); // a command under way keeps it
      expect(dropped).toEqual([]);
      release();
      await busy;
      interest.sweep(5100);
      interest.sweep(6200);
      expect(dropped).toEqual(['x']);
      expect(unlistened).toEqual(['x']);
      expect(interest.listens('x')).toBe(false);
    } finally {
      interest.stop();
    }
  });
});

describe('interest sweeps', () => {
  it('run only while something is held or listened to', async () => {
    const held = new Set<string>();
    let needed = true;
    const interest = new Interest(
      {
        listen: async (id) => void held.add(id),
        unlisten: async () => {},
        needed: () => needed,
        held: () => held,
        drop: (id) => void held.delete(id),
      },
      1000,
    );
    try {
      expect(interest.sweeping).toBe(false); // a node holding nothing has nothing to sweep
      await interest.listen('x');
      expect(interest.sweeping).toBe(true);
      interest.sweep(0);
      expect(interest.sweeping).toBe(true); // still needed
      needed = false;
      interest.sweep(100);
      interest.sweep(1200);
      expect(held.size).toBe(0);
      expect(interest.sweeping).toBe(false);
      await interest.during('y', async () => expect(interest.sweeping).toBe(true)); // a command holds it meanwhile
      interest.sweep(1300);
      expect(interest.sweeping).toBe(false);
      interest.watch(); // an entity arrived
      expect(interest.sweeping).toBe(true);
      interest.stop();
      interest.watch();
      expect(interest.sweeping).toBe(false); // stopped for good
    } finally {
      interest.stop();
    }
  });
});
