import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LobbyClient } from '@foyer/client-sdk';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../server/src/config.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { counts, logIn, newPage as openContext, open, reads, see, shot, text, useBrowser, userIdOf, WAIT } from './browser.js';

// The lobby page across node restarts, refused sessions, and in the words it uses.

const browser = useBrowser();
const newPage = (name: string) => openContext(browser(), name);
const DUEL = [{ name: 'duel', teams: 2, teamSize: 1 }];

/**
 * Every request the page sends over its WebSocket (with an id or
 * fire-and-forget) and every refusal it gets back, by op: what the page must
 * never do is send a request the server refuses as malformed (BAD_REQUEST).
 */
function watchFrames(page: Page): { sent: string[]; refused: { op: string; code: string }[] } {
  const seen = { sent: [] as string[], refused: [] as { op: string; code: string }[] };
  page.on('websocket', (ws) => {
    const ops = new Map<number, string>();
    ws.on('framesent', (f) => {
      const m = JSON.parse(String(f.payload)) as { id?: number; op?: string };
      if (m.op === undefined) return;
      if (m.id !== undefined) ops.set(m.id, m.op);
      seen.sent.push(m.op);
    });
    ws.on('framereceived', (f) => {
      const m = JSON.parse(String(f.payload)) as { re?: number | null; ok?: boolean; error?: { code: string; op?: string } };
      if (m.ok !== false) return;
      // A fire-and-forget request's refusal has `re: null` and names its op.
      const op = m.re === null || m.re === undefined ? (m.error?.op ?? '?') : (ops.get(m.re) ?? '?');
      seen.refused.push({ op, code: m.error!.code });
    });
  });
  return seen;
}

/** A page of its own browser, watched (watchFrames), logged in as a guest named `name`. */
async function loggedIn(url: string, name: string): Promise<{ page: Page; frames: ReturnType<typeof watchFrames>; userId: string }> {
  const page = await newPage(name);
  const frames = watchFrames(page);
  await open(page, url);
  await logIn(page, name);
  return { page, frames, userId: await userIdOf(page) };
}

/** Queues the page and `bot` for a duel, both accept: the page shows the ready match's card with its session key. */
async function readyMatch(page: Page, bot: LobbyClient): Promise<string> {
  const mm = page.getByTestId('matchmaking');
  await mm.getByLabel('Queue', { exact: true }).fill('duel');
  await mm.getByRole('button', { name: 'Find match' }).click();
  await reads(mm.getByTestId('mm-status'), 'Searching for a duel match');
  const off = bot.on('mm.status', (t) => {
    if (t.status === 'found') void bot.call('mm.accept', {}).catch(() => {});
  });
  try {
    await bot.call('mm.join', { queue: 'duel' });
    await mm.getByRole('button', { name: 'Accept' }).click();
    await reads(mm.getByTestId('mm-status'), 'Your duel match is ready');
  } finally {
    off();
  }
  await see(mm.getByTestId('mm-status').getByText('Session key'));
  return (await bot.call('game.current', {})).game!.id;
}

/** The ready match's card is gone, and the queue form is back. */
async function noReadyCard(page: Page): Promise<void> {
  const mm = page.getByTestId('matchmaking');
  await see(mm.getByRole('button', { name: 'Find match' }));
  expect(await text(mm)).not.toContain('match is ready');
  expect(await text(mm)).not.toContain('Session key');
}

