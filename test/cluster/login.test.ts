import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorCode, nextState, useCluster, within } from '../helpers/cluster.js';

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

// Scenario (f): one login per account across the cluster, under either policy.
describe('cluster: one login per account, policy replace', () => {
  const cluster = useCluster({ nodes: 2, env: { FOYER_LOGIN_POLICY: 'replace' } });

  it('a login on n2 closes the same account\'s connection on n1 with 4001, by password and by token', async () => {
    const c = cluster();
    const name = unique('Rep');
    const x = c.client(0, 'X@n1');
    await x.connect();
    await x.call('auth.register', { name, password: 'correct horse battery' });
    // The SDK takes the token (for resume, and client.token) from auth.refresh, not from auth.register / auth.login.
    await x.call('auth.refresh', {});

    const xClosed = nextState(x, 'closed', 'reconnecting');
    const y = c.client(1, 'Y@n2');
    await y.connect();
    const me = await y.call('auth.login', { name, password: 'correct horse battery' });
    expect(me.userId).toBe(x.userId);
    await y.call('auth.refresh', {});
    const closed = await within(xClosed, 5000, 'the n1 connection is replaced');
    expect(closed.state).toBe('closed'); // 4001 is final: no reconnect
    expect(closed.info.close?.code).toBe(4001);
    await y.call('session.ping', {});

    // And back: a token login on n1 replaces the n2 connection.
    const yClosed = nextState(y, 'closed', 'reconnecting');
    const z = c.client(0, 'Z@n1');
    await z.connect();
    await z.call('auth.token', { token: y.token! });
    expect((await within(yClosed, 5000, 'the n2 connection is replaced')).info.close?.code).toBe(4001);
    await z.call('session.ping', {});

    // A guest's token used on the other node.
    const g = await c.guest(1, 'GuestRep');
    const gClosed = nextState(g, 'closed', 'reconnecting');
    const h = c.client(0, 'H@n1');
    await h.connect();
    await h.call('auth.token', { token: g.token! });
    expect((await within(gClosed, 5000, 'the guest on n2 is replaced')).info.close?.code).toBe(4001);
    await c.checkInvariants();
  });
});

describe('cluster: failed logins', () => {
  const cluster = useCluster({ nodes: 2 });

  it('are counted for the whole cluster: guesses spread over the nodes are throttled together, even the right password then', async () => {
    const c = cluster();
    const name = unique('Guessed');
    const owner = c.client(0, 'owner');
    await owner.connect();
    await owner.call('auth.register', { name, password: 'the real password' });
    const guessers = c.nodes.map((n, i) => c.client(i, `guesser@${n.id}`, { url: n.url, reconnect: false }));
    await Promise.all(guessers.map((g) => g.connect()));
    const codes: string[] = [];
    // 10 failures a minute per name: 5 through each node.
    for (let i = 0; i < 10; i++) codes.push(await errorCode(guessers[i % 2]!.call('auth.login', { name, password: `guess ${i}` })));
    expect(codes).toEqual(Array(10).fill('WRONG_CREDENTIALS'));
    for (const g of guessers) expect(await errorCode(g.call('auth.login', { name, password: 'the real password' }))).toBe('LOGIN_THROTTLED');
    // Other names are not affected.
    const other = unique('Other');
    await owner.call('session.ping', {});
    const fresh = c.client(1, 'fresh', { url: c.nodes[1]!.url });
    await fresh.connect();
    await fresh.call('auth.register', { name: other, password: 'another password' });
    expect(await errorCode(guessers[0]!.call('auth.login', { name: other, password: 'wrong' }))).toBe('WRONG_CREDENTIALS');
  });
});

describe('cluster: one login per account, policy refuse', () => {
  const cluster = useCluster({ nodes: 2, env: { FOYER_LOGIN_POLICY: 'refuse' } });

  it('a login on n2 of an account connected on n1 gets ALREADY_LOGGED_IN; n1 keeps it', async () => {
    const c = cluster();
    const name = unique('Ref');
    const x = c.client(0, 'X@n1');
    await x.connect();
    await x.call('auth.register', { name, password: 'correct horse battery' });
    await x.call('auth.refresh', {});
    const xStates: string[] = [];
    x.onState((s) => xStates.push(s));

    const y = c.client(1, 'Y@n2');
    await y.connect();
    expect(await errorCode(y.call('auth.login', { name, password: 'correct horse battery' }))).toBe('ALREADY_LOGGED_IN');
    expect(await errorCode(y.call('auth.token', { token: x.token! }))).toBe('ALREADY_LOGGED_IN');
    // x was not disturbed.
    await x.call('session.ping', {});
    expect(x.state).toBe('connected');
    expect(xStates).toEqual([]);

    const g = await c.guest(0, 'GuestRef');
    const h = c.client(1, 'H@n2');
    await h.connect();
    expect(await errorCode(h.call('auth.token', { token: g.token! }))).toBe('ALREADY_LOGGED_IN');
    await g.call('session.ping', {});
    expect(g.state).toBe('connected');
    await c.checkInvariants();
  });
});

describe("cluster: a login's reads", () => {
  const cluster = useCluster({ nodes: 2 });

  /** The node's round trips to Redis that read keys (foyer_bus_reads_total). */
  const readsOf = async (url: string) => Number(/^foyer_bus_reads_total (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())![1]);

  it("reads the user's game, party, invites and queue records in one round trip, after the session record", async () => {
    const c = cluster();
    const n2 = c.nodes[1]!;
    const before = await readsOf(n2.http);
    const g = c.client(1, 'Reader@n2');
    await g.connect();
    await g.call('auth.guest', { name: unique('Reader') });
    // Answered once the queue record is read, which went with the game, party and invites records.
    expect(await g.call('mm.current', {})).toEqual({ ticket: null });
    // The login's claim reads the session record (one GET); the four records of the user are one more read.
    expect((await readsOf(n2.http)) - before).toBe(2);
  });
});
