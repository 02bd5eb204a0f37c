import { CloseCode } from '@foyer/shared';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_TOKEN as CLUSTER_TOKEN, nextState, startCluster, within, type TestCluster } from '../helpers/cluster.js';
import { closedWith, until } from '../helpers/events.js';
import { ADMIN_TOKEN, startTestNode, type TestNode } from '../helpers/node.js';
import { counts, newPage as openContext, reads, see, shot, useBrowser, WAIT } from './browser.js';

/** The operator console (/console) in Chromium, against SDK players: what an operator sees and does. */

const browser = useBrowser();
const unique = (base: string) => `${base}${Math.random().toString(36).slice(2, 7)}`;


/** Opens the console and logs in with `token` unless this tab already did; waits for the views. */
async function logIn(page: Page, httpUrl: string, token: string): Promise<void> {
  await page.goto(`${httpUrl}/console`);
  await see(page.getByTestId('login').or(page.getByTestId('cluster')));
  if (await page.getByTestId('login').isVisible()) {
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
  }
  await see(page.getByTestId('cluster'));
}

const tab = (page: Page, name: string) => page.getByRole('button', { name, exact: true }).click();

/** Players tab: search by `q`, open the first match. */
async function openPlayer(page: Page, q: string, name: string): Promise<void> {
  await tab(page, 'Players');
  await page.getByLabel('Id or name').fill(q);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByTestId('player-row').getByText(name, { exact: true }).click();
  await reads(page.getByTestId('player').locator('h2'), name);
}

