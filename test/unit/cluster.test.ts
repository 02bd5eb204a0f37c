import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalBus, LocalHub, readStored } from '../../server/src/cluster/bus.js';
import { TestBus, until } from '../helpers/testBus.js';
import { Cluster } from '../../server/src/cluster/cluster.js';
import { Entities, type EntitySpec } from '../../server/src/cluster/entities.js';
import { Names } from '../../server/src/cluster/names.js';
import { decodeRecord, prevails, SessionRecords, type LetGo, type SessionRecord } from '../../server/src/cluster/sessions.js';
import { TickReads } from '../../server/src/cluster/tickReads.js';
import { LobbyError } from '../../server/src/errors.js';
import { Directory, type Remote } from '../../server/src/gateway/directory.js';
import { Session } from '../../server/src/gateway/session.js';

/*
 * Several Cluster nodes in one process, on one LocalHub, with real short
 * timers: heartbeats every 25 ms, a node silent for 250 ms is dead, a routed
 * call waits 300 ms (a timeout well above the heartbeat, so that a loaded
 * machine's event-loop stalls do not declare live nodes dead). Conditions are awaited with a bounded poll, never a
 * fixed sleep (except a short flush of the in-process bus's queued deliveries).
 */

const PREFIX = 't';
const names = new Names(PREFIX);
const HEARTBEAT_MS = 25;
const TIMEOUT_MS = 250;
const CALL_TIMEOUT_MS = 300;
const log = pino({ level: 'silent' });

// ------------------------------------------------------------------ a tiny entity: a counter

interface Counter {
  id: string;
  version: number;
  value: number;
}
type CounterCommand = { type: 'add'; n: number } | { type: 'refuse' };
type CounterEvent = { type: 'added'; n: number; version: number };

/** What a node's counter spec was asked to decide, to tell where a command ran. */
interface Trace {
  decided: { id: string; command: CounterCommand }[];
}

/** Held by its owner alone, claimed by its successor (as a queue is). */
function counterSpec(trace: Trace): EntitySpec<Counter, CounterCommand, CounterEvent, number> {
  return {
    kind: 'counter',
    version: (s) => s.version,
    decide(id, before, command) {
      trace.decided.push({ id, command });
      if (command.type === 'refuse') throw new LobbyError('FORBIDDEN', 'counters refuse this');
      return {
        result: (before?.value ?? 0) + command.n,
        events: [{ type: 'added', n: command.n, version: (before?.version ?? 0) + 1 }],
        timers: [],
      };
    },
    apply: (id, before, e) => ({ id, version: e.version, value: (before?.value ?? 0) + e.n }),
    replace: () => {},
    resume: () => [],
    ownerOnly: true,
    claimed: { fresh: (id) => ({ id, version: 0, value: 0 }) },
  };
}

// ------------------------------------------------------------------ nodes

interface TestNode {
  id: string;
  bus: TestBus;
  cluster: Cluster;
  counters: Entities<Counter, CounterCommand, CounterEvent, number>;
  trace: Trace;
  /** Nodes this one saw go down, in order. */
  downs: string[];
}

let running: TestNode[] = [];

afterEach(async () => {
  const nodes = running;
  running = [];
  for (const n of nodes) n.counters.stop();
  await Promise.all(nodes.map((n) => n.cluster.stop()));
});

async function startNode(hub: LocalHub, id: string): Promise<TestNode> {
  const bus = new TestBus(hub);
  const cluster = new Cluster(bus, { nodeId: id, prefix: PREFIX, heartbeatMs: HEARTBEAT_MS, timeoutMs: TIMEOUT_MS, callTimeoutMs: CALL_TIMEOUT_MS }, log);
  const trace: Trace = { decided: [] };
  const counters = new Entities(counterSpec(trace), cluster, log);
  const node: TestNode = { id, bus, cluster, counters, trace, downs: [] };
  cluster.onNodeDown((n) => node.downs.push(n));
  running.push(node);
  await cluster.start();
  return node;
}