/** Nodes the tests of a describe start (stopped after it), and a data folder of its own for them. */
function useNodes(): { nodes: TestNode[]; dataDir: () => string } {
  let dir: string | undefined;
  const nodes: TestNode[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'foyer-page-data-'));
  });
  afterAll(async () => {
    for (const t of nodes) await t.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { nodes, dataDir: () => dir! };
}

describe('the lobby page across a restart of its node', () => {
  const { nodes, dataDir } = useNodes();
  // No configured secret: the node keeps the one it generates in its data folder. On ws: within one
  // process, uWebSockets.js cannot listen again at once on a port whose closed connections linger in
  // TIME_WAIT (a new process can, as a real restart does).
  const settings = (): Partial<Config> => ({ webRoot: inject('webRoot'), transport: 'ws', tokenSecret: undefined, dataDir: dataDir(), mmTickMs: 50, queues: DUEL });


  it('stays logged in as the same user; the ready match, its key and the list subscription of before are gone cleanly', async () => {
    const t = await startTestNode(settings());
    nodes.push(t);
    const { page, frames, userId: nora } = await loggedIn(t.httpUrl + '/', 'Nora');
    const bot = await t.guest('Bot');

    // A ready match's card goes with its game's end.
    const first = await readyMatch(page, bot);
    expect((await t.admin('POST', `/admin/games/${first}/end`)).status).toBe(200);
    await noReadyCard(page);
    await counts(page.getByTestId('game-room'), 0);

    // And with a restart: the node comes back on the same port and data folder, so the same secret.
    await readyMatch(page, bot);
    await shot(page, 'session-0-match-ready');
    const port = t.node.port;
    await t.node.stop();
    await reads(page.getByTestId('conn-state'), 'Reconnecting');
    nodes.push(await startTestNode({ ...settings(), port }));
    // The stored token still logs in: a new session of the same user (its game died with the node).
    await reads(page.getByTestId('conn-state'), 'Resynced');
    expect(await userIdOf(page)).toBe(nora);
    await see(page.getByTestId('you').getByText('Nora', { exact: true }));
    await noReadyCard(page);
    await counts(page.getByTestId('start-card'), 0);
    await counts(page.getByTestId('game-room'), 0);
    // The page subscribed to the game list again, without unsubscribing what died with the old node.
    await expect.poll(() => frames.sent.filter((op) => op === 'games.subscribe').length, { timeout: WAIT }).toBeGreaterThanOrEqual(2);
    await reads(page.getByTestId('games'), 'No game matches');
    await shot(page, 'session-1-after-restart');

    // And with a new login.
    await readyMatch(page, bot);
    await page.getByTestId('you').getByRole('button', { name: 'Log out' }).click();
    await page.locator('[data-testid="conn"][data-state="connected"]').waitFor({ state: 'visible', timeout: WAIT });
    await logIn(page, 'Otto');
    await noReadyCard(page);

    expect(frames.refused).toEqual([]);
    await counts(page.getByTestId('toast-error'), 0);
    await page.context().close();
  });
});

describe('the lobby page across a restart of its node in a cluster', () => {
  const { nodes, dataDir } = useNodes();

  it('comes back logged in as the same user, in its game, which the other node kept', async () => {
    // Two nodes sharing one lobby through Redis and one data folder (so one generated token secret);
    // a dead node is noticed within 1.5 s, and a session outlives its connection long enough.
    const settings: Partial<Config> = {
      webRoot: inject('webRoot'),
      transport: 'ws',
      tokenSecret: undefined,
      dataDir: dataDir(),
      redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      redisPrefix: `page-${randomUUID().slice(0, 8)}`,
      nodeHeartbeatMs: 250,
      nodeTimeoutMs: 1500,
      reconnectGraceMs: 20_000,
    };
    const a = await startTestNode(settings);
    nodes.push(a);
    const b = await startTestNode(settings);
    nodes.push(b);
    const { page, frames, userId: nora } = await loggedIn(a.httpUrl + '/', 'Nora');
    await page.getByRole('button', { name: '+ New game' }).click();
    const form = page.getByTestId('create-game');
    await form.getByLabel('Name', { exact: true }).fill('Nora’s den');
    await form.getByRole('button', { name: 'Create game' }).click();
    await reads(page.getByTestId('game-room'), 'Nora’s den');
    // A player on the other node: that node keeps a copy of the game, and takes it over when its owner dies.
    const bob = await b.guest('Bob');
    const gameId = (await page.getByTestId('game-id').textContent())!.trim();
    await bob.call('game.join', { gameId });
    await see(page.getByTestId('player').filter({ hasText: 'Bob' }));

    const port = a.node.port;
    await a.node.stop();
    await reads(page.getByTestId('conn-state'), 'Reconnecting');
    nodes.push(await startTestNode({ ...settings, port }));
    // Back on a node that numbers its streams afresh: every stream resyncs. Whether the session itself went on
    // (adopted by the other node) or is a new one, the page shows its game again.
    await expect.poll(() => text(page.getByTestId('conn-state')), { timeout: WAIT }).toMatch(/^(Resumed|Resynced)$/);
    expect(await userIdOf(page)).toBe(nora);
    const room = page.getByTestId('game-room');
    await reads(room, 'Nora’s den');
    await see(room.getByTestId('player').filter({ hasText: 'Bob' }));
    await see(room.getByTestId('player').filter({ hasText: 'Nora' }));
    // The game takes the page's commands again: chat reaches the player on the other node.
    const heard = new Promise<string>((resolve) => bob.on('chat.message', (m) => resolve(m.text)));
    await page.getByLabel('Message the game…').fill('back again');
    await page.getByLabel('Message the game…').press('Enter');
    expect(await heard).toBe('back again');
    await shot(page, 'session-5-back-in-game');

    expect(frames.refused).toEqual([]);
    await counts(page.getByTestId('toast-error'), 0);
    await page.context().close();
  });
});

describe('the lobby page when its stored session is refused', () => {
  const { nodes } = useNodes();

  it('goes back to its login screen with a plain sentence: after a restart with another secret, and once the account is banned', async () => {
    // On ws: the node comes back on the same port at once (see above).
    const settings: Partial<Config> = { webRoot: inject('webRoot'), transport: 'ws' };
    const t = await startTestNode(settings);
    nodes.push(t);
    const zed = await t.guest('Zed');
    await zed.call('game.create', { name: 'Zed’s table', gameType: 'chess', maxPlayers: 2 });
    const { page, frames, userId: olga } = await loggedIn(t.httpUrl + '/', 'Olga');
    await counts(page.getByTestId('game-row'), 1);

    // The node restarts with another token secret: the page's token means nothing to it any more.
    const port = t.node.port;
    await t.node.stop();
    nodes.push(await startTestNode({ ...settings, port, tokenSecret: 'another-token-secret-0123456789abcdef0123' }));
    const note = page.getByTestId('signed-out');
    await reads(note, 'The lobby no longer knows your login');
    await see(page.getByLabel('Your name'));
    await reads(page.getByTestId('conn-state'), 'Connected');
    // Nothing of before is left on show, and no error code is shown as such.
    await counts(page.getByTestId('game-row'), 0);
    await counts(page.getByTestId('toast-error'), 0);
    await counts(page.locator('.banner'), 0);
    expect(await text(page.locator('body'))).not.toContain('TOKEN_INVALID');
    await shot(page, 'session-2-token-refused');

    // The browser remembers its guest: the same player again, and the note has done its job.
    await page.getByRole('button', { name: 'Continue as Olga' }).click();
    await see(page.getByTestId('you').getByText('Olga', { exact: true }));
    expect(await userIdOf(page)).toBe(olga);
    await counts(note, 0);

    // An operator bans the account: the page is disconnected (4009); reconnecting is refused.
    const t2 = nodes[1]!;
    expect((await t2.admin('POST', `/admin/users/${olga}/ban`, { durationMs: 3_600_000, reason: 'cheating' })).status).toBe(200);
    await reads(page.locator('.banner'), 'banned: cheating');
    await page.locator('.banner').getByRole('button', { name: 'Reconnect' }).click();
    await reads(note, 'This account is banned');
    await reads(note, 'The reason given: cheating');
    await see(page.getByLabel('Your name'));
    await counts(page.getByTestId('toast-error'), 0);
    expect(await text(page.locator('body'))).not.toContain('BANNED');
    await shot(page, 'session-3-banned');

    expect(frames.refused.filter((r) => r.code === 'BAD_REQUEST')).toEqual([]);
    await page.context().close();
  });
});

describe('the lobby page in words', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ webRoot: inject('webRoot') });
  });
  afterAll(() => t?.stop());

  it('says whose count is in the header, shows a rating only once there is one, and drops an error once the action worked', async () => {
    const { page, userId: pia } = await loggedIn(t.httpUrl + '/', 'Pia');

    // The header's count is of friends online, in its visible text.
    await reads(page.getByTestId('head-friends'), '0 friends online');
    const friend = await t.guest('Finn');
    await friend.call('friends.request', { userId: pia });
    await page.getByTestId('friends').getByRole('button', { name: 'Accept' }).click();
    await reads(page.getByTestId('head-friends'), '1 friend online');

    // A new player has no rating yet; once rated, its OpenSkill ordinal (mu − 3 sigma) shows.
    const rating = page.getByTestId('you').getByTestId('rating');
    await reads(rating, 'unrated');
    expect(await text(page.getByTestId('you'))).not.toContain('0.0');
    const set = await t.admin('POST', '/admin/commands', { kind: 'setRating', userId: pia, args: { mu: 30, sigma: 4 }, mode: 'immediate' });
    expect(set.status).toBe(200);
    await page.reload();
    await reads(page.getByTestId('conn-state'), 'Resumed');
    await reads(rating, 'rating 18.0');

    // A wrong password's error goes once the join with the right one worked.
    await friend.call('game.create', { name: 'Locked room', gameType: 'chess', maxPlayers: 4, password: 'sesame' });
    const row = page.getByTestId('game-row').filter({ hasText: 'Locked room' });
    await row.getByRole('button', { name: 'Join' }).click();
    const password = row.getByLabel('Password', { exact: true });
    await password.fill('guess');
    await password.press('Enter');
    await reads(page.getByTestId('toast-error'), 'WRONG_PASSWORD');
    await password.fill('sesame');
    await password.press('Enter');
    await reads(page.getByTestId('game-room'), 'Locked room');
    // At once, not when the toast's own time (15 s) is up.
    await expect.poll(() => page.getByTestId('toast-error').count(), { timeout: 2000 }).toBe(0);
    await shot(page, 'session-4-words');
    await page.context().close();
  });
});
