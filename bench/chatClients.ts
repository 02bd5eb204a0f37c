/**
 * The client side of `npm run bench:chat`, run by bench/chat.ts as a child
 * process (child_process.fork, IPC channel) so the clients have their own
 * event loop. All clients live in this one process, so the send timestamp in
 * each chat line and the arrival time are read from the same clock.
 *
 * Steps, each reported to the parent:
 *   connected  N clients opened and logged in as guests;
 *   ready      games of `group`: one client creates, the others join (timed);
 *   warmed     after the parent's "warm": one unmeasured chat line each (the
 *              server reads each user's chat ban from storage at the first line);
 *   started    after the parent's "go": every client sends a chat line each
 *              `interval` ms, the N clients staggered evenly over the interval;
 *   sent       the last line went out;
 *   result     deliveries drained (or a timeout): counts and latencies.
 * Another "go" runs another round (the parent repeats a round that other
 * processes disturbed); "close" closes every client and exits.
 *
 * Arguments: --url ws://… --clients N --group 10 --duration S --interval MS
 * --concurrency C --sources K
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { LobbyClient } from '@foyer/client-sdk';
import { Errors, Samples, closeClients, intFlag, numFlag, openClients, pool, sleep, socketClasses, stats, type Stats } from './lib.js';

/** What this process tells the parent. */
export type ChatChildMessage =
  | { type: 'connected'; clients: number; secs: number; failed: number; errors: string }
  | { type: 'ready'; games: number; creates: number; joins: number; joinSecs: number; join: Stats; failed: number; errors: string }
  | { type: 'warmed' }
  | { type: 'started' }
  | { type: 'sent'; sends: number; secs: number; lag: Stats }
  | {
      type: 'result';
      sends: number;
      ok: number;
      refused: Record<string, number>;
      reply: Stats;
      expected: number;
      deliveries: number;
      toOthers: number;
      echoes: number;
      latency: Stats;
      /** From the send to the server's `at` stamp, and from it to the arrival (system clock, ms resolution). */
      up: Stats;
      down: Stats;
      drainMs: number;
      /** Lines of an earlier round that arrived during this one. */
      stale: number;
      closedByServer: number;
    };
/** What the parent tells this process. */
export type ChatParentMessage = { type: 'warm' } | { type: 'go' } | { type: 'close' };

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    clients: { type: 'string', default: '2000' },
    group: { type: 'string', default: '10' },
    duration: { type: 'string', default: '15' },
    interval: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '200' },
    sources: { type: 'string', default: '1' },
  },
  strict: true,
});
if (!args.url || !process.send) {
  process.stderr.write('chatClients: run by bench/chat.js (needs --url and an IPC channel)\n');
  process.exit(2);
}
const URL_ = args.url;
const N = intFlag('clients', args.clients, 2);
const GROUP = intFlag('group', args.group, 2);
const DURATION_MS = numFlag('duration', args.duration, 0.5) * 1000;
const INTERVAL_MS = numFlag('interval', args.interval, 1);
const CONCURRENCY = intFlag('concurrency', args.concurrency, 1);
const SOURCES = intFlag('sources', args.sources, 1);

const tell = (m: ChatChildMessage) => process.send!(m);
const inbox: ChatParentMessage[] = [];
const waiters: (() => void)[] = [];
process.on('message', (m: ChatParentMessage) => {
  inbox.push(m);
  waiters.splice(0).forEach((w) => w());
});
// The parent went away: nothing left to do.
process.on('disconnect', () => process.exit(1));
async function next(): Promise<ChatParentMessage> {
  for (;;) {
    const m = inbox.shift();
    if (m) return m;
    await new Promise<void>((r) => waiters.push(r));
  }
}

// 1. Clients.
const opened = await openClients(URL_, N, { concurrency: CONCURRENCY, sockets: socketClasses(SOURCES), name: (i) => `chat-${i}` });
const clients = opened.clients;
tell({ type: 'connected', clients: clients.length, secs: opened.secs, failed: opened.errors.count, errors: opened.errors.toString() });
const n = clients.length;

let closedByServer = 0;
for (const c of clients) c.onState((s) => s === 'closed' && closedByServer++);

// 2. Games of GROUP: the first of each group creates, the others join.
const groups: LobbyClient[][] = [];
for (let i = 0; i < n; i += GROUP) groups.push(clients.slice(i, i + GROUP));
const gameIds: string[] = new Array(groups.length);
const setupErrors = new Errors();
await pool(groups.length, CONCURRENCY, async (g) => {
  try {
    gameIds[g] = (await groups[g]![0]!.call('game.create', { name: `chat ${g}`, gameType: 'chat', maxPlayers: GROUP })).game.id;
  } catch (err) {
    setupErrors.add(err);
  }
});
const joiners: [LobbyClient, string][] = [];
for (let g = 0; g < groups.length; g++) if (gameIds[g]) for (const c of groups[g]!.slice(1)) joiners.push([c, gameIds[g]!]);
const joinLat = new Float64Array(joiners.length).fill(NaN);
const j0 = performance.now();
await pool(joiners.length, CONCURRENCY, async (k) => {
  const [c, gameId] = joiners[k]!;
  const t = performance.now();
  try {
    await c.call('game.join', { gameId });
    joinLat[k] = performance.now() - t;
  } catch (err) {
    setupErrors.add(err);
  }
});
const joinSecs = (performance.now() - j0) / 1000;
const joined = joinLat.filter((v) => !Number.isNaN(v)).length;
// Each client's game size (for the expected deliveries: every member, the sender included, gets each line).
const groupSize = new Uint16Array(n);
for (let g = 0, i = 0; g < groups.length; g++) for (const _ of groups[g]!) groupSize[i++] = gameIds[g] ? groups[g]!.length : 0;