/** Starts the nodes one after the other and waits until every one lists every other. */
async function startCluster(hub: LocalHub, ...ids: string[]): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) nodes.push(await startNode(hub, id));
  await until(() => nodes.every((n) => sorted(n.cluster.nodes()).join() === sorted(ids).join()), 'every node to know every other');
  return nodes;
}

/** The node stops answering and heartbeating, without a bye. */
function kill(node: TestNode): void {
  node.bus.dead = true;
}

// ------------------------------------------------------------------ helpers

const sorted = (xs: string[]) => [...xs].sort();


/** Lets every message already published on the in-process bus arrive (delivery is by microtask). */
const flush = () => new Promise((r) => setTimeout(r, 0));

async function rejection(p: unknown): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The owner's fencing epoch, from its snapshot handler (local call). */
async function epochOf(node: TestNode, id: string): Promise<number> {
  const snap = await node.cluster.call<{ epoch: number }>(node.id, 'counter.snapshot', { id });
  return snap.epoch;
}

/** `n` ids whose successor is `node` (it claims them). */
function idsOwnedBy(node: TestNode, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) if (node.cluster.successor(`counter:e${i}`) === node.id) ids.push(`e${i}`);
  return ids;
}

/** Its successor claims the counter; every node then knows who owns it. */
async function claimed(nodes: TestNode[], id: string): Promise<{ owner: TestNode; other: TestNode }> {
  const owner = nodes.find((n) => n.cluster.successor(`counter:${id}`) === n.id)!;
  expect(await owner.counters.claim(id)).toBe(true);
  await until(() => nodes.every((n) => n.counters.ownerOf(id) === owner.id), `every node to know who owns ${id}`);
  return { owner, other: nodes.find((n) => n !== owner)! };
}

// ------------------------------------------------------------------ tests

describe('cluster membership', () => {
  it('nodes learn each other; a bye removes a node at once; a silent node is declared down after the timeout', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    // A healthy cluster stays whole: past every node's start-up grace (a timeout), nobody was declared down.
    await new Promise((r) => setTimeout(r, TIMEOUT_MS + 3 * HEARTBEAT_MS));
    for (const n of [a!, b!, c!]) {
      expect(n.downs).toEqual([]);
      expect(sorted(n.cluster.nodes())).toEqual(['A', 'B', 'C']);
    }

    // A stop says bye: the others drop the node without waiting for the timeout.
    const stoppedAt = Date.now();
    await c!.cluster.stop();
    await flush();
    expect(Date.now() - stoppedAt).toBeLessThan(TIMEOUT_MS);
    expect(sorted(a!.cluster.nodes())).toEqual(['A', 'B']);
    expect(sorted(b!.cluster.nodes())).toEqual(['A', 'B']);
    expect(a!.downs).toEqual(['C']);
    expect(b!.downs).toEqual(['C']);
    expect(a!.cluster.isLive('C')).toBe(false);

    // A node that goes silent (no bye) stays listed until a full timeout has passed without a heartbeat.
    const killedAt = Date.now();
    kill(b!);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
    expect(a!.cluster.nodes()).toContain('B');
    expect(a!.downs).toEqual(['C']);
    await until(() => a!.downs.includes('B'), 'A to declare B down');
    // B's last heartbeat left up to an interval before the kill, later still when a loaded machine delays its timer.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 2 * HEARTBEAT_MS);
    expect(a!.cluster.nodes()).toEqual(['A']);
    expect(a!.downs).toEqual(['C', 'B']); // once each
  });

  it('a node that starts later finds the others through their keys and is found by them', async () => {
    const hub = new LocalHub();
    const [a, b] = await startCluster(hub, 'A', 'B');
    const d = await startNode(hub, 'D');
    // D learned A and B during start() (their liveness keys), before any beat of theirs.
    expect(sorted(d.cluster.nodes())).toEqual(['A', 'B', 'D']);
    expect(d.cluster.ready).toBe(true);
    await until(() => a!.cluster.isLive('D') && b!.cluster.isLive('D'), 'A and B to hear D');
  });
});

