/**
 * `npm run bench:fuzz`: a million random and mutated frames per transport at
 * a lobby node, and what came back.
 *
 * For each transport a lobby node runs as its own process (the built
 * server/dist/main.js, embedded in-memory database unless --database-url,
 * rate limits raised so that nothing is refused for speed, a long login
 * timeout so that connections not logged in stay). The frames come from
 * bench/fuzzer.ts (the fuzz test sends 20,000 of the same): valid envelopes
 * of every op with mutated data, random JSON, random text and bytes, deep
 * nesting, huge numbers, prototype keys, broken JSON; half the connections
 * logged in as guests, half not. Printed per transport: frames, frames/s,
 * crashes (the node process ended), INTERNAL replies, missing and duplicate
 * replies, connections the server closed. All but frames and frames/s must
 * be 0: the exit code is 1 otherwise.
 *
 * Flags (npm run bench:fuzz -- --flag value):
 *   --transports uws,ws    which transports, in order
 *   --frames N             frames per transport (1000000)
 *   --connections C        connections at once (16)
 *   --seed S               random seed (1): the same seed sends the same frames
 *   --database-url URL     Postgres instead of the embedded in-memory database
 *   --timeout-s T          hard limit for the whole run; every child process is killed (7200)
 */
import { parseArgs } from 'node:util';
import { fuzz, type FuzzResult } from './fuzzer.js';
import { fmt, fmtInt, hardTimeout, intFlag, killAll, printHelp, say, startServer, stopServer, table, transportsFlag } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    transports: { type: 'string', default: 'uws,ws' },
    frames: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    'database-url': { type: 'string' },
    'timeout-s': { type: 'string', default: '7200' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  printHelp(import.meta.url);
  process.exit(0);
}
const TRANSPORTS = transportsFlag(flags.transports);
const FRAMES = intFlag('frames', flags.frames, 1);
const CONNECTIONS = intFlag('connections', flags.connections, 2);
const SEED = intFlag('seed', flags.seed, 0);
const timeout = hardTimeout(intFlag('timeout-s', flags['timeout-s'], 1), () => say('bench: hard timeout'));

const rows: string[][] = [];
let failed = false;
try {
  for (const transport of TRANSPORTS) {
    const server = await startServer({
      transport,
      args: ['--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000', '--auth-timeout-ms', '3600000', ...(flags['database-url'] ? ['--database-url', flags['database-url']] : [])],
    });
    say(`${transport}: node on port ${server.port} (${server.transport}); sending ${fmtInt(FRAMES)} frames over ${CONNECTIONS} connections`);
    let crashed = false;
    void server.exited.then(() => (crashed = true));
    let r: FuzzResult;
    try {
      r = await fuzz({ url: server.url, frames: FRAMES, connections: CONNECTIONS, seed: SEED, progress: (n) => say(`  ${fmtInt(n)} frames`) });
    } catch (err) {
      // The node went away under the fuzzer (its connections could not reopen).
      if (!crashed) throw err;
      r = { frames: 0, seconds: 0, internal: 0, missing: 0, duplicate: 0, closed: 0, samples: [String(err)] };
    }
    const crashes = crashed ? 1 : 0;
    const ended = crashes ? 'crashed' : await stopServer(server);
    for (const s of r.samples) say(`  ${s}`);
    if (crashes) say(`  the node ended: ${server.output.slice(-10).join('\n  ')}`);
    if (crashes || r.internal || r.missing || r.duplicate || r.closed) failed = true;
    rows.push([transport, fmtInt(r.frames), fmt(r.seconds, 0), fmtInt(r.frames / r.seconds), String(crashes), String(r.internal), String(r.missing), String(r.duplicate), String(r.closed), ended]);
  }
} finally {
  timeout.clear();
  killAll();
}
say();
say(table(['transport', 'frames', 's', 'frames/s', 'crashes', 'INTERNAL', 'missing', 'duplicate', 'closed', 'node'], rows));
process.exit(failed ? 1 : 0);