describe('the operator console on one node', () => {
  let t: TestNode;
  let page: Page;

  beforeAll(async () => {
    [t, page] = await Promise.all([
      startTestNode({
        webRoot: inject('webRoot'),
        mmTickMs: 50,
        reconnectGraceMs: 200,
        queues: [{ name: 'duel', teams: 2, teamSize: 1, acceptTimeoutMs: 30_000, rating: { initialWindow: 5000, growthPerSec: 0, maxWindow: 5000 } }],
      }),
      openContext(browser(), 'console'),
    ]);
  });
  afterAll(() => t?.stop());

  it('shows nothing but its login form without the token, and every API it calls refuses', async () => {
    const secretName = unique('Hidden');
    const p = await t.guest(secretName);
    await page.goto(`${t.httpUrl}/console`);
    await see(page.getByTestId('login'));
    await page.getByLabel('Admin token').fill('wrong-token-0123456789');
    await page.getByRole('button', { name: 'Log in' }).click();
    await reads(page.getByTestId('login-error'), 'refused');
    expect(await page.getByRole('button', { name: 'Cluster', exact: true }).count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(secretName);
    await shot(page, 'console-0-login');

    // Every path the console calls, without a token and with a wrong one.
    const user = encodeURIComponent(p.userId ?? '');
    const calls: [string, string][] = [
      ['GET', '/admin/cluster'],
      ['POST', '/admin/nodes/x/drain'],
      ['GET', '/admin/games?q=a'],
      ['GET', '/admin/games/x'],
      ['POST', '/admin/games/x/end'],
      ['GET', '/admin/queues'],
      ['GET', `/admin/users?q=${secretName}`],
      ['GET', `/admin/users/${user}`],
      ['GET', `/admin/users/${user}/commands`],
      ['POST', '/admin/commands'],
      ['GET', '/admin/audit?limit=200'],
      ['GET', '/admin/metrics/summary'],
      ['GET', `/admin/watch?path=${encodeURIComponent('/admin/cluster')}`],
    ];
    const statuses = await page.evaluate(
      async ([list, secret]) =>
        Promise.all(
          list.flatMap(([method, path]) =>
            [{}, { authorization: 'Bearer wrong-token-0123456789' }].map(async (headers) => {
              const res = await fetch(path!, { method, headers, body: method === 'POST' ? '{}' : undefined });
              return `${method} ${path} ${res.status}${(await res.text()).includes(secret) ? ' LEAK' : ''}`;
            }),
          ),
        ),
      [calls, secretName] as const,
    );
    expect(statuses).toHaveLength(calls.length * 2);
    for (const s of statuses) expect(s).toMatch(/ 401$/);
    await p.close();
  });

  it("finds an SDK player, follows their game and party live, and kicks them (close code 4009)", async () => {
    const aliceName = unique('Alice');
    const bobName = unique('Bob');
    const [alice, bob] = await Promise.all([t.guest(aliceName), t.guest(bobName)]);
    const aliceId = alice.userId!;
    expect(aliceId).toBeTruthy();
    await logIn(page, t.httpUrl, ADMIN_TOKEN);
    await shot(page, 'console-1-cluster');
    await reads(page.getByTestId('node-row'), t.node.nodeId);

    await openPlayer(page, aliceName.slice(0, -1), aliceName);
    await reads(page.getByTestId('player-session'), `connected on ${t.node.nodeId}`);
    await reads(page.getByTestId('player-game'), 'none');
    await reads(page.getByTestId('player-party'), 'none');
    await reads(page.getByTestId('player-profile'), '1 / 25.0 ± 8.3 / player');

    // Changes made through the SDK show up without a reload.
    await alice.call('game.create', { name: 'Console Arena', gameType: 'CTF' });
    await reads(page.getByTestId('player-game'), 'Console Arena (CTF, open)');
    const party = await alice.call('party.invite', { userId: bob.userId! });
    await bob.call('party.accept', { partyId: party.party.id });
    await reads(page.getByTestId('player-party'), bobName);
    await shot(page, 'console-2-player');

    // The game view finds the game by player and shows it in full.
    await tab(page, 'Games');
    await page.getByLabel('Player (id or name)').fill(aliceName);
    await counts(page.getByTestId('game-row'), 1);
    await page.getByTestId('game-row').click();
    await reads(page.getByTestId('game-detail'), 'Console Arena');
    await reads(page.getByTestId('game-player'), aliceName);
    await reads(page.getByTestId('game-state'), 'open');

    await openPlayer(page, aliceId, aliceName);
    const closed = closedWith(alice);
    await page.getByTestId('actions').getByLabel('Reason').fill('console test');
    await page.getByRole('button', { name: 'Kick', exact: true }).click();
    expect(await closed).toBe(CloseCode.KICKED);
    await reads(page.getByTestId('player-session'), 'offline');
    await reads(page.getByTestId('player-game'), 'none');
    await bob.close();
  });

  it('bans and unbans a player', async () => {
    const name = unique('Banme');
    const c = t.client();
    await c.connect();
    const login = await c.call('auth.guest', { name });
    await logIn(page, t.httpUrl, ADMIN_TOKEN);
    await openPlayer(page, name, name);
    const closed = closedWith(c);
    await page.getByTestId('actions').getByLabel('Reason').fill('cheating');
    await page.getByRole('button', { name: 'Ban', exact: true }).click();
    expect(await closed).toBe(CloseCode.KICKED);
    await reads(page.getByTestId('player-ban'), 'banned until');
    await reads(page.getByTestId('player-ban'), 'cheating');
    const refused = t.client();
    await refused.connect();
    await expect(refused.call('auth.guest', { name, deviceSecret: login.deviceSecret! })).rejects.toMatchObject({ code: 'BANNED' });

    await page.getByRole('button', { name: 'Unban', exact: true }).click();
    await reads(page.getByTestId('player-ban'), 'not banned');
    const back = t.client();
    await back.connect();
    expect((await back.call('auth.guest', { name, deviceSecret: login.deviceSecret! })).userId).toBe(login.userId);
    await reads(page.getByTestId('player-session'), 'connected');
    await Promise.all([refused.close(), back.close()]);
  });

  it('queues a deferred command for an offline player and sees it run at their next login', async () => {
    const name = unique('Later');
    const c = t.client();
    await c.connect();
    const login = await c.call('auth.guest', { name });
    await c.close();
    await until(() => !t.node.gateway.sessions.has(login.userId));

    await logIn(page, t.httpUrl, ADMIN_TOKEN);
    await openPlayer(page, name, name);
    await reads(page.getByTestId('player-session'), 'offline');
    await page.getByLabel('At their next login (deferred)').check();
    await page.getByLabel('Role').selectOption('moderator');
    await page.getByRole('button', { name: 'Set role' }).click();
    await reads(page.getByTestId('deferred-row'), 'setRole');
    await reads(page.getByTestId('deferred-state'), 'queued');
    await reads(page.getByTestId('player-profile'), '/ player');
    await shot(page, 'console-3-deferred');

    const back = t.client();
    await back.connect();
    await back.call('auth.guest', { name, deviceSecret: login.deviceSecret! });
    await reads(page.getByTestId('deferred-state'), 'ran');
    await reads(page.getByTestId('player-profile'), '/ moderator');
    await back.close();

    await tab(page, 'Audit');
    await page.getByLabel('Player id').fill(login.userId);
    await reads(page.getByTestId('audit-row'), 'setRole');
    await reads(page.getByTestId('audit-row').first(), 'ran');
  });

  it('shows a match forming in the queue view', async () => {
    await logIn(page, t.httpUrl, ADMIN_TOKEN);
    await tab(page, 'Queues');
    const duel = page.locator('[data-testid="queue"][data-queue="duel"]');
    await reads(duel.getByTestId('queue-tickets'), '0');
    const matchesBefore = Number(await duel.getByTestId('queue-matches').textContent());

    const [a, b] = await Promise.all([t.guest(unique('Qa')), t.guest(unique('Qb'))]);
    await a.call('mm.join', { queue: 'duel' });
    await reads(duel.getByTestId('ticket'), 'queued');
    await reads(duel.getByTestId('queue-tickets'), '1');
    await b.call('mm.join', { queue: 'duel' });
    await reads(duel.getByTestId('queue-accepting'), '1');
    await reads(duel.getByTestId('ticket'), 'found');
    await shot(page, 'console-4-queue');
    await Promise.all([a.call('mm.accept', {}), b.call('mm.accept', {})]);
    await reads(duel.getByTestId('queue-matches'), String(matchesBefore + 1));
    await reads(duel.getByTestId('queue-tickets'), '0');
    await Promise.all([a.close(), b.close()]);

    await tab(page, 'Metrics');
    await reads(page.getByTestId('metrics'), 'mm.join');
  });
});

describe('the operator console on a two-node cluster', () => {
  let cluster: TestCluster;
  let page: Page;

  beforeAll(async () => {
    [cluster, page] = await Promise.all([startCluster({ nodes: 2, env: { FOYER_WEB_ROOT: inject('webRoot') } }), openContext(browser(), 'console-cluster')]);
  }, 90_000);
  afterAll(() => cluster?.stop(), 30_000);

  it('lists both nodes and drains one from the console', async () => {
    const [first, second] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
    const moved = await cluster.guest(1, unique('Mover'));
    await logIn(page, first.http, CLUSTER_TOKEN);
    const rows = page.getByTestId('node-row');
    await counts(rows, 2);
    const row = page.locator(`[data-testid="node-row"][data-node="${second.id}"]`);
    await reads(row.getByTestId('node-ready'), 'ready');
    await reads(row.getByTestId('node-sessions'), '1');
    // The player's session is on the other node: the node asked finds it there.
    const seen = (await first.admin('GET', `/admin/users/${encodeURIComponent(moved.userId!)}`)).body as { session: { node: string; connected: boolean; since: number } };
    expect(seen.session).toMatchObject({ node: second.id, connected: true });
    expect(seen.session.since).toBeGreaterThan(0);
    await shot(page, 'console-5-cluster');

    const back = nextState(moved, 'resumed', 'resynced');
    await row.getByRole('button', { name: 'Drain' }).click();
    await row.getByRole('button', { name: 'Confirm drain' }).click();
    expect((await within(second.exited, 45_000, 'the drained node exits')).code).toBe(0);
    await counts(rows, 1);
    await reads(rows, first.id);
    // The drained node's player moved to the other node.
    await within(back, WAIT, 'the player resumes on the other node');
    expect((await first.admin('GET', `/admin/users/${encodeURIComponent(moved.userId!)}`)).body).toMatchObject({ node: first.id, connected: true });
  }, 60_000);
});