describe('successor', () => {
  it('is the same on every node for the same key and live set, spreads keys, and never picks a draining node', async () => {
    const hub = new LocalHub();
    const nodes = await startCluster(hub, 'A', 'B', 'C');
    const keys = Array.from({ length: 60 }, (_, i) => `counter:k${i}`);

    const picks = keys.map((k) => nodes.map((n) => n.cluster.successor(k)));
    for (const p of picks) expect(new Set(p).size).toBe(1);
    // Rendezvous hashing over three nodes: each gets a share of 60 keys.
    expect(new Set(picks.map((p) => p[0]))).toEqual(new Set(['A', 'B', 'C']));

    const [a, b, c] = nodes;
    b!.cluster.startDraining();
    expect(b!.cluster.isDraining).toBe(true);
    expect(b!.cluster.ready).toBe(false);
    // B stops choosing itself at once; the others once its draining heartbeat arrives.
    await until(() => keys.every((k) => a!.cluster.successor(k) !== 'B' && c!.cluster.successor(k) !== 'B'), 'A and C to stop choosing B');
    for (const k of keys) {
      const s = b!.cluster.successor(k);
      expect(s).not.toBe('B');
      expect(a!.cluster.successor(k)).toBe(s);
      expect(c!.cluster.successor(k)).toBe(s);
    }
    // A key that went to a node still taking work stays there (only B's keys move).
    keys.forEach((k, i) => {
      if (picks[i]![0] !== 'B') expect(a!.cluster.successor(k)).toBe(picks[i]![0]);
    });
    // Draining is not leaving.
    expect(a!.cluster.nodes()).toContain('B');
  });
});

describe('routing', () => {
  it('a command from another node runs on the owner, which alone holds the entity', async () => {
    const hub = new LocalHub();
    const nodes = await startCluster(hub, 'A', 'B');
    const { owner, other } = await claimed(nodes, 'x');

    expect(await owner.counters.exec('x', { type: 'add', n: 5 })).toBe(5);
    owner.trace.decided.length = 0;
    expect(await other.counters.exec('x', { type: 'add', n: 2 })).toBe(7);
    expect(owner.trace.decided).toEqual([{ id: 'x', command: { type: 'add', n: 2 } }]);
    expect(other.trace.decided).toEqual([]);
    expect(owner.counters.get('x')).toEqual({ id: 'x', version: 2, value: 7 });
    // Held by its owner alone: the other node knows who owns it, not what it holds.
    expect(other.counters.get('x')).toBeUndefined();
    expect(other.counters.ownerOf('x')).toBe(owner.id);
    // Stored before the answer: a takeover would find version 2.
    expect(JSON.parse(readStored(hub.read('t:{counter:x}:snap'))!.value!).state).toEqual({ id: 'x', version: 2, value: 7 });
  });

  it("a LobbyError thrown by the owner's decide arrives at the caller as a LobbyError with the same code", async () => {
    const hub = new LocalHub();
    const nodes = await startCluster(hub, 'A', 'B');
    const { owner, other } = await claimed(nodes, 'x');
    await owner.counters.exec('x', { type: 'add', n: 1 });

    const err = await rejection(other.counters.exec('x', { type: 'refuse' }));
    expect(err).toBeInstanceOf(LobbyError);
    expect((err as LobbyError).code).toBe('FORBIDDEN');
    expect((err as LobbyError).message).toBe('counters refuse this');
    expect(owner.trace.decided.at(-1)).toEqual({ id: 'x', command: { type: 'refuse' } });
    // Nothing changed.
    expect(owner.counters.get('x')?.version).toBe(1);

    // Anything else thrown there is INTERNAL here, without the other node's message.
    owner.cluster.handle('boom', () => {
      throw new Error('secret detail');
    });
    const internal = await rejection(other.cluster.call(owner.id, 'boom', null));
    expect(internal).toBeInstanceOf(LobbyError);
    expect((internal as LobbyError).code).toBe('INTERNAL');
    expect((internal as LobbyError).message).not.toContain('secret detail');
  });

  it('a call that gets no answer, or to a node that is gone, rejects with NODE_UNAVAILABLE within callTimeoutMs', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');

    // A live node that does not answer in time.
    a!.cluster.handle('never', () => new Promise(() => {}));
    let t0 = Date.now();
    let err = await rejection(b!.cluster.call('A', 'never', null));
    expect((err as LobbyError).code).toBe('NODE_UNAVAILABLE');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 5);
    expect(Date.now() - t0).toBeLessThan(CALL_TIMEOUT_MS + 250);

    // A node that died owning an entity: the command routed to it fails in time.
    const id = idsOwnedBy(a!, 1)[0]!;
    await claimed([a!, b!, c!], id);
    kill(a!);
    t0 = Date.now();
    err = await rejection(b!.counters.exec(id, { type: 'add', n: 1 }));
    expect(err).toBeInstanceOf(LobbyError);
    expect((err as LobbyError).code).toBe('NODE_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(CALL_TIMEOUT_MS + 250);

    // A node that said bye: refused at once.
    await c!.cluster.stop();
    await flush();
    t0 = Date.now();
    err = await rejection(b!.cluster.call('C', 'counter.snapshot', { id }));
    expect((err as LobbyError).code).toBe('NODE_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(CALL_TIMEOUT_MS / 2);
    // And a node never heard of.
    err = await rejection(b!.cluster.call('Z', 'counter.snapshot', { id }));
    expect((err as LobbyError).code).toBe('NODE_UNAVAILABLE');
  });

  it('a node that starts later learns in start() who owns what, and routes there', async () => {
    const hub = new LocalHub();
    const nodes = await startCluster(hub, 'A', 'B');
    const { owner } = await claimed(nodes, 'x');
    await owner.counters.exec('x', { type: 'add', n: 2 });

    const d = await startNode(hub, 'D');
    expect(d.counters.ownerOf('x')).toBe(owner.id);
    expect(await d.counters.exec('x', { type: 'add', n: 1 })).toBe(3);
    expect(d.trace.decided).toEqual([]);
    expect(owner.counters.get('x')).toEqual({ id: 'x', version: 2, value: 3 });
  });
});

