/**
 * `npm run bench:floor -- --memory`: what one bare, idle WebSocket connection
 * costs a server process in memory on this machine, with no lobby at all, so
 * the per-session figures of `bench:connect` can be read against it.
 *
 * For each server (uWebSockets.js, then `ws`) a fresh process (node
 * --expose-gc, new space pinned: see PINNED) runs the bare server on loopback and holds its connections in
 * a Set (what any server keeps to reach them; `ws` keeps its own); plain `ws`
 * clients in a child process of it open HALF connections, then the rest, and
 * send nothing. At 0, HALF and N connections the server forces a full GC and
 * reads its RSS and V8 heap (process.memoryUsage()). Marginal cost per
 * connection is read between HALF and N, so fixed costs (the first pages of a
 * pool, the Set's first growths) do not count. The RSS is split three ways
 * that add up: V8 heap used, the V8 heap's free room (committed minus used),
 * and outside the V8 heap (RSS minus committed, as `bench:connect` reads it:
 * native sockets and buffers, the allocator's slack).
 *
 * uWebSockets.js runs three times: bare, with each socket subscribed to a
 * topic of its own (as a lobby session is to its `user:<id>` stream), and
 * with that plus a topic shared by each group of 10 (a game's stream), so
 * the part of a session's cost that its topics take outside the V8 heap
 * shows apart from the socket's.
 *
 * Flags: --connections N (10000)  --half HALF (N/2)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket } from 'ws';
import { loadUws } from '@foyer/server/transport/uws';
import { fmt, fmtInt, killAll, memOf, say, sleep, sourcesFor, track } from './lib.js';

// The children run floor.js, which hands the --memory-* roles to memoryChild().
const SELF = fileURLToPath(new URL('./floor.js', import.meta.url));

interface Reading {
  conns: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

// ---- the clients' process: opens connections on request, sends nothing ----

async function clientsMain(url: string, sources: number): Promise<void> {
  const held: WebSocket[] = [];
  const open = async (n: number): Promise<void> => {
    let failed = 0;
    for (let i = 0; i < n; i += 200) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(n, i + 200); j++) {
        const k = held.length;
        const ws = new WebSocket(url, { perMessageDeflate: false, ...(sources > 1 ? { localAddress: `127.0.0.${(k % sources) + 2}` } : {}) });
        held.push(ws);
        batch.push(new Promise<void>((r) => (ws.once('open', () => r()), ws.once('error', () => (failed++, r())))));
      }
      await Promise.all(batch);
    }
    process.send!({ opened: held.length, failed });
  };
  process.on('message', (m: { open: number }) => void open(m.open));
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
}

// ---- the server's process: one bare server, memory after a full GC ----

/** A full GC: the server's process is started with --expose-gc. */
function gc(): void {
  (globalThis as unknown as { gc: () => void }).gc();
}

