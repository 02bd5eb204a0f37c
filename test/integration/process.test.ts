import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { LobbyClient } from '@foyer/client-sdk';
import { describe, expect, inject, it } from 'vitest';
import { transport } from '../helpers/node.js';
import { RawClient } from '../helpers/raw.js';

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

  it('refuses a port already in use (by a node or anything else) with one clear line and a non-zero exit', async () => {
    const db = { DATABASE_URL: inject('databaseUrl') };
    const first = run(['--port', '0', '--host', '127.0.0.1'], db);
    const nodePort = await first.listening;
    const plain = net.createServer();
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const plainPort = (plain.address() as net.AddressInfo).port;
    try {
      for (const port of [nodePort, plainPort]) {
        const second = run(['--port', String(port), '--host', '127.0.0.1'], db);
        expect(await second.exited).toBe(1);
        expect(second.errors()).toMatch(new RegExp(`^foyer: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use[^\\n]*\\n$`));
        expect(second.output()).not.toContain('Foyer lobby on');
      }
      // The first node still serves alone.
      expect((await fetch(`http://127.0.0.1:${nodePort}/healthz`)).status).toBe(200);
    } finally {
      plain.close();
      first.child.kill('SIGTERM');
      await first.exited;
    }
  }, 60_000);

  describe('stops on SIGTERM within its shutdown timeout whatever happens to stdout', () => {
    const SHUTDOWN_MS = 1000;
    /** What main.ts allows beyond the timeout (later steps, the last log lines), and a second for a busy machine. */
    const MARGIN_MS = 2000 + 1000;

    /** A node whose stdout is a FIFO (64 KiB) that the test opens and never reads. */
    async function nodeOnFifo() {
      const dir = mkdtempSync(path.join(tmpdir(), 'foyer-fifo-'));
      const fifo = path.join(dir, 'stdout');
      execFileSync('mkfifo', [fifo]);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY);
      const port = await freePort();
      const child = spawn(process.execPath, [MAIN, '--port', String(port), '--host', '127.0.0.1'], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl'), FOYER_TRANSPORT: transport, LOG_LEVEL: 'debug', FOYER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS) },
        stdio: ['ignore', writer, 'pipe'],
      });
      closeSync(writer);
      const exited = once(child, 'exit').then(([code]) => code as number | null);
      const url = `http://127.0.0.1:${port}`;
      while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 50));
      // Fill the pipe: every login writes a log line (debug); 600 of them are well over 64 KiB.
      for (let i = 0; i < 600; i++) {
        const raw = new RawClient(`ws://127.0.0.1:${port}/?v=2`);
        expect((await raw.request('auth.guest', { name: `Filler ${i}` })).ok).toBe(true);
        raw.close();
      }
      return { child, exited, reader };
    }

    async function stopsInTime(child: ReturnType<typeof spawn>, exited: Promise<number | null>) {
      const started = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), SHUTDOWN_MS + MARGIN_MS))]);
      if (code === 'hung') child.kill('SIGKILL');
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(SHUTDOWN_MS + MARGIN_MS);
    }

    it('a reader that stopped reading', async () => {
      const { child, exited, reader } = await nodeOnFifo();
      try {
        await stopsInTime(child, exited);
      } finally {
        closeSync(reader);
      }
    }, 60_000);

    it('a reader that is gone', async () => {
      const { child, exited, reader } = await nodeOnFifo();
      closeSync(reader);
      await stopsInTime(child, exited);
    }, 60_000);
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
