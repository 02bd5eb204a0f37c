import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LobbyClient } from '@foyer/client-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { TOKEN_SECRET_FILE } from '../../server/src/tokenSecret.js';
import { transport } from '../helpers/node.js';

// The built server run the way the Dockerfile runs it: an unprivileged user
// (nobody, when the test runs as root; else the current user), the image's
// environment (FOYER_DATA_DIR a folder that user owns, no DATABASE_URL, no
// FOYER_TOKEN_SECRET), and a working directory it cannot write to (/app in the image).
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'server/dist/main.js');
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function startAsImage(dataDir: string) {
  const argv = [process.execPath, MAIN];
  const [cmd, ...args] = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv] : argv;
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', FOYER_DATA_DIR: dataDir, FOYER_TRANSPORT: transport, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = once(child, 'exit').then(([code]) => code as number);
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /Foyer lobby on http:\/\/localhost:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`the node exited (${code}) before listening:\n${out}`)));
  });
  return { child, port, exited, output: () => out };
}

/** Starts the node, checks it is ready, runs `fn` with a client, stops it with SIGTERM (exit 0). */
async function runImage<T>(dataDir: string, fn: (url: string) => Promise<T>): Promise<{ result: T; output: string }> {
  const node = startAsImage(dataDir);
  try {
    const port = await node.port;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const result = await fn(`ws://127.0.0.1:${port}`);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    return { result, output: node.output() };
  } finally {
    node.child.kill('SIGKILL');
  }
}

describe('the server as the Docker image runs it', () => {
  const base = mkdtempSync(path.join(tmpdir(), 'foyer-image-'));
  chmodSync(base, 0o755); // mkdtemp's 0700 would keep the other user out of the folder inside
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('as an unprivileged user: ready, serves a login, keeps its data and logins in its data folder across a restart', async () => {
    // /data in the image: created empty, owned by the user that runs the node.
    const dataDir = path.join(base, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    if (asRoot) chownSync(dataDir, NOBODY, NOBODY);

    const first = await runImage(dataDir, async (url) => {
      const c = new LobbyClient({ url, reconnect: false });
      await c.connect();
      const me = await c.call('auth.guest', { name: 'Docker' });
      const list = await c.call('games.list', {});
      expect(list.games).toEqual([]);
      await c.close();
      return me;
    });
    expect(first.output).toContain('"storage":"pglite"');
    expect(first.output).not.toMatch(/EACCES|"level":50/);

    const files = readdirSync(dataDir);
    expect(files).toContain('PG_VERSION');
    expect(files).toContain(TOKEN_SECRET_FILE);
    const secret = statSync(path.join(dataDir, TOKEN_SECRET_FILE));
    expect(secret.mode & 0o777).toBe(0o600);
    if (asRoot) expect(secret.uid).toBe(NOBODY);

    // A restart on the same volume: the token issued before logs the same account in.
    const second = await runImage(dataDir, async (url) => {
      const c = new LobbyClient({ url, reconnect: false });
      await c.connect();
      const again = await c.call('auth.token', { token: first.result.token });
      await c.close();
      return again;
    });
    expect(second.result.userId).toBe(first.result.userId);
    expect(second.result.name).toBe('Docker');
  }, 90_000); // two starts of the embedded database, the first one creating it
});
