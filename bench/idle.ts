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
 * For each it waits until the node is idle, reads its RSS, forces a full GC
 * through the inspector (the only reason the node runs with --inspect) and
 * reads the RSS again, with the V8 heap and external memory from /metrics.
 * Set DATABASE_URL to measure a node on Postgres instead (every row alike).
 *
 * Flags (npm run bench:idle -- --flag value):
 *   --runs N          starts per set-up; the table shows the median (3)
 *   --transport T     uws or ws (uws)
 *   --node-arg ARG    extra node flag for the server (repeatable)
 *   --server-arg ARG  extra server flag (repeatable)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { intFlag, memOf, metricsOf, metricSum, MiB, say, serverMemory, settle, startServer, stopServer, table, transportFlag } from './lib.js';

/** The goal for an empty node with the database in memory. */
const GOAL_MIB = 200;

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    transport: { type: 'string', default: 'uws' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'server-arg': { type: 'string', multiple: true, default: [] },
  },
});
const RUNS = intFlag('runs', flags.runs, 1);
const TRANSPORT = transportFlag(flags.transport!);

interface Reading {
  startS: number;
  rss: number;
  peak: number;
  rssGc: number;
  heapUsed: number;
  external: number;
}

/** One start of an empty node: its figures, then SIGTERM. */
async function measure(dataDir: string): Promise<Reading> {
  const t0 = performance.now();
  const s = await startServer({ transport: TRANSPORT, inspect: true, dataDir, nodeArgs: flags['node-arg'], args: flags['server-arg'] });
  try {
    const startS = (performance.now() - t0) / 1000;
    await settle(s);
    const { rss, rssGc } = await serverMemory(s);
    const m = await metricsOf(s.port);
    return { startS, rss, rssGc, peak: memOf(s.pid).hwm, heapUsed: metricSum(m, 'foyer_nodejs_heap_size_used_bytes'), external: metricSum(m, 'foyer_nodejs_external_memory_bytes') };
  } finally {
    await stopServer(s);
  }
}

function median(rs: Reading[], pick: (r: Reading) => number): number {
  const v = rs.map(pick).sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / MiB).toFixed(0) : '-');

const rows: [string, Reading[]][] = [
  ['memory', []],
  ['data folder, first start', []],
  ['data folder, restart', []],
];
for (let i = 0; i < RUNS; i++) {
  rows[0]![1].push(await measure('memory'));
  const folder = mkdtempSync(join(tmpdir(), 'foyer-idle-'));
  try {
    rows[1]![1].push(await measure(folder));
    rows[2]![1].push(await measure(folder));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
say(`Empty lobby node (${TRANSPORT}, node ${process.version}, ${RUNS} start(s) per row, medians; MiB)\n`);
say(
  table(
    ['storage', 'start s', 'RSS', 'peak RSS', 'RSS after GC', 'V8 heap used', 'external'],
    rows.map(([name, rs]) => [
      name,
      median(rs, (r) => r.startS).toFixed(1),
      mib(median(rs, (r) => r.rss)),
      mib(median(rs, (r) => r.peak)),
      mib(median(rs, (r) => r.rssGc)),
      mib(median(rs, (r) => r.heapUsed)),
      mib(median(rs, (r) => r.external)),
    ]),
  ),
);
const inMemory = median(rows[0]![1], (r) => r.rssGc) / MiB;
say(`\nIn memory, after GC: ${inMemory.toFixed(0)} MiB (goal: under ${GOAL_MIB} MiB: ${inMemory < GOAL_MIB ? 'met' : 'NOT met'}).`);
say("external counts the embedded database's WebAssembly heap (128 MiB reserved, only touched pages are resident) and its in-memory files.");