describe('failover', () => {
  it("a dead owner's entity goes to its successor under a raised epoch, rebuilt from the store; the old owner's late writes are fenced out", async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    const x = idsOwnedBy(a!, 1)[0]!;
    await claimed([a!, b!, c!], x);
    await a!.counters.exec(x, { type: 'add', n: 5 });
    await a!.counters.exec(x, { type: 'add', n: 5 });
    expect(await epochOf(a!, x)).toBe(1);

    kill(a!);
    await until(() => b!.downs.includes('A') && c!.downs.includes('A'), 'B and C to declare A down');
    const heir = b!.cluster.successor(`counter:${x}`)!;
    expect(c!.cluster.successor(`counter:${x}`)).toBe(heir);
    expect(['B', 'C']).toContain(heir);
    const other = heir === 'B' ? c! : b!;
    const heirNode = heir === 'B' ? b! : c!;

    await until(() => b!.counters.ownerOf(x) === heir && c!.counters.ownerOf(x) === heir, 'B and C to follow the new owner');
    expect(heirNode.counters.owned()).toEqual([x]);
    expect(heirNode.counters.get(x)).toEqual({ id: x, version: 2, value: 10 });
    expect(other.counters.owned()).toEqual([]);
    expect(await epochOf(heirNode, x)).toBe(2);
    expect(hub.read(names.lease(`counter:${x}`))).toBe(`${heir}:2`);

    // The other node cannot take it too: the lease moved from A:1 once.
    expect(await other.cluster.lease(`counter:${x}`, { owner: 'A', epoch: 1 }, { owner: other.id, epoch: 2 })).toBe(false);
    expect(hub.read(names.lease(`counter:${x}`))).toBe(`${heir}:2`);

    // A, partitioned rather than dead, comes back still thinking it owns x at epoch 1: its write is refused.
    a!.bus.dead = false;
    expect(((await rejection(a!.counters.exec(x, { type: 'add', n: 100 }))) as LobbyError).code).toBe('NODE_UNAVAILABLE');
    const stored = readStored(hub.read(`t:{counter:${x}}:snap`))!;
    expect(stored.epoch).toBe(2);
    expect(JSON.parse(stored.value!).state).toEqual({ id: x, version: 2, value: 10 });
    expect(heirNode.counters.get(x)).toEqual({ id: x, version: 2, value: 10 });
    // Fenced out, it reads who owns it now from the store and routes there.
    await until(() => a!.counters.ownerOf(x) === heir, 'A to learn the new owner');

    // The new owner runs the next commands, from either node.
    expect(await other.counters.exec(x, { type: 'add', n: 1 })).toBe(11);
    expect(heirNode.trace.decided.at(-1)).toEqual({ id: x, command: { type: 'add', n: 1 } });
    expect(other.trace.decided).toEqual([]);
    expect(heirNode.counters.get(x)).toEqual({ id: x, version: 3, value: 11 });
    expect(await epochOf(heirNode, x)).toBe(2);
  });

  it('ownership passes on again when the new owner dies too (epoch 3)', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    const x = idsOwnedBy(a!, 1)[0]!;
    await claimed([a!, b!, c!], x);
    await a!.counters.exec(x, { type: 'add', n: 1 });

    kill(a!);
    await until(() => b!.counters.ownerOf(x) !== 'A' && c!.counters.ownerOf(x) !== 'A' && b!.counters.ownerOf(x) !== undefined, 'x to move off A');
    const heirNode = b!.counters.ownerOf(x) === 'B' ? b! : c!;
    const last = heirNode === b! ? c! : b!;
    expect(last.counters.ownerOf(x)).toBe(heirNode.id);
    expect(await last.counters.exec(x, { type: 'add', n: 1 })).toBe(2);

    kill(heirNode);
    await until(() => last.counters.ownerOf(x) === last.id, `${last.id} to take x over`);
    expect(await epochOf(last, x)).toBe(3);
    expect(hub.read(names.lease(`counter:${x}`))).toBe(`${last.id}:3`);
    // Runs here now, with nothing lost.
    expect(await last.counters.exec(x, { type: 'add', n: 1 })).toBe(3);
    expect(last.counters.get(x)).toEqual({ id: x, version: 3, value: 3 });
  });

  it('lease() moves a lease once from a given owner and epoch', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    const lease = names.lease('counter:y');

    // Never written (the creator owns by birth): the first mover wins, the second is refused.
    expect(await b!.cluster.lease('counter:y', { owner: 'A', epoch: 1 }, { owner: 'B', epoch: 2 })).toBe(true);
    expect(await c!.cluster.lease('counter:y', { owner: 'A', epoch: 1 }, { owner: 'C', epoch: 2 })).toBe(false);
    expect(hub.read(lease)).toBe('B:2');
    // Racing at the same instant: still only one.
    const race = await Promise.all([
      a!.cluster.lease('counter:y', { owner: 'B', epoch: 2 }, { owner: 'A', epoch: 3 }),
      c!.cluster.lease('counter:y', { owner: 'B', epoch: 2 }, { owner: 'C', epoch: 3 }),
    ]);
    expect(race.filter(Boolean)).toHaveLength(1);
    expect(hub.read(lease)).toBe(race[0] ? 'A:3' : 'C:3');
    // A stale holder is refused.
    expect(await b!.cluster.lease('counter:y', { owner: 'B', epoch: 2 }, { owner: 'B', epoch: 3 })).toBe(false);
  });
});

