import type { LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { errorCode, privateRedis, nextState, useCluster, within, type TestCluster } from '../helpers/cluster.js';

/*
 * One session per account, whatever the timing: two logins of one account on
 * two nodes at the same instant leave exactly one live session, under either
 * policy, also after Redis restarts empty and around a Redis outage. A Redis
 * of this file's own (a redis-server, or in the cluster-rc project a Redis
 * Cluster of 3 masters), so that restarting it touches no other test.
 */

const ROUNDS = 100;
/** The file's Redis, started once for both clusters (each under its own prefix). */
const outage = privateRedis();

type Outcome = { client: LobbyClient; result: 'ok' | string; closed: Promise<number | undefined> };

/** Where each node says the user's session is: its own when it holds one, else the record in Redis (admin user view). */
async function sessionNodes(c: TestCluster, userId: string): Promise<(string | null)[]> {
  return Promise.all(
    c.nodes.map(async (n) => {
      const { status, body } = await n.admin('GET', `/admin/users/${encodeURIComponent(userId)}`);
      expect(status).toBe(200);
      return (body as { node: string | null }).node;
    }),
  );
}

const closeCode = (client: LobbyClient) => nextState(client, 'closed').then(({ info }) => info.close?.code);

/** Two fresh connections, one per node, log in with the same token at the same instant. */
async function doubleLogin(c: TestCluster, token: string, round: number): Promise<Outcome[]> {
  const clients = c.nodes.map((n, i) => c.client(i, `r${round}@${n.id}`, { url: n.url, reconnect: false }));
  await Promise.all(clients.map((x) => x.connect()));
  return Promise.all(
    clients.map(async (client) => {
      const closed = closeCode(client);
      const result = await client.call('auth.token', { token }).then(
        () => 'ok',
        (err: { code?: string }) => err.code ?? String(err),
      );
      return { client, result, closed };
    }),
  );
}

/**
 * Exactly one live session: one login won (the other was refused, or its
 * connection closed with 4001: it was let go before the winner's record was
 * written, so before the winner's reply), the winner's requests work, and
 * every node names the winner's node as the holder.
 */
async function exactlyOne(c: TestCluster, userId: string, outcomes: Outcome[], policy: 'replace' | 'refuse'): Promise<LobbyClient> {
  const ok = outcomes.filter((o) => o.result === 'ok');
  const failed = outcomes.filter((o) => o.result !== 'ok');
  if (policy === 'refuse') {
    expect(ok).toHaveLength(1);
    expect(failed.map((o) => o.result)).toEqual(['ALREADY_LOGGED_IN']);
  } else {
    // Both won in turn: the first one's connection is closed with 4001 (before or after its reply arrived).
    expect(failed.map((o) => o.result).filter((r) => r !== 'DISCONNECTED')).toEqual([]);
    for (const o of failed) expect(await within(o.closed, 5000, 'the replaced connection is closed')).toBe(4001);
    if (ok.length === 2) expect(await within(Promise.race(ok.map((o) => o.closed)), 5000, 'one of the two connections is replaced')).toBe(4001);
    expect(ok.length).toBeGreaterThan(0);
  }
  const live = ok.filter((o) => o.client.state === 'connected');
  expect(live, 'logged-in connections still open').toHaveLength(1);
  const winner = live[0]!.client;
  await winner.call('session.ping', {});
  // A refused connection stays open, without a session.
  for (const o of failed) if (o.result === 'ALREADY_LOGGED_IN') expect(await errorCode(o.client.call('session.ping', {}))).toBe('UNAUTHENTICATED');
  const winnerNode = c.nodes.find((n) => n.url === winner.url)!.id;
  expect(await sessionNodes(c, userId)).toEqual(c.nodes.map(() => winnerNode));
  return winner;
}

/** `count` double logins of one account; under replace the last winner stays, and the next round replaces it. */
async function rounds(c: TestCluster, policy: 'replace' | 'refuse', token: string, userId: string, count: number, holder?: LobbyClient): Promise<LobbyClient | undefined> {
  for (let round = 0; round < count; round++) {
    const replaced = holder && closeCode(holder);
    const outcomes = await doubleLogin(c, token, round);
    const winner = await exactlyOne(c, userId, outcomes, policy).catch((err: Error) => {
      throw new Error(`round ${round}: ${err.message}; outcomes ${outcomes.map((o) => `${o.client.url} ${o.result}`).join(", ")}`);
    });
    if (replaced) expect(await within(replaced, 5000, 'the previous round\'s session is replaced')).toBe(4001);
    for (const o of outcomes) if (o.client !== winner && o.client.state === 'connected') await o.client.close();
    if (policy === 'refuse') await winner.logout();
    else holder = winner;
  }
  return holder;
}

for (const policy of ['replace', 'refuse'] as const) {
  describe(`cluster: double logins, policy ${policy}`, () => {
    const cluster = useCluster(async () => ({ nodes: 2, env: { FOYER_LOGIN_POLICY: policy }, ...(await outage.config()) }));

    it(`${ROUNDS} simultaneous double logins on two nodes leave exactly one live session every time; the same after Redis restarts empty`, async () => {
      const c = cluster();
      const owner = await c.guest(0, `Double-${policy}`);
      await owner.call('auth.refresh', {});
      const token = owner.token!;
      const userId = owner.userId!;
      await owner.logout();

      let holder = await rounds(c, policy, token, userId, ROUNDS);
      expect(holder === undefined).toBe(policy === 'refuse');

      // Redis restarts empty: every node writes its records again before it is ready, so the session is still the only one.
      await outage.stop();
      await Promise.all(c.nodes.map((n) => n.waitNotReady(15_000)));
      await outage.restart();
      await Promise.all(c.nodes.map((n) => n.waitReady(20_000)));
      const x = c.client(0, 'after-restart@n1', { url: c.nodes[0]!.url, reconnect: false });
      const y = c.client(1, 'after-restart@n2', { url: c.nodes[1]!.url, reconnect: false });
      await x.connect();
      await x.call('auth.token', { token });
      await y.connect();
      if (policy === 'refuse') {
        // Logged in on n1 before n2 tries: the record (re-asserted or new) refuses n2.
        expect(await errorCode(y.call('auth.token', { token }))).toBe('ALREADY_LOGGED_IN');
        await x.logout();
        await y.close();
      } else {
        const xClosed = nextState(x, 'closed');
        await y.call('auth.token', { token });
        expect((await within(xClosed, 5000, 'the n1 session is replaced')).info.close?.code).toBe(4001);
        holder = y;
      }
      await rounds(c, policy, token, userId, ROUNDS, holder);
      await c.checkInvariants();
    });

    it('around a Redis outage: a login elsewhere is refused (refuse) or wins when Redis is back (replace); exactly one session after', async () => {
      const c = cluster();
      const before = await c.guest(0, `Outage-${policy}`);
      await before.call('auth.refresh', {});
      const token = before.token!;
      const userId = before.userId!;

      await outage.stop();
      await Promise.all(c.nodes.map((n) => n.waitNotReady(15_000)));
      const elsewhere = c.client(1, 'outage@n2', { url: c.nodes[1]!.url, reconnect: false });
      await elsewhere.connect();
      if (policy === 'refuse') {
        // Nobody can tell whether n1 holds the account: the login is refused, and n1's session goes on.
        expect(await errorCode(elsewhere.call('auth.token', { token }))).toBe('NODE_UNAVAILABLE');
        await before.call('session.ping', {});
      } else {
        // Checked only on n2: both live until Redis is back, then the newer (n2's) wins.
        await elsewhere.call('auth.token', { token });
      }
      const beforeClosed = nextState(before, 'closed', 'reconnecting');
      await outage.restart();
      await Promise.all(c.nodes.map((n) => n.waitReady(20_000)));
      let holder: LobbyClient;
      if (policy === 'replace') {
        expect((await within(beforeClosed, 10_000, 'the older session is replaced at Redis\'s return')).info.close?.code).toBe(4001);
        await elsewhere.call('session.ping', {});
        holder = elsewhere;
      } else {
        await before.call('session.ping', {});
        expect(before.state).toBe('connected');
        holder = before;
      }
      const holderNode = c.nodes.find((n) => n.url === holder.url)!.id;
      expect(await sessionNodes(c, userId)).toEqual(c.nodes.map(() => holderNode));

      if (policy === 'refuse') await holder.logout();
      await rounds(c, policy, token, userId, ROUNDS, policy === 'replace' ? holder : undefined);
      await c.checkInvariants();
    });
  });
}
