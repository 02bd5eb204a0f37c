/** bench:games' flags (games.ts documents them), output and helpers shared by its parts. */
import { parseArgs } from 'node:util';
import {
  fmt,
  intFlag,
  transportFlag,
  numFlag,
  pct,
  printHelp,
  say,
  startProfile,
  startServer,
  stopServer,
  summarizeProfile,
  quietBudget,
  settle,
  waitQuiet,
  type ServerProc,
} from './lib.js';

export const { values: flags } = parseArgs({
  options: {
    parts: { type: 'string', default: '1,2,3' },
    transport: { type: 'string', default: 'uws' },
    clients: { type: 'string', default: '200' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'list-sizes': { type: 'string', default: '10000,100000' },
    'list-samples': { type: 'string', default: '3000' },
    'live-games': { type: 'string', default: '10000' },
    'live-concurrency': { type: 'string', default: '200' },
    'live-samples': { type: 'string', default: '1000' },
    subscribers: { type: 'string', default: '1000' },
    'change-rate': { type: 'string', default: '20' },
    'change-duration': { type: 'string', default: '8' },
    'change-warmup': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '900' },
    'wait-quiet': { type: 'string', default: '240' },
    attempts: { type: 'string', default: '2' },
    'cpu-prof': { type: 'boolean', default: false },
    'server-output': { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'server-arg': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  printHelp(new URL('./games.js', import.meta.url).href);
  process.exit(0);
}
export const PARTS = new Set(flags.parts.split(',').map((s) => s.trim()));
export const TRANSPORT = transportFlag(flags.transport);
export const K = Math.max(2, intFlag('clients', flags.clients, 2) & ~1);
export const DURATION_S = numFlag('duration', flags.duration, 0.5);
export const WARMUP_S = numFlag('warmup', flags.warmup, 0);
export const LIST_SIZES = flags['list-sizes'].split(',').map((s) => intFlag('list-sizes', s.trim(), 1));
export const LIST_SAMPLES = intFlag('list-samples', flags['list-samples'], 10);
export const LIVE_GAMES = flags['live-games'].split(',').map((s) => intFlag('live-games', s.trim(), 0)).filter((n) => n > 0);
export const LIVE_CONCURRENCY = intFlag('live-concurrency', flags['live-concurrency'], 1);
export const LIVE_SAMPLES = intFlag('live-samples', flags['live-samples'], 10);
export const SUBSCRIBERS = intFlag('subscribers', flags.subscribers, 1);
export const CHANGE_RATE = numFlag('change-rate', flags['change-rate'], 0.1);
export const CHANGE_DURATION_S = numFlag('change-duration', flags['change-duration'], 1);
export const CHANGE_WARMUP = intFlag('change-warmup', flags['change-warmup'], 0);
export const TIMEOUT_S = intFlag('timeout-s', flags['timeout-s'], 10);
export const PROFILE = flags['cpu-prof'];
export const WAIT_QUIET_S = intFlag('wait-quiet', flags['wait-quiet'], 0);
export const ATTEMPTS = intFlag('attempts', flags.attempts, 1);
quietBudget.left = WAIT_QUIET_S;
/** Before each measurement: wait (bounded) for other processes to leave the CPU alone, and note it if they do not. */
export async function quiet(label: string): Promise<void> {
  if (WAIT_QUIET_S === 0) return;
  const other = await waitQuiet(60, 0.25, (l) => say(`[${label}] ${l}`));
  if (other >= 0.25) notes.push(`${label}: other processes used ${pct(other)} of a core when the measurement started`);
}

/**
 * Runs a measurement after waiting for a quiet machine, again (up to
 * --attempts) while other processes use ≥ 25% of a core during it, and keeps
 * the quietest run; `note` says which run it was when there were several.
 */
export async function attempts<T extends { other: number }>(label: string, measure: (attempt: number) => Promise<T>): Promise<T & { note: string }> {
  let best: T | undefined;
  let bestAt = 0;
  let runs = 0;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    await quiet(label);
    const r = await measure(attempt);
    runs = attempt;
    if (!best || r.other < best.other) (best = r), (bestAt = attempt);
    if (r.other < 0.25) break;
    say(`[${label}] other processes used ${pct(r.other)} of a core during run ${attempt}${attempt < ATTEMPTS ? '; running it again' : ''}`);
  }
  if (best!.other >= 0.25) notes.push(`${label}: other processes used ${pct(best!.other)} of a core even in the quietest of ${runs} runs: its numbers are disturbed`);
  return { ...best!, note: runs > 1 ? ` (run ${bestAt} of ${runs}: the quietest)` : '' };
}

/** Generous request limits (the bench measures capacity, not the limits) and a grace long enough that disconnected owners keep their games. */
export const SERVER_ARGS = ['--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000', '--reconnect-grace-ms', '86400000', '--auth-timeout-ms', '600000'];

export const notes: string[] = [];
export const printed: string[] = [];
/** Prints now and keeps it for the final recap (and for the hard timeout). */
export const out = (s = '') => {
  say(s);
  printed.push(s);
};

export async function withServer<T>(label: string, fn: (s: ServerProc) => Promise<T>): Promise<T> {
  const server = await startServer({
    transport: TRANSPORT,
    args: [...SERVER_ARGS, ...(flags['server-arg'] ?? [])],
    nodeArgs: flags['node-arg'] ?? [],
    inspect: PROFILE,
    ...(flags['server-output'] ? { echo: (l: string) => say(`  [server] ${l}`) } : {}),
  });
  say(`[${label}] server pid ${server.pid}, port ${server.port}, transport ${server.transport}${server.transport !== TRANSPORT ? ' — FELL BACK: the uWS binding did not load' : ''}`);
  if (server.transport !== TRANSPORT) notes.push(`${label}: the server fell back to ${server.transport}`);
  try {
    const idle = await settle(server);
    if (!idle.settled) say(`[${label}] the server is still busy ${fmt(idle.ms / 1000, 0)} s after it started listening; going on`);
    return await fn(server);
  } finally {
    const stopped = await stopServer(server);
    say(`[${label}] server ${stopped}`);
    if (!stopped.startsWith('exited 0')) notes.push(`${label}: server ${stopped}`);
  }
}

/** With --cpu-prof: profiles the server from now until the returned function is called, then prints the summary. */
export async function profile(server: ServerProc, label: string): Promise<() => Promise<void>> {
  if (!PROFILE) return async () => {};
  const p = await startProfile(server, label);
  return async () => {
    const file = await p.stop();
    profiles.push(`[${label}] server CPU profile over the measured window:`, ...summarizeProfile(file).map((l) => `  ${l}`));
  };
}
export const profiles: string[] = [];

/** Rows of the targets table printed at the end. */
export const summary: string[][] = [];