describe('drain', () => {
  it("handOver() moves a draining node's entities to the others, who run the next commands", async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    const ids = idsOwnedBy(a!, 8);
    for (const id of ids) await claimed([a!, b!, c!], id);
    for (const id of ids) await a!.counters.exec(id, { type: 'add', n: 1 });

    a!.cluster.startDraining();
    await until(() => ids.every((id) => b!.cluster.successor(`counter:${id}`) !== 'A'), 'B to hear A drain');
    const heirs = new Map(ids.map((id) => [id, a!.cluster.successor(`counter:${id}`)!]));
    // Each goes where every node agrees it should.
    for (const id of ids) {
      expect(heirs.get(id)).not.toBe('A');
      expect(b!.cluster.successor(`counter:${id}`)).toBe(heirs.get(id));
    }

    expect(await a!.counters.handOver()).toBe(ids.length);
    expect(a!.counters.owned()).toEqual([]);
    await until(() => ids.every((id) => b!.counters.ownerOf(id) === heirs.get(id) && c!.counters.ownerOf(id) === heirs.get(id)), 'B and C to follow the handover');
    for (const id of ids) {
      expect(a!.counters.ownerOf(id)).toBe(heirs.get(id));
      expect(a!.counters.get(id)).toBeUndefined(); // handed over: held by the new owner alone
      const heir = heirs.get(id) === 'B' ? b! : c!;
      await until(() => heir.counters.get(id) !== undefined, `${heir.id} to read ${id} from the store`);
      expect(await epochOf(heir, id)).toBe(2);
    }
    expect(sorted([...b!.counters.owned(), ...c!.counters.owned()])).toEqual(sorted(ids));

    // Commands sent to A (still up, draining) now run on the new owners.
    a!.trace.decided.length = 0;
    b!.trace.decided.length = 0;
    c!.trace.decided.length = 0;
    for (const id of ids) expect(await a!.counters.exec(id, { type: 'add', n: 10 })).toBe(11);
    expect(a!.trace.decided).toEqual([]);
    expect(sorted([...b!.trace.decided, ...c!.trace.decided].map((d) => d.id))).toEqual(sorted(ids));
    for (const id of ids) {
      const heir = heirs.get(id) === 'B' ? b! : c!;
      expect(heir.trace.decided.some((d) => d.id === id)).toBe(true);
      expect(heir.counters.get(id)).toEqual({ id, version: 2, value: 11 });
    }

    // A can now leave without anything to take over.
    await a!.cluster.stop();
    await flush();
    for (const id of ids) expect(b!.counters.ownerOf(id)).toBe(heirs.get(id));
  });
});

