import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy } from '../helpers/proxy.js';
import { logIn, newPage as openContext, open, reads, see, shot, useBrowser, WAIT } from './browser.js';

const browser = useBrowser();
const newPage = (name: string, viewport?: { width: number; height: number }) => openContext(browser(), name, viewport);

describe('the lobby page, two people in two browsers', () => {
  let t: TestNode;
  let a: Page;
  let b: Page;

  beforeAll(async () => {
    [t, a, b] = await Promise.all([
      startTestNode({
        webRoot: inject('webRoot'),
        mmTickMs: 50,
        // A small chat bucket: a quick burst of lines gets one refused (chat lines are fire-and-forget; the refusal comes on its own).
        chatBurst: 3,
        chatPerSec: 2,
        // One team of two: a party of two fills a match on its own.
        queues: [
          { name: 'duel', teams: 2, teamSize: 1 },
          { name: 'duo', teams: 1, teamSize: 2, acceptTimeoutMs: 30_000 },
        ],
      }),
      newPage('A'),
      newPage('B'),
    ]);
  });
  afterAll(() => t?.stop());

  it('logs in, creates a game that another player sees appear live, joins it and chats', async () => {
    await Promise.all([open(a, t.httpUrl + '/'), open(b, t.httpUrl + '/')]);
    await shot(a, '0-login');
    await Promise.all([logIn(a, 'Alice'), logIn(b, 'Bob')]);
    await see(b.getByText('No game matches'));

    // A server error is shown in words, with its code.
    const byId = b.getByTestId('join-by-id');
    await byId.getByLabel('Game id').fill('no-such-game');
    await byId.getByRole('button', { name: 'Join', exact: true }).click();
    await reads(b.getByTestId('toast-error'), 'GAME_NOT_FOUND');

    await a.getByRole('button', { name: '+ New game' }).click();
    const form = a.getByTestId('create-game');
    await form.getByLabel('Name', { exact: true }).fill('Arena of Alice');
    await form.getByLabel('Max players').fill('4');
    await form.getByRole('button', { name: 'Create game' }).click();
    await reads(a.getByTestId('game-room'), 'Arena of Alice');

    // B's list is a live subscription: the game appears without a reload.
    const row = b.getByTestId('game-row').filter({ hasText: 'Arena of Alice' });
    await see(row);
    await reads(row, '1/4');
    await row.getByRole('button', { name: 'Join' }).click();
    await reads(b.getByTestId('game-room'), 'Alice');
    await reads(a.getByTestId('game-room'), 'Bob');
    await reads(row, '2/4');

    await a.getByLabel('Message the game…').fill('Hello Bob, welcome!');
    await a.getByLabel('Message the game…').press('Enter');
    await reads(b.getByTestId('game-chat'), 'Hello Bob, welcome!');
    await b.getByLabel('Message the game…').fill('Hi Alice o/');
    await b.getByRole('button', { name: 'Send' }).first().click();
    await reads(a.getByTestId('game-chat'), 'Hi Alice o/');
    // Lines go out without waiting for an answer; one the server refuses (too fast) comes back as a toast in words.
    const input = b.getByLabel('Message the game…');
    for (let i = 1; i <= 6; i++) {
      await input.fill(`line ${i}`);
      await input.press('Enter');
      await expect.poll(() => input.inputValue(), { timeout: WAIT }).toBe('');
    }
    await reads(b.getByTestId('toast-error'), 'CHAT_TOO_FAST');
    await reads(b.getByTestId('toast-error'), 'Send a chat line');
    await reads(a.getByTestId('game-chat'), 'line 1');

    await b.getByTestId('ready-toggle').click();
    await reads(a.getByTestId('player').filter({ hasText: 'Bob' }), 'ready');
    await shot(a, '1-game-owner');

    // The owner hands the game over; the new owner starts it and everyone gets a key to confirm.
    await a.getByTestId('player').filter({ hasText: 'Bob' }).getByRole('button', { name: 'Make owner' }).click();
    const start = b.getByTestId('game-room').getByRole('button', { name: 'Start game' });
    await see(start);
    await start.click();
    for (const page of [a, b]) {
      await see(page.getByTestId('start-card').getByTestId('session-key'));
      await reads(page.getByTestId('confirm-countdown'), 'confirm within');
    }
    await shot(a, '1-game-started');
    await a.getByTestId('start-card').getByRole('button', { name: 'Confirm' }).click();
    await reads(b.getByTestId('player').filter({ hasText: 'Alice' }), 'confirmed');
  });

  it('forms a party by user id, queues it and accepts the match', async () => {
    const bobId = (await b.getByTestId('my-user-id').innerText()).trim();
    expect(bobId).toBeTruthy();
    await a.getByLabel('User id to invite').fill(bobId);
    await a.getByRole('button', { name: 'Invite' }).click();

    const invite = b.getByTestId('invite');
    await reads(invite, 'Alice invites you');
    await reads(invite.getByTestId('invite-countdown'), 'expires in');
    await shot(b, '2-invite');
    await invite.getByRole('button', { name: 'Accept' }).click();
    await see(a.getByTestId('party-member').filter({ hasText: 'Bob' }));
    await see(b.getByTestId('party-member').filter({ hasText: 'Alice' }));

    await b.getByLabel('Your character').fill('Mage');
    await b.getByRole('button', { name: 'Set character' }).click();
    await reads(a.getByTestId('party-member').filter({ hasText: 'Bob' }), 'character: Mage');

    await b.getByLabel('Message the party…').fill('Ready to queue?');
    await b.getByLabel('Message the party…').press('Enter');
    await reads(a.getByTestId('party-chat'), 'Ready to queue?');

    const mmA = a.getByTestId('matchmaking');
    const mmB = b.getByTestId('matchmaking');
    await reads(mmB, 'Your party leader queues the party');
    await mmA.getByLabel('Queue', { exact: true }).fill('duo');
    await mmA.getByRole('button', { name: 'Queue party' }).click();
    await reads(mmA, 'Match found!');
    await reads(mmB, 'Match found!');
    await reads(mmB.getByTestId('mm-countdown'), 'accept within');
    await shot(b, '3-match-found');
    await mmA.getByRole('button', { name: 'Accept' }).click();
    await mmB.getByRole('button', { name: 'Accept' }).click();
    await reads(mmA, 'match is ready');
    await reads(mmB, 'match is ready');

    // Both are seated in the match's game, started, with a session key to confirm.
    for (const page of [a, b]) {
      await reads(page.getByTestId('game-room'), 'duo match');
      await see(page.getByTestId('start-card').getByTestId('session-key'));
    }
    await shot(a, '4-match-ready');
  });

  it('resumes its place after a reload', async () => {
    await b.reload();
    await reads(b.getByTestId('conn-state'), 'Resumed');
    await reads(b.getByTestId('party'), 'Alice');
    await reads(b.getByTestId('game-room'), 'duo match');
    await see(b.getByTestId('session-key'));
    // The key survived the reload, so the game can still be confirmed.
    await b.getByTestId('start-card').getByRole('button', { name: 'Confirm' }).click();
    await reads(b.getByTestId('start-card'), 'You are in');
    await reads(a.getByTestId('player').filter({ hasText: 'Bob' }), 'confirmed');
    await shot(b, '5-after-reload');
  });
});