async function reading(conns: number): Promise<Reading> {
  await sleep(500);
  gc();
  gc();
  // Freed pages go back to the system after the GC, not within it.
  await sleep(500);
  const m = process.memoryUsage();
  return { conns, rss: memOf(process.pid).rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

/** The servers measured: uWS bare, then with topics (`own`: one per socket; `own+shared`: and one per group of 10), then ws. */
const UWS_KINDS: Record<string, string> = { uws: 'uWebSockets.js', 'uws-own': 'uWS + own topic', 'uws-own-shared': 'uWS + own + 1/10', 'uws-all-shared': 'uWS + all + 1/10' };

async function bareServer(kind: string): Promise<{ name: string; port: number; count(): number }> {
  const name = UWS_KINDS[kind];
  if (name) {
    const uws = loadUws();
    const socks = new Set<unknown>();
    const app = uws.App();
    let opened = 0;
    app.ws('/*', {
      idleTimeout: 0,
      open: (ws) => {
        socks.add(ws);
        const i = opened++;
        if (kind === 'uws-own' || kind === 'uws-own-shared') ws.subscribe(`user:${i}`);
        if (kind === 'uws-all-shared') ws.subscribe('all');
        if (kind.endsWith('-shared')) ws.subscribe(`game:${Math.floor(i / 10)}`);
      },
      close: (ws) => void socks.delete(ws),
    });
    return new Promise((resolve, reject) =>
      app.listen('127.0.0.1', 0, (ls) => (ls ? resolve({ name, port: uws.us_socket_local_port(ls), count: () => socks.size }) : reject(new Error('uWS could not listen')))),
    );
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  return { name: 'ws', port: (wss.address() as { port: number }).port, count: () => wss.clients.size };
}

async function serverMain(kind: string, n: number, half: number): Promise<void> {
  const s = await bareServer(kind);
  const child = track(spawn(process.execPath, [SELF, '--memory-clients', `ws://127.0.0.1:${s.port}/`, String(sourcesFor(n))], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const next = () => new Promise<unknown>((r) => child.once('message', r));
  await next();
  const readings: Reading[] = [await reading(0)];
  for (const target of [half, n]) {
    child.send({ open: target - s.count() });
    const got = (await next()) as { opened: number; failed: number };
    if (got.failed || s.count() !== target) throw new Error(`${s.name}: ${s.count()} of ${target} connections open (${got.failed} failed)`);
    readings.push(await reading(target));
  }
  process.send!({ name: s.name, readings });
  child.disconnect();
  process.exit(0);
}

// ---- the driver: one server process per server ----

/**
 * V8 grows and shrinks its new space between readings by ±14 MiB (after a
 * full GC it may give back semi-spaces it took while the connections came in),
 * which swamps a figure of tenths of a KiB per connection: the server's
 * process gets a fixed 1 MiB semi-space so its heap moves only with what the
 * connections keep.
 */
const PINNED = ['--min-semi-space-size=1', '--max-semi-space-size=1'];

function runServer(kind: string, n: number, half: number): Promise<{ name: string; readings: Reading[] }> {
  const child: ChildProcess = track(spawn(process.execPath, ['--expose-gc', ...PINNED, SELF, '--memory-server', kind, String(n), String(half)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as { name: string; readings: Reading[] }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before reporting`)));
  });
}

export async function memoryMain(n: number, half: number): Promise<void> {
  const kinds = (() => {
    try {
      loadUws();
      return [...Object.keys(UWS_KINDS), 'ws'];
    } catch {
      return ['ws'];
    }
  })();
  say(`Foyer bench:floor --memory — ${fmtInt(n)} idle connections (marginal between ${fmtInt(half)} and ${fmtInt(n)}), each reading after a full GC; no lobby, bare servers`);
  const KiB = (b: number) => fmt(b / 1024, 2);
  const MiB = (b: number) => fmt(b / 1048576, 1);
  const rows: string[] = [];
  for (const kind of kinds) {
    const { name, readings } = await runServer(kind, n, half);
    const [zero, mid, full] = readings as [Reading, Reading, Reading];
    const per = (f: (r: Reading) => number) => (f(full) - f(mid)) / (full.conns - mid.conns);
    say(
      `${name}: RSS ${MiB(zero.rss)} → ${MiB(mid.rss)} → ${MiB(full.rss)} MiB, V8 heap used ${MiB(zero.heapUsed)} → ${MiB(mid.heapUsed)} → ${MiB(full.heapUsed)} MiB ` +
        `(committed ${MiB(zero.heapTotal)} → ${MiB(mid.heapTotal)} → ${MiB(full.heapTotal)}), external ${MiB(zero.external)} → ${MiB(mid.external)} → ${MiB(full.external)} MiB (0 → ${fmtInt(mid.conns)} → ${fmtInt(full.conns)})`,
    );
    rows.push(
      `| ${name.padEnd(16)} | ${KiB(per((r) => r.rss)).padStart(17)} | ${KiB(per((r) => r.heapUsed)).padStart(12)} | ${KiB(per((r) => r.heapTotal - r.heapUsed)).padStart(17)} | ${KiB(per((r) => r.rss - r.heapTotal)).padStart(15)} | ${KiB((full.rss - zero.rss) / full.conns).padStart(14)} |`,
    );
  }
  say('');
  say('| server           | marginal KiB/conn | V8 heap used | V8 heap free room | outside V8 heap | KiB/conn from 0 |');
  say('|:-----------------|------------------:|-------------:|------------------:|----------------:|---------------:|');
  for (const r of rows) say(r);
  say('');
  say('Marginal = (reading at N − reading at HALF) / (N − HALF), each after a full GC. The three parts add up to the RSS: V8 heap used,');
  say('the V8 heap\'s free room (committed − used: new space and free pages V8 keeps), and outside the V8 heap (RSS − committed).');
  killAll();
  process.exit(0);
}

export function memoryChild(argv: string[]): boolean {
  if (argv[0] === '--memory-clients') return void clientsMain(argv[1]!, Number(argv[2])), true;
  if (argv[0] === '--memory-server') {
    serverMain(argv[1]!, Number(argv[2]), Number(argv[3])).catch((err: unknown) => {
      process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
      killAll();
      process.exit(1);
    });
    return true;
  }
  return false;
}