describe('claim', () => {
  it('an entity that exists before anyone owns it refuses commands until its successor claims it, then routes to it', async () => {
    const hub = new LocalHub();
    const nodes = await startCluster(hub, 'A', 'B', 'C');
    for (const n of nodes) {
      expect(n.counters.ownerOf('q1')).toBeUndefined();
      expect(() => n.counters.exec('q1', { type: 'add', n: 1 })).toThrow(expect.objectContaining({ code: 'NODE_UNAVAILABLE' }));
    }

    const heir = nodes[0]!.cluster.successor('counter:q1')!;
    for (const n of nodes) expect(n.cluster.successor('counter:q1')).toBe(heir);
    for (const n of nodes) if (n.id !== heir) expect(await n.counters.claim('q1')).toBe(false);
    expect(hub.read(names.lease('counter:q1'))).toBeNull();
    const owner = nodes.find((n) => n.id === heir)!;
    expect(await owner.counters.claim('q1')).toBe(true);
    expect(await owner.counters.claim('q1')).toBe(false); // once
    expect(hub.read(names.lease('counter:q1'))).toBe(`${heir}:1`);
    await until(() => nodes.every((n) => n.counters.ownerOf('q1') === heir), 'every node to follow the claim');

    const from = nodes.find((n) => n.id !== heir)!;
    for (const n of nodes) n.trace.decided.length = 0;
    expect(await from.counters.exec('q1', { type: 'add', n: 4 })).toBe(4);
    expect(owner.trace.decided).toEqual([{ id: 'q1', command: { type: 'add', n: 4 } }]);
    expect(owner.counters.get('q1')).toEqual({ id: 'q1', version: 1, value: 4 });
  });
});