describe('the lobby page on a flaky network', () => {
  // Two browsers through a flaky proxy, with drops and reconnects: about 30 s alone, longer on a loaded machine.
  it('filters the live list, watches a game, queues alone, and shows reconnects that replay or resync streams', async () => {
    // A tiny history per stream: a longer outage overflows it, so those streams resync (a snapshot) while the session goes on.
    const t = await startTestNode({ webRoot: inject('webRoot'), streamHistoryEvents: 5 });
    const proxy = await startProxy(t.node.port);
    const page = await newPage('Mia', { width: 1280, height: 820 });
    try {
      const [zed, yara, xavi] = await Promise.all(['Zed', 'Yara', 'Xavi'].map((n) => t.guest(n)));
      await zed!.call('game.create', { name: 'Friday night frag', gameType: 'deathmatch', maxPlayers: 8, password: 'secret' });
      await yara!.call('game.create', { name: 'Flag wars', gameType: 'capture-the-flag', maxPlayers: 10, teamSize: 5 });
      await xavi!.call('game.create', { name: 'Chess club', gameType: 'chess', maxPlayers: 2, startMode: 'auto' });
      await open(page, `http://127.0.0.1:${proxy.port}/`);
      await logIn(page, 'Mia');
      const rows = page.getByTestId('game-row');
      await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(3);

      // Filters narrow the live list on the server side.
      await page.getByLabel('Game type', { exact: true }).fill('chess');
      await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(1);
      await page.getByLabel('Game type', { exact: true }).fill('');
      await page.getByText('No password').click();
      await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(2);
      await page.getByText('No password').click();
      await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(3);

      // A wrong password is refused in words.
      const locked = rows.filter({ hasText: 'Friday night frag' });
      await locked.getByRole('button', { name: 'Join' }).click();
      await locked.getByLabel('Password', { exact: true }).fill('guess');
      await locked.getByLabel('Password', { exact: true }).press('Enter');
      await reads(page.getByTestId('toast-error'), 'WRONG_PASSWORD');

      await rows.filter({ hasText: 'Chess club' }).getByRole('button', { name: 'Watch' }).click();
      await reads(page.getByTestId('game-room'), 'you are watching');
      const mia = (await page.getByTestId('my-user-id').textContent())!.trim();
      await zed!.call('party.invite', { userId: mia });
      await reads(page.getByTestId('invite'), 'Zed invites you');
      await page.getByLabel('Queue', { exact: true }).fill('duel');
      await page.getByRole('button', { name: 'Find match' }).click();
      await reads(page.getByTestId('mm-status'), 'Searching for a duel match');
      await shot(page, '6-watching-and-queued');

      // The network drops for a moment: the session resumes and what was missed is replayed.
      proxy.block(true);
      proxy.cut();
      await reads(page.getByTestId('conn-state'), 'Reconnecting');
      await t.admin('POST', '/admin/notice', { userId: mia, text: 'Sent while you were away' });
      proxy.block(false);
      await expect.poll(() => page.getByTestId('conn-state').textContent(), { timeout: 15_000 }).toBe('Resumed');
      await reads(page.getByTestId('conn'), 'missed events replayed');
      await reads(page.getByTestId('toast-notice'), 'Sent while you were away');
      await reads(page.getByTestId('game-room'), 'you are watching');
      await reads(page.getByTestId('mm-status'), 'Searching');

      // A longer outage misses more than the streams keep: the session goes on, and the game's and Mia's own
      // streams come back as snapshots instead of the events missed.
      proxy.block(true);
      proxy.cut();
      await reads(page.getByTestId('conn-state'), 'Reconnecting');
      const chess = (await xavi!.call('game.current', {})).game!.id;
      // Spectators come and go: more game events than its stream keeps.
      const watchers = await Promise.all(['Wes', 'Vic', 'Uma'].map((n) => t.guest(n)));
      for (const w of watchers) {
        await w.call('game.join', { gameId: chess, spectate: true });
        await w.call('game.leave', {});
      }
      await yara!.call('game.join', { gameId: chess });
      for (let i = 0; i < 6; i++) await t.admin('POST', '/admin/notice', { userId: mia, text: `Missed notice ${i}` });
      await shot(page, '7-reconnecting');
      proxy.block(false);
      await expect.poll(() => page.getByTestId('conn-state').textContent(), { timeout: 15_000 }).toBe('Resumed');
      // At least the game's and Mia's own (the list's too, when its changes overflowed as well).
      await reads(page.getByTestId('conn'), 'streams resynced from snapshots');
      // Yara's arrival was never delivered as an event; the game's snapshot has her.
      await see(page.getByTestId('player').filter({ hasText: 'Yara' }));
      // Mia's own stream came back as a snapshot: the ticket and the invite are still there.
      await reads(page.getByTestId('mm-status'), 'Searching');
      await reads(page.getByTestId('invite'), 'Zed invites you');
      await shot(page, '8-resynced');
      await Promise.all(watchers.map((w) => w.close()));
    } finally {
      await page.context().close();
      await proxy.close();
      await t.stop();
    }
  }, 120_000);
});
