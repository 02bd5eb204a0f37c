import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { transport } from '../helpers/node.js';

const MAIN = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  // Like `npm start`: no DATABASE_URL, so embedded PGlite, in a data folder of this test's own.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'foyer-data-'));
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, DATABASE_URL: '', FOYER_DATA_DIR: dataDir, FOYER_TRANSPORT: transport, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = once(child, 'exit').then(([code]) => code as number);
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /Foyer lobby on http:\/\/localhost:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    exited.then(() => reject(new Error(`exited early: ${err}`)));
  });
  listening.catch(() => {}); // tests of refused starts await `exited` instead
  return { child, exited, listening, output: () => out, errors: () => err };
}

describe('the node as a process (what npm start runs)', () => {
  it('starts on --port, serves a client, and exits 0 on SIGTERM after closing its sockets with 1001', async () => {
    const p = run(['--port', '0', '--host', '127.0.0.1']);
    const port = await p.listening;
    const c = new LobbyClient({ url: `ws://127.0.0.1:${port}`, reconnect: false });
    await c.connect();
    await c.call('auth.guest', { name: 'Proc' });
    const closed = new Promise<number | undefined>((resolve) => c.onState((s, info) => s === 'closed' && resolve(info.close?.code)));
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(await closed).toBe(1001);
    expect(p.output()).toContain('"transport":"' + transport + '"');
    expect(p.output()).toContain('"storage":"pglite"');
  }, 60_000); // a first start creates the embedded database: seconds on a busy machine

  it('refuses a bad setting with a clear message and exit code 2', async () => {
    const p = run([], { PORT: 'eighty', FOYER_HEARTBEAT_INTERVAL_MS: '-5' });
    expect(await p.exited).toBe(2);
    expect(p.errors()).toMatch(/PORT \/ --port: .*got "eighty"/);
    expect(p.errors()).toMatch(/FOYER_HEARTBEAT_INTERVAL_MS/);
  });

  it('refuses an unknown flag', async () => {
    const p = run(['--prot', '80']);
    expect(await p.exited).toBe(2);
    expect(p.errors()).toMatch(/unknown flag --prot/);
  });
});