describe('session records', () => {
  it('claim asks a live holder by its fence, re-reads when the holder has a newer session, skips a dead holder; release removes only its own record', async () => {
    const hub = new LocalHub();
    const [a, b] = await startCluster(hub, 'A', 'B');
    const read = (u: string) => decodeRecord(hub.read(names.session(u)));

    const nobody = vi.fn(async (): Promise<LetGo> => 'none');
    const first = await a!.cluster.sessions.claim('u1', 'Ann', nobody);
    expect(nobody).not.toHaveBeenCalled();
    expect(first.previous).toBeUndefined();
    expect(read('u1')).toEqual(first.record);
    expect(first.record.node).toBe('A');
    expect([...(await a!.cluster.sessions.listedOn('A')).keys()]).toEqual(['u1']);

    // Again on the same node: no one else to ask; the fence grows.
    const again = await a!.cluster.sessions.claim('u1', 'Ann', nobody);
    expect(nobody).not.toHaveBeenCalled();
    expect(again.record.fence).toBeGreaterThan(first.record.fence);

    // B claims what live A holds: A is asked with the fence it holds; its answer comes back.
    const letGo = vi.fn(async (_holder: SessionRecord): Promise<LetGo> => 'moved');
    const onB = await b!.cluster.sessions.claim('u1', 'Ann', letGo);
    expect(letGo.mock.calls).toEqual([[again.record]]);
    expect(onB.moved).toBe(true);
    expect(read('u1')).toEqual(onB.record);

    // The holder has a newer session than the record read ('stale'): the record is read again, then claimed.
    let asked = 0;
    const stale = vi.fn(async (): Promise<LetGo> => (++asked === 1 ? 'stale' : 'none'));
    const onA = await a!.cluster.sessions.claim('u1', 'Ann', stale);
    expect(stale).toHaveBeenCalledTimes(2);
    expect(onA.moved).toBe(false);

    // The holder refuses: the refusal reaches the claimer and the record stays.
    const refuse = vi.fn(async (): Promise<LetGo> => {
      throw new LobbyError('ALREADY_LOGGED_IN', 'refused');
    });
    expect(((await rejection(b!.cluster.sessions.claim('u1', 'Ann', refuse))) as LobbyError).code).toBe('ALREADY_LOGGED_IN');
    expect(read('u1')).toEqual(onA.record);

    // A stale release (an older record of A's) leaves the current one.
    a!.cluster.sessions.release('u1', first.record);
    await flush();
    expect(read('u1')).toEqual(onA.record);

    // A dies holding u1: B takes the record without asking anyone.
    kill(a!);
    await until(() => !b!.cluster.isLive('A'), 'B to declare A down');
    const unasked = vi.fn(async (): Promise<LetGo> => 'moved');
    const taken = await b!.cluster.sessions.claim('u1', 'Ann', unasked);
    expect(unasked).not.toHaveBeenCalled();
    expect(read('u1')?.node).toBe('B');

    b!.cluster.sessions.release('u1', taken.record);
    await until(() => hub.read(names.session('u1')) === null, 'the record to be released');
  });

  it('a node alone on a bus of its own (solo) writes no records, and its fences still grow with every login', async () => {
    const bus = new LocalBus();
    expect(bus.solo).toBe(true);
    expect(new LocalBus(new LocalHub()).solo).toBe(false);
    const records = new SessionRecords(bus, names, 'A', (n) => n === 'A', log, new TickReads(bus));
    const nobody = vi.fn(async (): Promise<LetGo> => 'none');
    const writing = vi.fn();
    const first = await records.claim('u1', 'Ann', nobody, writing);
    const other = await records.claim('u2', 'Bo', nobody, writing);
    const again = await records.claim('u1', 'Ann', nobody, writing);
    expect(first).toEqual({ record: { node: 'A', fence: first.record.fence, name: 'Ann' }, previous: undefined, moved: false });
    expect(other.record.fence).toBeGreaterThan(first.record.fence);
    expect(again.record.fence).toBeGreaterThan(other.record.fence);
    // Nothing written: no record, no entry in the node's set, nobody asked (nobody else can hold one).
    expect(await bus.getMany([names.session('u1'), names.session('u2')])).toEqual([null, null]);
    expect((await records.listedOn('A')).size).toBe(0);
    expect(nobody).not.toHaveBeenCalled();
    expect(writing).not.toHaveBeenCalled();
    expect(await records.lookup(['u1', 'u2'])).toEqual([undefined, undefined]);
    expect(await records.reassert('u1', again.record)).toBeUndefined();
    expect(await bus.get(names.session('u1'))).toBeNull();
    records.release('u1', again.record);
    expect(await records.adopt('u1', 'B')).toBeUndefined();
  });

  it('two claims of one user at once: exactly one holds the record, and the loser asked the winner by the winning fence', async () => {
    const hub = new LocalHub();
    const [a, b] = await startCluster(hub, 'A', 'B');
    const asked: SessionRecord[] = [];
    const letGo = async (holder: SessionRecord): Promise<LetGo> => (asked.push(holder), 'moved');
    const [x, y] = await Promise.all([a!.cluster.sessions.claim('u2', 'Bo', letGo), b!.cluster.sessions.claim('u2', 'Bo', letGo)]);
    const final = decodeRecord(hub.read(names.session('u2')))!;
    const winner = final.node === 'A' ? x : y;
    const loser = final.node === 'A' ? y : x;
    expect(final).toEqual(winner.record);
    // The later claim replaced the earlier one: it asked the earlier one's holder, naming its fence.
    expect(winner.previous).toEqual(loser.record);
    expect(asked).toEqual([loser.record]);
  });

  it('prevails: the newer login under replace, the older under refuse; ties by node', () => {
    const old = { node: 'B', fence: 100, name: 'x' };
    const recent = { node: 'A', fence: 200, name: 'x' };
    expect(prevails(recent, old, 'replace')).toBe(true);
    expect(prevails(old, recent, 'replace')).toBe(false);
    expect(prevails(old, recent, 'refuse')).toBe(true);
    const tieA = { node: 'A', fence: 5, name: 'x' };
    const tieB = { node: 'B', fence: 5, name: 'x' };
    expect(prevails(tieB, tieA, 'replace')).toBe(true);
    expect(prevails(tieA, tieB, 'replace')).toBe(false);
    expect(prevails(tieA, tieB, 'refuse')).toBe(!prevails(tieB, tieA, 'refuse'));
  });
});