tell({
  type: 'ready',
  games: gameIds.filter(Boolean).length,
  creates: gameIds.filter(Boolean).length,
  joins: joined,
  joinSecs,
  join: stats(joinLat),
  failed: setupErrors.count,
  errors: setupErrors.toString(),
});

// 3. Chat, in rounds: the parent may ask for another round (when other processes disturbed one).
let latency = new Samples(Math.ceil((DURATION_MS / INTERVAL_MS) * n * GROUP * 1.05));
let up = new Samples(latency.length);
let down = new Samples(latency.length);
let deliveries = 0;
let echoes = 0;
/** Lines of an earlier round that arrived during this one (a disturbed round that did not drain). */
let stale = 0;
let roundNo = 0;
clients.forEach((c, me) => {
  c.on('chat.message', (d) => {
    const t = performance.now();
    // "<send time ms> <sender index> <round>"
    const [sentAt, from, r] = d.text.split(' ');
    if (Number(r) !== roundNo) return void stale++;
    deliveries++;
    latency.push(t - Number(sentAt));
    // The server stamps `at` (Date.now()) when it handles the line: the system clock both processes read,
    // to the millisecond. It splits the latency into the way up (to the handler) and the way down.
    up.push(d.at - (performance.timeOrigin + Number(sentAt)));
    down.push(performance.timeOrigin + t - d.at);
    if (Number(from) === me) echoes++;
  });
});

// One unmeasured line each (round 0), so that what the server does at a user's first line
// (it reads the user's chat ban from storage once per session) stays out of the measured rounds.
async function warmUp(): Promise<void> {
  await pool(n, CONCURRENCY, async (i) => {
    if (groupSize[i]) await clients[i]!.call('chat.send', { channel: 'game', text: `0 ${i} 0` }).catch(() => {});
  });
  await sleep(500);
}


async function round(): Promise<void> {
  latency = new Samples(latency.length || 1024);
  up = new Samples(latency.length || 1024);
  down = new Samples(latency.length || 1024);
  deliveries = 0;
  echoes = 0;
  stale = 0;
  roundNo++;
  const rounds = Math.max(1, Math.floor(DURATION_MS / INTERVAL_MS));
  const total = n * rounds;
  const spacing = INTERVAL_MS / n; // sends are evenly spread: send j goes out at start + j·spacing
  const lag = new Float64Array(total);
  const reply = new Samples(total);
  const refused = new Map<string, number>();
  let sent = 0;
  let settled = 0;
  let ok = 0;
  let expected = 0;
  let acceptedExpected = 0;
  const start = performance.now() + 20;
  await sleep(Math.max(0, start - performance.now()));
  tell({ type: 'started' });
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = performance.now();
      const due = Math.min(total, Math.floor((t - start) / spacing) + 1);
      while (sent < due) {
        const j = sent++;
        const i = j % n;
        const c = clients[i]!;
        if (!groupSize[i]) {
          settled++;
          continue;
        }
        expected += groupSize[i]!;
        const ts = performance.now();
        lag[j] = ts - (start + j * spacing);
        c.call('chat.send', { channel: 'game', text: `${ts.toFixed(3)} ${i} ${roundNo}` }).then(
          () => {
            ok++;
            acceptedExpected += groupSize[i]!;
            reply.push(performance.now() - ts);
            settled++;
          },
          (err: { code?: string }) => {
            const code = err.code ?? 'ERROR';
            refused.set(code, (refused.get(code) ?? 0) + 1);
            settled++;
          },
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sendSecs = (performance.now() - start) / 1000;
  tell({ type: 'sent', sends: total, secs: sendSecs, lag: stats(lag) });

  // Drain: every reply, and every delivery of the lines the server accepted (refused ones are not delivered).
  const d0 = performance.now();
  while (performance.now() - d0 < 30_000 && (settled < total || deliveries < acceptedExpected)) await sleep(10);
  const drainMs = performance.now() - d0;
  tell({
    type: 'result',
    sends: total,
    ok,
    refused: Object.fromEntries(refused),
    reply: stats(reply.values()),
    expected,
    deliveries,
    toOthers: deliveries - echoes,
    echoes,
    latency: stats(latency.values()),
    up: stats(up.values()),
    down: stats(down.values()),
    drainMs,
    stale,
    closedByServer,
  });
}

for (;;) {
  const m = await next();
  if (m.type === 'close') break;
  if (m.type === 'warm') {
    await warmUp();
    tell({ type: 'warmed' });
  } else await round();
}
await closeClients(clients);
process.exit(0);
