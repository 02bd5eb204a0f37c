/**
 * `npm run bench:connect`: how many authenticated sessions a lobby node
 * holds, what each costs in server memory, and how fast it answers.
 *
 * For each transport a lobby node runs as its own process (the built
 * server/dist/main.js, with the node flags and environment `npm start` gives
 * it: bench/lib/server.ts SHIPPED) on loopback; this process is the load generator and
 * drives it with the real client SDK (LobbyClient over `ws`):
 *   1. open N connections, each logging in with auth.guest (bounded concurrency);
 *   2. read the server's RSS (/proc/<pid>/status) before and after;
 *   3. session.ping round trips: flat out (N×M pings, bounded in flight), then
 *      paced at a fixed rate, open loop, spread round-robin over every
 *      connection, for one whole heartbeat interval (15 s): the table shows
 *      the first seconds (steady) and the whole interval, heartbeat pings
 *      included. A server that pings every connection in one sweep gets the
 *      steady window aligned right after a sweep and the run carried through
 *      the next one; one that spreads its pings needs no alignment. A probe
 *      connection in its own thread pings lightly all along, to tell server
 *      stalls from this process's own;
 *   4. close every client, SIGTERM the node and wait for it to exit.
 *
 * Flags (npm run bench:connect -- --flag value):
 *   --connections N        sessions to open (10000)
 *   --in-games R           each session also sits in a game of R (client i in game ⌊i/R⌋, made by the
 *                          first of its group, the others join): memory per session in a game (0: none)
 *   --requests M           pings per connection in the flat-out run (10)
 *   --inflight K           pings in flight in the flat-out run (100)
 *   --rate R               paced requests/s (10000)
 *   --duration-s S         steady paced window (5)
 *   --skip-heartbeat       paced run only --duration-s long: no heartbeat alignment or whole interval
 *   --transports uws,ws    which transports, in order
 *   --connect-concurrency  connects in flight (200)
 *   --sources K            spread clients over 127.0.0.2..127.0.0.K+1 (0 = auto: only when ports run short)
 *   --timeout-s T          hard limit for the whole run; the server is killed (400)
 *   --settle-ms MS         pause before each RSS reading (1000)
 *   --idle-s S             before the readings at half and all sessions, let them idle S s more (0): an idle
 *                          connection lets go of its rate-limit bucket and request lanes at its next ping (one
 *                          heartbeat interval), a quiet stream its history after the transport's silence limit
 *                          (uws: the heartbeat timeout rounded up to 4 s, plus 4) plus a grace period (up to twice
 *                          that); 170 s covers both at the defaults, 30 s with the heartbeat at 3000/6000 and a 3 s grace
 *   --node-arg ARG         extra node flag for the server (repeatable, after the shipped ones), e.g. --node-arg=--trace-gc
 *   --server-arg ARG       extra server flag (repeatable, for diagnostics), e.g. --server-arg=--heartbeat-interval-ms=60000
 *   --heap-snapshot        write a server heap snapshot once all sessions are in (perturbs later phases)
 *   --skip-gc              do not start the server with --inspect to force a full GC before memory readings
 *   --server-output        echo what the server prints
 *   --timeline             print the paced run per 100 ms (latency, lag, heartbeat pings, CPU)
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fdLimits, hardTimeout, killAll, portRange, printHelp, say, sourcesFor } from './lib.js';
import { printTable, type Result } from './connectReport.js';
import { runTransport, type ConnectConfig } from './connectRun.js';

/**
 * A full GC of this process between phases, so the garbage of one phase is not
 * collected in the middle of the next measurement (no --expose-gc needed).
 */