describe('session directory', () => {
  it('finds sessions on other nodes in one batch per tick, answers each user in call order, caches found ones, and forgets a dead node', async () => {
    const hub = new LocalHub();
    const [a, b, c] = await startCluster(hub, 'A', 'B', 'C');
    const here = new Map<string, Session>([['local', new Session('local', 'Lo')]]);
    const dir = new Directory(here, a!.cluster, log);
    await b!.cluster.sessions.claim('onB', 'Bee', async () => 'none');
    await c!.cluster.sessions.claim('onC', 'Cee', async () => 'none');
    const reads = vi.spyOn(a!.bus, 'readAll');

    // Three calls in one tick: one read of Redis, and answers in the order asked.
    const order: string[] = [];
    const first = new Promise<Map<string, Remote>>((r) => dir.where(['onB', 'nobody', 'local'], (m) => (order.push('first'), r(m))));
    const second = new Promise<Map<string, Remote>>((r) => dir.where(['onC', 'onB'], (m) => (order.push('second'), r(m))));
    const third = dir.locate(['onC']);
    expect(await first).toEqual(new Map([['onB', expect.objectContaining({ node: 'B', name: 'Bee' })]]));
    expect([...(await second).entries()].map(([u, r]) => `${u}@${r.node}`)).toEqual(['onC@C', 'onB@B']);
    expect((await third).get('onC')?.node).toBe('C');
    expect(order).toEqual(['first', 'second']);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(new Set(reads.mock.calls[0]![0].map((r) => r.key))).toEqual(new Set(['onB', 'nobody', 'onC'].map((u) => names.session(u))));

    // Found sessions are cached: answered at once, without Redis; a user without a session is asked again.
    let sync = false;
    dir.where(['onB', 'onC'], () => (sync = true));
    expect(sync).toBe(true);
    expect(dir.online('onB')).toEqual(expect.objectContaining({ name: 'Bee' }));
    await dir.locate(['nobody']);
    expect(reads).toHaveBeenCalledTimes(2);

    // C dies: its entries go with it.
    kill(c!);
    await until(() => !a!.cluster.isLive('C'), 'A to declare C down');
    expect(dir.known('onC')).toBeUndefined();
    expect(dir.known('onB')?.node).toBe('B');
  });
});
