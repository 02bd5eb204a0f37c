import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { CHROMIUM } from '../setup/systemPackages.js';

/** What the browser tests share: one headless Chromium per test file, and the waits they use. */

export const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
export const WAIT = 15_000;

/** Waits until the locator's first match is visible (Playwright polls; no fixed sleeps). */
export const see = (l: Locator) => l.first().waitFor({ state: 'visible', timeout: WAIT });

/** The locator's first match's text, whitespace collapsed ('' while there is none). */
export const text = async (l: Locator): Promise<string> => ((await l.first().textContent({ timeout: 500 }).catch(() => '')) ?? '').replace(/\s+/g, ' ');

/** Polls the locator's text (whitespace collapsed) until it contains `expected`. */
export const reads = (l: Locator, expected: string) => expect.poll(() => text(l), { timeout: WAIT }).toContain(expected);

export async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true, animations: 'disabled' });
}

/** Launches Chromium for this test file (closed after it); the getter is valid inside tests and hooks. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM.bin,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(() => browser?.close());
  return () => {
    if (!browser) throw new Error('the browser is not launched yet');
    return browser;
  };
}

/** A page in a context of its own: its own storage, as a separate person's browser. */
export async function newPage(browser: Browser, name: string, viewport = { width: 1360, height: 900 }): Promise<Page> {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.on('pageerror', (err) => console.error(`page ${name}: ${err.message}`));
  return page;
}

/** Polls until the locator matches exactly `n` elements. */
export const counts = (l: Locator, n: number) => expect.poll(() => l.count(), { timeout: WAIT }).toBe(n);

/**
 * Opens the page and waits for its connection; a first Chromium start on a
 * fresh machine can be slow. Waits on a selector, not expect.poll, so hooks
 * may call it too.
 */
export async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('[data-testid="conn"][data-state="connected"]').waitFor({ state: 'visible', timeout: 30_000 });
}

export async function logIn(page: Page, name: string): Promise<void> {
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Play as guest' }).click();
  await page.getByTestId('you').getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: WAIT });
}

/** The user id the page shows as its own (selector waits only: usable in hooks). */
export async function userIdOf(page: Page): Promise<string> {
  const id = page.getByTestId('my-user-id');
  await id.waitFor({ state: 'visible', timeout: WAIT });
  const value = (await id.textContent())?.trim();
  if (!value) throw new Error('the page shows no user id');
  return value;
}