const selfGc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
})();

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      'in-games': { type: 'string', default: '0' },
      requests: { type: 'string', default: '10' },
      inflight: { type: 'string', default: '100' },
      rate: { type: 'string', default: '10000' },
      'duration-s': { type: 'string', default: '5' },
      'skip-heartbeat': { type: 'boolean', default: false },
      transports: { type: 'string', default: 'uws,ws' },
      'connect-concurrency': { type: 'string', default: '200' },
      sources: { type: 'string', default: '0' },
      'timeout-s': { type: 'string', default: '400' },
      'settle-ms': { type: 'string', default: '1000' },
      'idle-s': { type: 'string', default: '0' },
      'node-arg': { type: 'string', multiple: true, default: [] },
      'server-arg': { type: 'string', multiple: true, default: [] },
      'heap-snapshot': { type: 'boolean', default: false },
      'skip-gc': { type: 'boolean', default: false },
      'server-output': { type: 'boolean', default: false },
      timeline: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (flags.help) {
    printHelp(import.meta.url);
    process.exit(0);
  }
  const int = (name: keyof typeof flags, min: number): number => {
    const v = Number(flags[name]);
    if (!Number.isInteger(v) || v < min) {
      process.stderr.write(`bench: --${name} must be an integer >= ${min} (got ${String(flags[name])})\n`);
      process.exit(2);
    }
    return v;
  };
  const N = int('connections', 1);
  const IN_GAMES = int('in-games', 0);
  const M = int('requests', 0);
  const INFLIGHT = int('inflight', 1);
  const RATE = int('rate', 1);
  const DURATION_S = int('duration-s', 1);
  const CONNECT_CONCURRENCY = int('connect-concurrency', 1);
  const TIMEOUT_S = int('timeout-s', 10);
  const SETTLE_MS = int('settle-ms', 0);
  const IDLE_S = int('idle-s', 0);
  const HEARTBEAT = !flags['skip-heartbeat'];
  const GC = !flags['skip-gc'];
  const SERVER_ARGS = flags['server-arg'] ?? [];
  // The server's heartbeat interval: its default unless a --server-arg or the environment sets it.
  const hbArg = SERVER_ARGS.map((a, i) => (a.startsWith('--heartbeat-interval-ms=') ? a.split('=')[1] : a === '--heartbeat-interval-ms' ? SERVER_ARGS[i + 1] : undefined)).find((v) => v !== undefined);
  const HEARTBEAT_MS = Number(hbArg ?? process.env.FOYER_HEARTBEAT_INTERVAL_MS ?? 15_000) || 15_000;
  const TRANSPORTS = flags.transports.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of TRANSPORTS) {
    if (t !== 'uws' && t !== 'ws') {
      process.stderr.write(`bench: unknown transport "${t}" (uws, ws)\n`);
      process.exit(2);
    }
  }

  // ---- environment: file descriptors, ephemeral ports, CPUs ----

  const cores = availableParallelism();
  const fds = fdLimits();
  // The client sockets live in this process and the server's in its own; each
  // needs one fd per connection plus slack, under the same (inherited) limit.
  const FD_NEEDED = N + 512;
  const FD_COMFORTABLE = 25_000;
  const ports = portRange();
  const SOURCES = Number(flags.sources) > 0 ? int('sources', 1) : sourcesFor(N);
  const notes: string[] = [];

  say(
    `Foyer bench:connect — ${N} sessions${IN_GAMES > 0 ? `, each in a game of ${IN_GAMES}` : ''}; flat out ${M} pings/conn (${INFLIGHT} in flight); paced ${RATE} req/s ` +
      `(${DURATION_S} s steady${HEARTBEAT ? ', on to one whole heartbeat interval' : ''}); transports ${TRANSPORTS.join(',')}` +
      (IDLE_S ? `; memory read after ${IDLE_S} s idle` : ''),
  );
  say(
    `machine: ${cores} CPU core(s), node ${process.version}; open files limit (ulimit -n) soft=${fds?.soft ?? '?'} hard=${fds?.hard ?? '?'}; ` +
      `ephemeral ports ${ports}; clients connect from ${SOURCES === 1 ? '127.0.0.1' : `127.0.0.2..127.0.0.${SOURCES + 1}`}`,
  );
  const raiseTo = fds ? Math.min(fds.hard, Math.max(65_536, FD_NEEDED)) : 65_536;
  const canRaise = fds !== undefined && fds.hard > fds.soft;
  const howToRaise =
    (canRaise ? `run \`ulimit -n ${raiseTo}\` in the shell first (the server inherits it)` : `the hard limit is ${fds?.hard} as well, so raise that first`) +
    (fds && fds.hard < Math.max(65_536, FD_NEEDED)
      ? ' (/etc/security/limits.conf, systemd LimitNOFILE=, or docker run --ulimit nofile=65536:65536), then `ulimit -n 65536`'
      : '');
  if (fds && fds.soft < FD_NEEDED) {
    process.stderr.write(
      `\nbench: ulimit -n is ${fds.soft}, too low for ${N} connections: this process and the server each need about ${FD_NEEDED} file descriptors.\n` +
        `  Node cannot raise its own limit: ${howToRaise},\n  or run fewer: npm run bench:connect -- --connections ${Math.max(1, fds.soft - 512)}\n`,
    );
    process.exit(2);
  }
  if (fds && fds.soft < FD_COMFORTABLE) {
    const hint = `HINT: ulimit -n is ${fds.soft} (< ${FD_COMFORTABLE}): enough for ${N} sessions, but each process runs out above ~${fds.soft - 512}. Node cannot raise it itself: ${howToRaise}.`;
    say(hint);
    notes.push(hint);
  }
  notes.push(
    `the load generator (this process: the real LobbyClient over ws, one main thread, plus a 1-connection probe thread) runs on the same ${cores}-core machine ` +
      'as the server and competes with it for CPU. Flat-out rt/s is a lower bound for the server (see "server alone ≈", scaled by the server\'s CPU share); ' +
      'latencies include this process\'s queueing (the probe shows the server\'s side).',
  );
  say('');

  const cfg: ConnectConfig = {
    N, M, INFLIGHT, RATE, DURATION_S, CONNECT_CONCURRENCY, SETTLE_MS, IDLE_S, HEARTBEAT, GC, SERVER_ARGS, HEARTBEAT_MS, SOURCES, IN_GAMES,
    flags: { 'heap-snapshot': flags['heap-snapshot'], 'node-arg': flags['node-arg'] ?? [], 'server-output': flags['server-output'], timeline: flags.timeline },
  };
  const results: Result[] = [];
  // The hard overall bound: whatever hangs, the server dies and the bench exits.
  const hard = hardTimeout(TIMEOUT_S, () => printTable(cfg, results, notes));

  let failed = false;
  for (const t of TRANSPORTS) {
    try {
      await runTransport(cfg, t, results, notes, selfGc);
    } catch (err) {
      failed = true;
      process.stderr.write(`[${t}] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      killAll();
    }
  }
  hard.clear();
  printTable(cfg, results, notes);
  const bad = results.some((r) => r.errors.length || !r.stopped.startsWith('exited 0'));
  process.exit(failed || bad ? 1 : 0);
}

await main();
