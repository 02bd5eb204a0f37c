/**
 * `npm run bench:idle`: what an empty lobby node costs in memory before
 * anyone connects.
 *
 * Starts the built server (node server/dist/main.js) as its own process,
 * once per storage set-up, with no client at all:
 *   - `memory`: the embedded database in memory (FOYER_DATA_DIR=memory);
 *   - `data folder, first start`: the embedded database in a new folder
 *     (creates the database);
 *   - `data folder, restart`: the same folder again (opens it).
 * For each it waits for the "Foyer lobby on" line, then until the process
 * is idle (under 5% of a core for 1 s), reads its RSS, forces a full GC
 * through the inspector (the only reason the node runs with --inspect) and
 * reads the RSS again, with the process's own process.memoryUsage().
 *
 * Flags (npm run bench:idle -- --flag value):
 *   --runs N          starts per set-up; the table shows the median (3)
 *   --node-arg ARG    extra node flag for the server (repeatable)
 *   --server-arg ARG  extra server flag (repeatable), e.g. --server-arg=--transport=ws
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const SERVER_MAIN = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url)); // this file runs as bench/dist/idle.js
const MiB = 1024 * 1024;
/** The goal for an empty node with the database in memory. */
const GOAL_MIB = 200;

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'server-arg': { type: 'string', multiple: true, default: [] },
  },
});
const RUNS = Math.max(1, Number(flags.runs));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / MiB).toFixed(0) : '-');

interface Reading {
  startMs: number;
  rss: number;
  peak: number;
  rssAfterGc: number;
  usage: Record<string, number>;
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes (Linux). */
function memOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds a process has used (Linux; USER_HZ is 100). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Waits until the process uses under 5% of a core for 1 s (start-up work done), at most 30 s. */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  let last = cpuOf(pid);
  let quietSince = performance.now();
  while (performance.now() < deadline && performance.now() - quietSince < 1000) {
    await sleep(250);
    const cur = cpuOf(pid);
    if (cur - last > 0.25 * 0.05) quietSince = performance.now();
    last = cur;
  }
}

/** Sends inspector commands in order; resolves with each one's result. */
async function inspect(url: string, commands: { method: string; params?: object }[]): Promise<unknown[]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const results: unknown[] = [];
    for (const [i, c] of commands.entries()) {
      const reply = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${c.method}`)), 30_000);
        const onMessage = (data: WebSocket.RawData) => {
          const m = JSON.parse(String(data)) as { id?: number; result?: unknown };
          if (m.id !== i) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve(m.result);
        };
        ws.on('message', onMessage);
      });
      ws.send(JSON.stringify({ id: i, ...c }));
      results.push(await reply);
    }
    return results;
  } finally {
    ws.close();
  }
}

/** One start of an empty node: its figures, then SIGTERM. */
async function measure(dataDir: string): Promise<Reading> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...flags['node-arg']!, '--inspect=127.0.0.1:0', SERVER_MAIN, '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--data-dir', dataDir, ...flags['server-arg']!],
    { env: { ...process.env, FOYER_TOKEN_SECRET: randomBytes(32).toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  let inspector: string | undefined;
  createInterface({ input: child.stderr! }).on('line', (l) => {
    const m = /^Debugger listening on (ws:\/\/\S+)/.exec(l);
    if (m) inspector = m[1];
    else output.push(l);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not start within 120 s')), 120_000);
      createInterface({ input: child.stdout! }).on('line', (l) => {
        output.push(l);
        if (l.startsWith('Foyer lobby on ')) (clearTimeout(timer), resolve());
      });
      void exited.then(() => (clearTimeout(timer), reject(new Error(`the server exited:\n  ${output.join('\n  ')}`))));
    });
    const startMs = performance.now() - started;
    await settle(child.pid!);
    const before = memOf(child.pid!);
    if (!inspector) throw new Error('no inspector URL from the server');
    const [, usage] = await inspect(inspector, [
      { method: 'HeapProfiler.collectGarbage' },
      { method: 'Runtime.evaluate', params: { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true } },
    ]);
    await sleep(300);
    const after = memOf(child.pid!);
    const parsed = JSON.parse((usage as { result: { value: string } }).result.value) as Record<string, number>;
    return { startMs, rss: before.rss, peak: after.peak, rssAfterGc: after.rss, usage: parsed };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  }
}

function median(rs: Reading[], pick: (r: Reading) => number): number {
  const v = rs.map(pick).sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  console.log(`Empty lobby node (node ${process.version}, ${RUNS} start(s) per row, medians; MiB)\n`);
  const folders: string[] = [];
  const rows: [string, Reading[]][] = [];
  try {
    const memory: Reading[] = [];
    const first: Reading[] = [];
    const restart: Reading[] = [];
    for (let i = 0; i < RUNS; i++) {
      memory.push(await measure('memory'));
      const folder = mkdtempSync(join(tmpdir(), 'foyer-idle-'));
      folders.push(folder);
      first.push(await measure(folder));
      restart.push(await measure(folder));
    }
    rows.push(['memory', memory], ['data folder, first start', first], ['data folder, restart', restart]);
  } finally {
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  }
  const head = ['storage', 'start s', 'RSS', 'peak RSS', 'RSS after GC', 'V8 heap used', 'external', 'array buffers'];
  const lines = rows.map(([name, rs]) => [
    name,
    (median(rs, (r) => r.startMs) / 1000).toFixed(1),
    mib(median(rs, (r) => r.rss)),
    mib(median(rs, (r) => r.peak)),
    mib(median(rs, (r) => r.rssAfterGc)),
    mib(median(rs, (r) => r.usage.heapUsed ?? NaN)),
    mib(median(rs, (r) => r.usage.external ?? NaN)),
    mib(median(rs, (r) => r.usage.arrayBuffers ?? NaN)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtRow = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmtRow(head));
  for (const l of lines) console.log(fmtRow(l));
  const inMemory = median(rows[0]![1], (r) => r.rssAfterGc) / MiB;
  console.log(`\nIn memory, after GC: ${inMemory.toFixed(0)} MiB (goal: under ${GOAL_MIB} MiB: ${inMemory < GOAL_MIB ? 'met' : 'NOT met'}).`);
  console.log('external includes the embedded database\'s WebAssembly memory; RSS also counts compiled code and the native heap.');
}

await main();
