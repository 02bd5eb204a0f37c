import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { counts, logIn, newPage, open, reads, see, shot, text, useBrowser, userIdOf, WAIT } from './browser.js';

const browser = useBrowser();

/** The row of `name` in the page's friends panel (a friend, a request either way, or a blocked user). */
const friendRow = (page: Page, name: string): Locator => page.getByTestId('friends').getByTestId('friend').filter({ hasText: name });

/** Seconds a countdown shows ("expires in 27 s" → 27); NaN when it shows none. */
async function secondsLeft(l: Locator): Promise<number> {
  const m = /(\d+) s\b/.exec(await text(l));
  return m ? Number(m[1]) : NaN;
}

describe('friends, party invites and mail between two people in two browsers', () => {
  let t: TestNode;
  let a: Page;
  let b: Page;
  let annId: string;
  let benId: string;

  beforeAll(async () => {
    [t, a, b] = await Promise.all([startTestNode({ webRoot: inject('webRoot'), inviteTtlMs: 30_000 }), newPage(browser(), 'Ann'), newPage(browser(), 'Ben')]);
    await Promise.all([open(a, t.httpUrl + '/'), open(b, t.httpUrl + '/')]);
    await Promise.all([logIn(a, 'Ann'), logIn(b, 'Ben')]);
    [annId, benId] = await Promise.all([userIdOf(a), userIdOf(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.context().close(), b?.context().close()]);
    await t?.stop();
  });

  it('sends a friend request that is accepted; both see the other online, and presence changes live', async () => {
    // Before anything: empty lists, loaded (not the loading text).
    await reads(a.getByTestId('friends-online'), '0 of 0 online');
    await reads(b.getByTestId('friends'), 'No friends yet');

    await a.getByLabel('User id to add as a friend').fill(benId);
    await a.getByRole('button', { name: 'Add friend', exact: true }).click();
    await see(a.getByTestId('toast-info').filter({ hasText: 'Friend request sent' }));
    await expect.poll(() => friendRow(a, 'Ben').getAttribute('data-state'), { timeout: WAIT }).toBe('requestSent');
    await reads(friendRow(a, 'Ben'), 'request sent');

    // B is told live, and can answer from the panel.
    const request = b.getByTestId('friend-requests').getByTestId('friend').filter({ hasText: 'Ann' });
    await reads(request, 'Ann wants to be your friend');
    await reads(b.getByTestId('head-friends').locator('.count'), '1'); // requests waiting, in the header
    await shot(b, '9-friend-request');

    // A second request is refused, and the refusal is shown in words.
    await a.getByLabel('User id to add as a friend').fill(benId);
    await a.getByRole('button', { name: 'Add friend', exact: true }).click();
    await reads(a.getByTestId('toast-error'), 'REQUEST_PENDING');

    await request.getByRole('button', { name: 'Accept', exact: true }).click();
    for (const [page, other] of [[a, 'Ben'], [b, 'Ann']] as const) {
      const row = friendRow(page, other);
      await expect.poll(() => row.getAttribute('data-state'), { timeout: WAIT }).toBe('friend');
      await expect.poll(() => row.getAttribute('data-presence'), { timeout: WAIT }).toBe('online');
      await reads(row.getByTestId('presence'), 'Online');
      await reads(page.getByTestId('friends-online'), '1 of 1 online');
    }
    await counts(b.getByTestId('friend-requests'), 0);
    await see(a.getByTestId('toast-info').filter({ hasText: 'Ben accepted your friend request' }));

    // Presence is live: B's status text and B's queueing reach A without a reload.
    await b.getByRole('button', { name: 'Set status' }).click();
    await b.getByLabel('Your status').fill('in the shop');
    await b.getByLabel('Your status').press('Enter');
    await reads(friendRow(a, 'Ben').getByTestId('presence'), 'Online · in the shop');
    await b.getByLabel('Queue', { exact: true }).fill('duel');
    await b.getByRole('button', { name: 'Find match' }).click();
    await reads(friendRow(a, 'Ben').getByTestId('presence'), 'Looking for a match');
    await b.getByTestId('mm-status').getByRole('button', { name: 'Cancel' }).click();
    await reads(friendRow(a, 'Ben').getByTestId('presence'), 'Online');
    await expect.poll(() => text(friendRow(a, 'Ben').getByTestId('presence')), { timeout: WAIT }).not.toContain('Looking');
    await shot(a, '10-friends-online');
  });

  it('invites a friend to a party from the friends panel; the friend sees the expiry count down and accepts', async () => {
    await friendRow(a, 'Ben').getByRole('button', { name: 'Invite to party' }).click();
    await reads(friendRow(a, 'Ben'), 'invited');
    await reads(a.getByTestId('party'), 'invited');

    const invite = b.getByTestId('invite').filter({ hasText: 'Ann invites you' });
    await see(invite);
    const countdown = invite.getByTestId('invite-countdown');
    await reads(countdown, 'expires in');
    const first = await secondsLeft(countdown);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(30);
    // It counts down as time passes (the page redraws it; nothing is sent).
    await expect.poll(() => secondsLeft(countdown), { timeout: WAIT }).toBeLessThan(first);
    await shot(b, '11-party-invite');

    await invite.getByRole('button', { name: 'Accept', exact: true }).click();
    await counts(b.getByTestId('invite'), 0);
    await see(a.getByTestId('party-member').filter({ hasText: 'Ben' }));
    await see(b.getByTestId('party-member').filter({ hasText: 'Ann' }));
    await reads(friendRow(a, 'Ben'), 'in your party');
    await reads(friendRow(b, 'Ann'), 'in your party');
  });

  it('mails a friend, who reads it, still has it after a reload, acknowledges it, and does not get it back after another', async () => {
    await friendRow(a, 'Ben').getByRole('button', { name: 'Mail', exact: true }).click();
    const compose = a.getByTestId('mail-compose');
    await expect.poll(() => compose.getByLabel('Mail to').inputValue(), { timeout: WAIT }).toBe(benId);
    await compose.getByLabel('Message').fill('See you at eight in the arena!');
    await compose.getByRole('button', { name: 'Send mail' }).click();
    await see(a.getByTestId('toast-info').filter({ hasText: 'Mail sent' }));
    await expect.poll(() => compose.getByLabel('Message').inputValue(), { timeout: WAIT }).toBe('');

    const item = b.getByTestId('mail').getByTestId('mail-item');
    await reads(item, 'See you at eight in the arena!');
    await reads(item, 'Ann');
    await reads(b.getByTestId('head-mail'), '1');
    await counts(item, 1);
    // Reply writes back to the sender.
    await item.getByRole('button', { name: 'Reply' }).click();
    await expect.poll(() => b.getByTestId('mail-compose').getByLabel('Mail to').inputValue(), { timeout: WAIT }).toBe(annId);

    // Unacknowledged mail is stored: a reload brings it back (once, not twice).
    await b.reload();
    await reads(b.getByTestId('conn-state'), 'Resumed');
    await reads(item, 'See you at eight in the arena!');
    await counts(item, 1);
    await shot(b, '12-mail');

    await item.getByRole('button', { name: 'Acknowledge', exact: true }).click();
    await counts(item, 0);
    await reads(b.getByTestId('mail'), 'No mail');

    // Acknowledged mail is deleted: after a reload, the freshly loaded inbox is empty.
    await b.reload();
    await reads(b.getByTestId('conn-state'), 'Resumed');
    await reads(b.getByTestId('mail'), 'No mail'); // shown only once mail.list has answered
    await counts(item, 0);
    await reads(b.getByTestId('head-mail'), '0');
    // The reload kept everything else too: the friend and the party.
    await reads(friendRow(b, 'Ann'), 'in your party');
    await shot(b, '13-mail-acknowledged');

    // A new tab of the same browser has none of this tab's session (nor its memory of acknowledged mail),
    // only the guest the browser remembers: what it shows is the server's inbox, and the message is not in it.
    const b2 = await b.context().newPage();
    await open(b2, t.httpUrl + '/');
    await b2.getByRole('button', { name: 'Continue as Ben' }).click();
    expect(await userIdOf(b2)).toBe(benId);
    await reads(b2.getByTestId('mail'), 'No mail');
    await counts(b2.getByTestId('mail-item'), 0);
    await reads(friendRow(b2, 'Ann'), 'Online');
    // One session per account: the first tab was replaced, and says so.
    await reads(b.getByTestId('conn-state'), 'Disconnected');
    await b2.close();
  });
});

describe('logging in with a name and password', () => {
  let t: TestNode;
  let proxy: Proxy;
  let page: Page;

  beforeAll(async () => {
    t = await startTestNode({ webRoot: inject('webRoot') });
    proxy = await startProxy(t.node.port);
    page = await newPage(browser(), 'Cleo', { width: 1280, height: 820 });
  });
  afterAll(async () => {
    await page?.context().close();
    await proxy?.close();
    await t?.stop();
  });

  it('creates an account, is refused a wrong password in words, logs in, and resumes after a dropped connection', async () => {
    await open(page, `http://127.0.0.1:${proxy.port}/`);
    const name = `Cleo${Date.now().toString(36)}`;
    await page.getByRole('tab', { name: 'Account' }).click();
    await page.getByLabel('Account name').fill(name);
    await page.getByLabel('Password', { exact: true }).fill('correct horse');
    await page.getByRole('button', { name: 'Create account' }).click();
    await reads(page.getByTestId('you'), name);
    await reads(page.getByTestId('account-kind'), 'Named account');
    const id = await userIdOf(page);
    await shot(page, '14-account');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('tab', { name: 'Account' }).click();
    await page.getByLabel('Account name').fill(name);
    await page.getByLabel('Password', { exact: true }).fill('wrong horse');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await reads(page.getByTestId('toast-error'), 'WRONG_CREDENTIALS');
    await counts(page.getByTestId('you'), 0);

    await page.getByLabel('Password', { exact: true }).fill('correct horse');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await reads(page.getByTestId('you'), name);
    expect(await userIdOf(page)).toBe(id);

    // A named login resumes its session after the network drops, like a guest's.
    proxy.cut();
    await reads(page.getByTestId('conn-state'), 'Reconnecting');
    await expect.poll(() => page.getByTestId('conn-state').textContent(), { timeout: WAIT }).toBe('Resumed');
    await reads(page.getByTestId('you'), name);
    // Still logged in: an op that needs a session works.
    await page.getByLabel('User id to add as a friend').fill('no-such-user');
    await page.getByRole('button', { name: 'Add friend', exact: true }).click();
    await reads(page.getByTestId('toast-error'), 'USER_NOT_FOUND');
  });

  it('saves a guest as a named account, keeping its id', async () => {
    const guest = await newPage(browser(), 'Dora');
    try {
      await open(guest, t.httpUrl + '/');
      await logIn(guest, 'Dora');
      const id = await userIdOf(guest);
      await reads(guest.getByTestId('account-kind'), 'Playing as a guest');
      await guest.getByRole('button', { name: 'Save as account' }).click();
      const name = `Dora${Date.now().toString(36)}`;
      await guest.getByLabel('New account name').fill(name);
      await guest.getByLabel('New password').fill('short');
      expect(await guest.getByRole('button', { name: 'Save account' }).isDisabled()).toBe(true); // 8 characters at least
      await guest.getByLabel('New password').fill('a long enough password');
      await guest.getByRole('button', { name: 'Save account' }).click();
      await reads(guest.getByTestId('account-kind'), 'Named account');
      await reads(guest.getByTestId('you'), name);
      expect(await userIdOf(guest)).toBe(id);
    } finally {
      await guest.context().close();
    }
  });
});

describe('logging out', () => {
  let t: TestNode;
  let e: Page;
  let f: Page;

  beforeAll(async () => {
    // A grace period far longer than the test: only the logout itself can end Eve's session in time.
    [t, e, f] = await Promise.all([startTestNode({ webRoot: inject('webRoot'), reconnectGraceMs: 120_000 }), newPage(browser(), 'Eve'), newPage(browser(), 'Finn')]);
    await Promise.all([open(e, t.httpUrl + '/'), open(f, t.httpUrl + '/')]);
    await Promise.all([logIn(e, 'Eve'), logIn(f, 'Finn')]);
  });
  afterAll(async () => {
    await Promise.all([e?.context().close(), f?.context().close()]);
    await t?.stop();
  });

  it("shows the user offline on a friend's page as soon as they log out", async () => {
    await e.getByLabel('User id to add as a friend').fill(await userIdOf(f));
    await e.getByRole('button', { name: 'Add friend', exact: true }).click();
    await f.getByTestId('friend-requests').getByTestId('friend').filter({ hasText: 'Eve' }).getByRole('button', { name: 'Accept', exact: true }).click();
    await expect.poll(() => friendRow(f, 'Eve').getAttribute('data-presence'), { timeout: WAIT }).toBe('online');

    await e.getByTestId('you').getByRole('button', { name: 'Log out' }).click();
    await see(e.getByRole('button', { name: 'Play as guest' }));
    await expect.poll(() => friendRow(f, 'Eve').getAttribute('data-presence'), { timeout: 5000 }).toBe('offline');
    await reads(friendRow(f, 'Eve').getByTestId('presence'), 'Offline');
    await reads(f.getByTestId('friends-online'), '0 of 1 online');
  });
});
