import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHub } from '../../server/src/cluster/bus.js';
import { Cluster } from '../../server/src/cluster/cluster.js';
import { Entities, type EntitySpec } from '../../server/src/cluster/entities.js';
import { Names } from '../../server/src/cluster/names.js';
import { TestBus, until } from '../helpers/testBus.js';

/*
 * A routed command of an entity held by interest (a game, a party) is
 * answered in the batch its owner publishes: the caller's node makes the
 * result (the entity's view) from its replica; the owner's reply, which
 * follows, serves a command without a batch and a caller that missed the
 * batch. Nodes in one process on a LocalHub, as in cluster.test.ts.
 */

const names = new Names('t');
const log = pino({ level: 'silent' });

interface Tally {
  id: string;
  version: number;
  value: number;
}
/** `add` changes it; `same` changes nothing (no batch); `stamp` changes it and answers something other than its view. */
type TallyCommand = { type: 'add'; n: number } | { type: 'same' } | { type: 'stamp' };
type TallyEvent = { n: number; version: number };
type TallyView = { value: number; version: number };
type TallyResult = TallyView | string | null;

const view = (s: Tally | undefined): TallyView | null => (s ? { value: s.value, version: s.version } : null);

const tallySpec = (): EntitySpec<Tally, TallyCommand, TallyEvent, TallyResult> => ({
  kind: 'tally',
  version: (s) => s.version,
  decide(id, before, command) {
    if (command.type === 'same') return { result: view(before), events: [], timers: [] };
    const e = { n: command.type === 'add' ? command.n : 0, version: (before?.version ?? 0) + 1 };
    const after = { id, version: e.version, value: (before?.value ?? 0) + e.n };
    return { result: command.type === 'stamp' ? `stamped at ${after.version}` : view(after), events: [e], timers: [] };
  },
  apply: (id, before, e) => ({ id, version: e.version, value: (before?.value ?? 0) + e.n }),
  replace: () => {},
  resume: () => [],
  interest: {
    users: () => [],
    members: () => [],
    here: () => false,
    locate: async () => new Map(),
    deliver: () => {},
    resynced: () => {},
    answers: { view, carried: (c) => c.type === 'stamp' },
  },
});

interface Node {
  id: string;
  bus: TestBus;
  cluster: Cluster;
  tallies: Entities<Tally, TallyCommand, TallyEvent, TallyResult>;
  /** The messages this node received on the tally's channel and on its own (lost ones too). */
  heard: { channel: string; message: string }[];
}

let running: Node[] = [];

afterEach(async () => {
  const nodes = running;
  running = [];
  for (const n of nodes) n.tallies.stop();
  await Promise.all(nodes.map((n) => n.cluster.stop()));
});

async function startNodes(hub: LocalHub, ...ids: string[]): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const id of ids) {
    const bus = new TestBus(hub);
    const cluster = new Cluster(bus, { nodeId: id, prefix: 't', heartbeatMs: 25, timeoutMs: 250, callTimeoutMs: 300 }, log);
    const node: Node = { id, bus, cluster, tallies: new Entities(tallySpec(), cluster, log), heard: [] };
    running.push(node);
    await cluster.start();
    nodes.push(node);
  }
  await until(() => nodes.every((n) => n.cluster.nodes().length === ids.length), 'every node to know every other');
  return nodes;
}

/** Owner A (which creates the tally) and caller B, whose incoming messages are recorded and may be lost by `lose`. */
async function ownerAndCaller(lose: (channel: string) => boolean): Promise<{ a: Node; b: Node }> {
  const [a, b] = await startNodes(new LocalHub(), 'a', 'b');
  await a!.tallies.create('t1', { type: 'add', n: 1 });
  b!.bus.drop = (channel, message) => {
    b!.heard.push({ channel, message });
    return lose(channel);
  };
  return { a: a!, b: b! };
}

const batches = (n: Node) => n.heard.filter((h) => h.channel === names.entity('tally:t1')).map((h) => JSON.parse(h.message) as { t: string; answer?: { result?: unknown } });

describe('routed answers by interest', () => {
  it("are heard in the batch: the caller's node makes its view there, a carried result comes along, with every reply lost", async () => {
    const { a, b } = await ownerAndCaller((channel) => channel === names.node('b'));
    expect(await b.tallies.exec('t1', { type: 'add', n: 2 })).toEqual({ value: 3, version: 2 });
    expect(await b.tallies.exec('t1', { type: 'stamp' })).toBe('stamped at 3');
    expect(await b.tallies.exec('t1', { type: 'add', n: 4 })).toEqual({ value: 7, version: 4 });
    expect(b.tallies.get('t1')).toEqual(a.tallies.get('t1'));
    // The view never travels: only the carried result does.
    expect(batches(b).map((m) => m.answer && ('result' in m.answer ? m.answer.result : 'made here'))).toEqual(['made here', 'stamped at 3', 'made here']);
    // The replies follow (lost here): one per command.
    await until(() => b.heard.filter((h) => h.channel === names.node('b') && h.message.includes('"t":"res"')).length === 3, 'the three replies');
  });

  it('are replied when the batch is lost: the caller catches up from the store and makes the same view', async () => {
    const { b } = await ownerAndCaller((channel) => channel === names.entity('tally:t1'));
    expect(await b.tallies.exec('t1', { type: 'add', n: 2 })).toEqual({ value: 3, version: 2 });
    expect(await b.tallies.exec('t1', { type: 'stamp' })).toBe('stamped at 3');
    expect(b.tallies.get('t1')).toEqual({ id: 't1', version: 3, value: 3 });
    expect(batches(b)).toHaveLength(2);
  });

  it('a command that changes nothing has no batch: the reply answers it, with the view made on the caller', async () => {
    const { b } = await ownerAndCaller(() => false);
    expect(await b.tallies.exec('t1', { type: 'same' })).toEqual({ value: 1, version: 1 });
    expect(batches(b)).toHaveLength(0);
    const replies = b.heard.filter((h) => h.channel === names.node('b')).map((h) => JSON.parse(h.message) as { body: object });
    expect(replies.map((r) => r.body)).toEqual([{ version: 1 }]);
  });
});
