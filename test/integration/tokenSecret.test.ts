import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LobbyError } from '@foyer/client-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTokenSecret, TOKEN_SECRET_FILE } from '../../server/src/tokenSecret.js';
import { withNode, type TestNode } from '../helpers/node.js';

/** Logs in as a guest on `t` and returns the token and user id it issued. */
async function guestToken(t: TestNode, name: string): Promise<{ token: string; userId: string }> {
  const c = await t.guest(name);
  return { token: c.token!, userId: c.userId! };
}

/** What `auth.token` with `token` answers on `t`: the user id, or the refusal's code. */
async function logInWith(t: TestNode, token: string): Promise<string> {
  const c = t.client({ reconnect: false });
  await c.connect();
  try {
    return (await c.call('auth.token', { token })).userId;
  } catch (err) {
    if (err instanceof LobbyError) return err.code;
    throw err;
  }
}

describe('the token secret without FOYER_TOKEN_SECRET', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'foyer-secret-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('is generated once into the data folder (0600): a token issued before a restart logs in after it', async () => {
    // Accounts in the run's Postgres (DATABASE_URL), the secret in the data folder all the same.
    const dir = dataDir();
    let before!: { token: string; userId: string };
    const logs: string[] = [];
    await withNode({ tokenSecret: undefined, dataDir: dir }, async (t) => {
      before = await guestToken(t, 'Keeper');
      logs.push(...t.logs);
    });
    const file = path.join(dir, TOKEN_SECRET_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);

    await withNode({ tokenSecret: undefined, dataDir: dir }, async (t) => {
      expect(await logInWith(t, before.token)).toBe(before.userId);
      logs.push(...t.logs);
    });
    // The logs name the file, never the secret in it.
    expect(logs.join('')).toContain(TOKEN_SECRET_FILE);
    expect(logs.join('')).not.toContain(secret);
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
  });

  it('with the data folder `memory`, stays per process: tokens do not survive a restart', async () => {
    let before!: { token: string; userId: string };
    await withNode({ tokenSecret: undefined, dataDir: 'memory' }, async (t) => {
      before = await guestToken(t, 'Fleeting');
      expect(await logInWith(t, before.token)).toBe(before.userId);
      expect(t.logs.join('')).toContain('die with this process');
    });
    await withNode({ tokenSecret: undefined, dataDir: 'memory' }, async (t) => {
      expect(await logInWith(t, before.token)).toBe('TOKEN_INVALID');
    });
  });

  it('a configured secret wins; a stored one that others may read, or too short, is not used', async () => {
    expect(await resolveTokenSecret({ tokenSecret: 'x'.repeat(32), dataDir: dataDir() })).toEqual({ secret: 'x'.repeat(32), source: 'config' });

    const loose = dataDir();
    writeFileSync(path.join(loose, TOKEN_SECRET_FILE), 'y'.repeat(43) + '\n');
    chmodSync(path.join(loose, TOKEN_SECRET_FILE), 0o644);
    const fromLoose = await resolveTokenSecret({ tokenSecret: undefined, dataDir: loose });
    expect(fromLoose).toMatchObject({ source: 'process', problem: expect.stringContaining('readable by other users (expected mode 0600)') });
    expect(fromLoose.secret).not.toBe('y'.repeat(43));

    const short = dataDir();
    writeFileSync(path.join(short, TOKEN_SECRET_FILE), 'too-short\n', { mode: 0o600 });
    expect(await resolveTokenSecret({ tokenSecret: undefined, dataDir: short })).toMatchObject({ source: 'process', problem: expect.stringContaining('shorter than 32') });
  });

  it('a folder that cannot hold the file falls back to a per-process secret with a warning, and still starts', async () => {
    // A regular file where the data folder should be: mkdir fails for root too.
    const blocked = path.join(dataDir(), 'not-a-folder');
    writeFileSync(blocked, 'x');
    await withNode({ tokenSecret: undefined, dataDir: blocked }, async (t) => {
      const { token, userId } = await guestToken(t, 'Stranded');
      expect(await logInWith(t, token)).toBe(userId);
      expect(t.logs.join('')).toMatch(/cannot keep the token secret in .*die with this process/);
    });
  });
});
