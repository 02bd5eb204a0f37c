/**
 * `npm run bench:chat`: game chat at scale — what a lobby node spends (CPU,
 * memory) to carry it and how fast lines arrive.
 *
 * For each transport a lobby node runs as its own process (the built
 * server/dist/main.js on loopback, chat limits raised so that nothing is
 * refused: --chat-per-sec 10 --chat-burst 20 --rate-limit-per-sec 1000
 * --rate-limit-burst 1000). The clients run in a separate process
 * (bench/chatClients.ts, forked) with the real client SDK:
 *   1. N clients connect and log in as guests;
 *   2. they form games of 10: one creates, 9 join (the joins are timed);
 *   3. one unmeasured chat line each (the server reads a user's chat ban from
 *      storage at the first line of a session), then
 *      every client sends a chat line every 500 ms, the N clients staggered
 *      evenly, for 15 s; each line carries its send time (same process, same
 *      clock), every receiver (the 9 others and the sender's echo) computes
 *      the delivery latency;
 * while this process reads the server's CPU (/proc/PID/stat over the send
 * window), its RSS before the clients, after the set-up and after the chat,
 * and its /metrics (events delivered, chat.send outcomes).
 *
 * Flags (npm run bench:chat -- --flag value):
 *   --transports uws,ws    which transports, in order
 *   --clients N            clients (2000)
 *   --group G              players per game (10)
 *   --duration S           chat seconds (15)
 *   --interval MS          each client's chat period (500)
 *   --concurrency C        connects/joins in flight (200)
 *   --sources K            spread clients over 127.0.0.2..K+1 (0 = auto: only when ports run short)
 *   --timeout-s T          hard limit for the whole run; every child process is killed (900)
 *   --wait-quiet S         before each chat round wait (up to 60 s) for other processes to leave the CPU;
 *                          S is the budget for all such waits of the run (240; 0 = no waiting)
 *   --attempts A           rerun the chat window (same clients) up to A times while other processes use
 *                          ≥ 25% of a core during it; the quietest round counts (2)
 *   --settle-ms MS         pause before each RSS reading (1000)
 *   --skip-gc              no forced full GC before the memory readings (the server runs with --inspect for it)
 *   --cpu-prof             profile the server over the chat window and print its top self-time functions
 *   --server-output        echo what the server prints
 *   --node-arg ARG         extra node flag for the server (repeatable), e.g. --node-arg=--trace-gc
 *   --server-arg ARG       extra server flag (repeatable), e.g. --server-arg=--resume-buffer-events --server-arg=50
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChatChildMessage, ChatParentMessage } from './chatClients.js';
import {
  MiB,
  cpuBetween,
  cpuSnapshot,
  fmt,
  fmtInt,
  hardTimeout,
  intFlag,
  killAll,
  metricSum,
  metricsOf,
  pct,
  printHelp,
  say,
  serverMemory,
  sourcesFor,
  startProfile,
  startServer,
  stopServer,
  summarizeProfile,
  table,
  track,
  transportsFlag,
  gcServer,
  memOf,
  quietBudget,
  runtimeBetween,
  settle,
  waitQuiet,
  type CpuSnapshot,
  type ServerProc,
  type Stats,
} from './lib.js';

const CHAT_CLIENTS = fileURLToPath(new URL('./chatClients.js', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    transports: { type: 'string', default: 'uws,ws' },
    clients: { type: 'string', default: '2000' },
    group: { type: 'string', default: '10' },
    duration: { type: 'string', default: '15' },
    interval: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '200' },
    sources: { type: 'string', default: '0' },
    'timeout-s': { type: 'string', default: '900' },
    'wait-quiet': { type: 'string', default: '240' },
    attempts: { type: 'string', default: '2' },
    'settle-ms': { type: 'string', default: '1000' },
    'skip-gc': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'server-output': { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'server-arg': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  printHelp(import.meta.url);
  process.exit(0);
}
const TRANSPORTS = transportsFlag(flags.transports);
const N = intFlag('clients', flags.clients, 2);
const GROUP = intFlag('group', flags.group, 2);
const DURATION_S = intFlag('duration', flags.duration, 1);
const INTERVAL_MS = intFlag('interval', flags.interval, 1);
const CONCURRENCY = intFlag('concurrency', flags.concurrency, 1);
const SOURCES = Number(flags.sources) > 0 ? intFlag('sources', flags.sources, 1) : sourcesFor(N);
const TIMEOUT_S = intFlag('timeout-s', flags['timeout-s'], 10);
const WAIT_QUIET_S = intFlag('wait-quiet', flags['wait-quiet'], 0);
const SETTLE_MS = intFlag('settle-ms', flags['settle-ms'], 0);
const GC = !flags['skip-gc'];
const PROFILE = flags['cpu-prof'];
const ATTEMPTS = intFlag('attempts', flags.attempts, 1);
const MAX_OTHER = 0.25;
quietBudget.left = WAIT_QUIET_S;
const SERVER_ARGS = ['--chat-per-sec', '10', '--chat-burst', '20', '--rate-limit-per-sec', '1000', '--rate-limit-burst', '1000'];

interface Result {
  transport: string;
  actual: string;
  connected?: Extract<ChatChildMessage, { type: 'connected' }>;
  ready?: Extract<ChatChildMessage, { type: 'ready' }>;
  sent?: Extract<ChatChildMessage, { type: 'sent' }>;
  result?: Extract<ChatChildMessage, { type: 'result' }>;
  cpu?: { server: number; serverUser: number; serverSys: number; clients: number; bench: number; other: number; secs: number };
  heapBefore: number;
  heapSetup: number;
  heapAfter: number;
  rssBefore: number;
  rssBeforeGc: number;
  rssSetup: number;
  rssSetupGc: number;
  rssAfter: number;
  rssAfterGc: number;
  serverEvents: number;
  serverChatOk: number;
  serverChatRefused: number;
  errors: string[];
  stopped: string;
  profile?: string[] | undefined;
  runtime?: ReturnType<typeof runtimeBetween>;
  /** Which chat round the figures come from, of how many. */
  round?: number;
  rounds?: number;
}

const results: Result[] = [];
const notes: string[] = [];

/** Messages from the client process, awaited by type. */
class ChildLink {
  private readonly inbox: ChatChildMessage[] = [];
  private waiters: (() => void)[] = [];
  exitedWith: string | undefined;
  readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: ChatChildMessage) => {
      this.inbox.push(m);
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitedWith = `code ${code}, signal ${signal}`;
        this.wake();
        resolve();
      }),
    );
  }
  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
  send(m: ChatParentMessage): void {
    this.child.send(m);
  }
  async next<T extends ChatChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChatChildMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<ChatChildMessage, { type: T }>;
      if (this.exitedWith) throw new Error(`the client process exited (${this.exitedWith}) before "${type}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the client process did not report "${type}" within ${timeoutMs / 1000} s`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }
}

async function runTransport(transport: string): Promise<void> {
  const log = (s: string) => say(`[${transport}] ${s}`);
  const server: ServerProc = await startServer({
    transport,
    args: [...SERVER_ARGS, ...(flags['server-arg'] ?? [])],
    nodeArgs: flags['node-arg'] ?? [],
    inspect: GC || PROFILE,
    ...(flags['server-output'] ? { echo: (l: string) => say(`  [server ${transport}] ${l}`) } : {}),
  });
  log(`server pid ${server.pid}, port ${server.port}, transport ${server.transport}${server.transport !== transport ? ' — FELL BACK: the uWS binding did not load' : ''}`);
  const r: Result = {
    transport,
    actual: server.transport,
    rssBefore: NaN,
    rssBeforeGc: NaN,
    rssSetup: NaN,
    rssSetupGc: NaN,
    rssAfter: NaN,
    rssAfterGc: NaN,
    heapBefore: NaN,
    heapSetup: NaN,
    heapAfter: NaN,
    serverEvents: NaN,
    serverChatOk: NaN,
    serverChatRefused: NaN,
    errors: [],
    stopped: '',
  };
  results.push(r);
  let link: ChildLink | undefined;
  try {
    const idle = await settle(server);
    log(`server ${idle.settled ? 'idle' : 'STILL BUSY'} after ${fmt(idle.ms / 1000, 1)} s (RSS ${fmt(memOf(server.pid).rss / MiB)} MiB)`);
    if (!idle.settled) notes.push(`${transport}: the server was still busy ${fmt(idle.ms / 1000, 0)} s after it started listening; its "before" memory reading is rough`);
    // The node's start-up leaves garbage (hundreds of MiB with its embedded database) that is not the clients':
    // collect it before the "before" reading, so the raw readings compare like with like.
    if (GC) await gcServer(server);
    const before = await serverMemory(server, SETTLE_MS, GC);
    r.rssBefore = before.rss;
    r.rssBeforeGc = before.rssGc;
    r.heapBefore = metricSum(await metricsOf(server.port), 'foyer_nodejs_heap_size_used_bytes');

    const child = track(
      fork(
        CHAT_CLIENTS,
        ['--url', server.url, '--clients', String(N), '--group', String(GROUP), '--duration', String(DURATION_S), '--interval', String(INTERVAL_MS), '--concurrency', String(CONCURRENCY), '--sources', String(SOURCES)],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      ),
    );
    link = new ChildLink(child);
    const setupMs = 120_000 + N * 20;

    r.connected = await link.next('connected', setupMs);
    log(
      `${fmtInt(r.connected.clients)}/${fmtInt(N)} clients logged in in ${fmt(r.connected.secs, 2)} s (${fmtInt(r.connected.clients / r.connected.secs)}/s)` +
        (r.connected.failed ? `; ${r.connected.failed} FAILED: ${r.connected.errors}` : ''),
    );
    if (r.connected.failed) r.errors.push(`${r.connected.failed} logins failed: ${r.connected.errors}`);
    r.ready = await link.next('ready', setupMs);
    log(
      `${r.ready.games} games of ${GROUP}: ${fmtInt(r.ready.joins)} joins in ${fmt(r.ready.joinSecs, 2)} s = ${fmtInt(r.ready.joins / r.ready.joinSecs)} joins/s ` +
        `(join p50 ${fmt(r.ready.join.p50, 2)} / p99 ${fmt(r.ready.join.p99, 2)} ms, ${CONCURRENCY} in flight)` +
        (r.ready.failed ? `; ${r.ready.failed} FAILED: ${r.ready.errors}` : ''),
    );
    if (r.ready.failed) r.errors.push(`${r.ready.failed} creates/joins failed: ${r.ready.errors}`);

    const setup = await serverMemory(server, SETTLE_MS, GC);
    r.rssSetup = setup.rss;
    r.rssSetupGc = setup.rssGc;
    r.heapSetup = metricSum(await metricsOf(server.port), 'foyer_nodejs_heap_size_used_bytes');
    const clients = r.connected.clients;
    log(
      `server RSS ${fmt(r.rssBefore / MiB)} → ${fmt(r.rssSetup / MiB)} MiB: ${fmt((r.rssSetup - r.rssBefore) / 1024 / clients, 2)} KiB/client` +
        (GC ? ` (after a full GC ${fmt(r.rssBeforeGc / MiB)} → ${fmt(r.rssSetupGc / MiB)} MiB: ${fmt((r.rssSetupGc - r.rssBeforeGc) / 1024 / clients, 2)} KiB/client)` : '') +
        `; V8 heap used ${fmt(r.heapBefore / MiB)} → ${fmt(r.heapSetup / MiB)} MiB: ${fmt((r.heapSetup - r.heapBefore) / 1024 / clients, 2)} KiB/client`,
    );

    link.send({ type: 'warm' });
    await link.next('warmed', setupMs);
    // The chat window, repeated (up to --attempts) while other processes disturb it; the quietest round counts.
    const pids = [server.pid, child.pid!, process.pid];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (WAIT_QUIET_S) await waitQuiet(60, MAX_OTHER, log);
      const m0 = await metricsOf(server.port);
      const prof = PROFILE ? await startProfile(server, `chat-${transport}-${attempt}`) : undefined;
      link.send({ type: 'go' });
      await link.next('started', 10_000);
      const cpu0: CpuSnapshot = cpuSnapshot(pids);
      log(`chatting for ${DURATION_S} s (round ${attempt}): ${fmtInt(N)} clients × 1 line / ${INTERVAL_MS} ms…`);
      const sent = await link.next('sent', DURATION_S * 1000 + 60_000);
      const c = cpuBetween(cpu0, cpuSnapshot(pids));
      const cpu = { server: c.procs[0]!, serverUser: c.user[0]!, serverSys: c.sys[0]!, clients: c.procs[1]!, bench: c.procs[2]!, other: c.other, secs: c.secs };
      const profile = prof ? summarizeProfile(await prof.stop()) : undefined;
      const result = await link.next('result', 60_000);
      const m1 = await metricsOf(server.port);
      const chat = (m: Map<string, number>, ...labels: string[]) => metricSum(m, 'foyer_requests_total', 'op="chat.send"', ...labels);
      const refused = Object.entries(result.refused);
      log(
        `round ${attempt}: sent ${fmtInt(result.sends)} lines (${fmtInt(result.ok)} ok${refused.length ? `, REFUSED ${refused.map(([k, v]) => `${v}× ${k}`).join(', ')}` : ', none refused'}); ` +
          `${fmtInt(result.deliveries)}/${fmtInt(result.expected)} deliveries (${fmtInt(result.toOthers)} to others + ${fmtInt(result.echoes)} echoes); ` +
          `latency p50 ${fmt(result.latency.p50, 2)} / p99 ${fmt(result.latency.p99, 2)} / max ${fmt(result.latency.max, 1)} ms; ` +
          `CPU server ${pct(cpu.server)} (user ${pct(cpu.serverUser)}, sys ${pct(cpu.serverSys)}), clients ${pct(cpu.clients)}, other processes ${pct(cpu.other)} of one core`,
      );
      if (!r.cpu || cpu.other < r.cpu.other) {
        Object.assign(r, { sent, cpu, result, profile, round: attempt });
        r.serverEvents = metricSum(m1, 'foyer_events_delivered_total') - metricSum(m0, 'foyer_events_delivered_total');
        r.runtime = runtimeBetween(m0, m1);
        r.serverChatOk = chat(m1, 'outcome="ok"') - chat(m0, 'outcome="ok"');
        r.serverChatRefused = chat(m1) - chat(m0) - r.serverChatOk;
      }
      r.rounds = attempt;
      if (cpu.other < MAX_OTHER) break;
      log(
        `other processes used ${pct(cpu.other)} of a core during round ${attempt}` +
          (attempt < ATTEMPTS ? '; running it again' : `; keeping the quietest of ${ATTEMPTS} rounds (round ${r.round})`),
      );
    }
    if (r.cpu && r.cpu.other >= MAX_OTHER) notes.push(`${transport}: other processes used ${pct(r.cpu.other)} of a core even in the quietest chat round: its numbers are disturbed`);
    const res = r.result!;
    const refused = Object.entries(res.refused);
    if (refused.length) r.errors.push(`chat lines refused: ${refused.map(([k, v]) => `${v}× ${k}`).join(', ')}`);
    if (res.deliveries < res.expected) r.errors.push(`${res.expected - res.deliveries} of ${res.expected} deliveries missing (refused lines included)`);
    if (res.closedByServer) r.errors.push(`${res.closedByServer} clients were closed by the server`);
    const after = await serverMemory(server, 0, GC);
    r.rssAfter = after.rss;
    r.rssAfterGc = after.rssGc;
    // After the forced GC (when there was one): what the chat left behind, not garbage awaiting collection.
    r.heapAfter = metricSum(await metricsOf(server.port), 'foyer_nodejs_heap_size_used_bytes');
    if (res.stale) notes.push(`${transport}: ${res.stale} lines of an earlier (disturbed, undrained) round arrived during the round used; they are not counted`);

    link.send({ type: 'close' });
    await Promise.race([link.exited, new Promise((res) => setTimeout(res, 30_000))]);
    if (!link.exitedWith) child.kill('SIGKILL');
  } catch (err) {
    r.errors.push(err instanceof Error ? err.message : String(err));
    link?.child.kill('SIGKILL');
    throw err;
  } finally {
    r.stopped = await stopServer(server);
    log(`server ${r.stopped}`);
  }
}

function printTable(): void {
  if (!results.length) return;
  const col = (f: (r: Result) => string) => results.map(f);
  const ms = (s: Stats | undefined, k: keyof Stats) => fmt(s?.[k] ?? NaN, 2);
  const kib = (bytes: number, clients: number | undefined) => fmt(bytes / 1024 / (clients ?? NaN), 2);
  const rows: string[][] = [
    ['clients logged in', ...col((r) => fmtInt(r.connected?.clients ?? NaN))],
    ['logins/s', ...col((r) => fmtInt((r.connected?.clients ?? NaN) / (r.connected?.secs ?? NaN)))],
    ['games (one create + joins)', ...col((r) => `${fmtInt(r.ready?.games ?? NaN)} × ${GROUP}`)],
    ['joins/s', ...col((r) => fmtInt((r.ready?.joins ?? NaN) / (r.ready?.joinSecs ?? NaN)))],
    ['join p50 / p99 ms', ...col((r) => `${ms(r.ready?.join, 'p50')} / ${ms(r.ready?.join, 'p99')}`)],
    ['chat round used (of rounds run)', ...col((r) => `${r.round ?? '-'} of ${r.rounds ?? '-'}`)],
    ['chat lines sent (/s)', ...col((r) => `${fmtInt(r.result?.sends ?? NaN)} (${fmtInt((r.result?.sends ?? NaN) / (r.sent?.secs ?? NaN))})`)],
    ['refused (client / server)', ...col((r) => `${fmtInt(Object.values(r.result?.refused ?? {}).reduce((a, b) => a + b, 0))} / ${fmtInt(r.serverChatRefused)}`)],
    ['chat.send reply p50 / p99 ms', ...col((r) => `${ms(r.result?.reply, 'p50')} / ${ms(r.result?.reply, 'p99')}`)],
    ['deliveries received / expected', ...col((r) => `${fmtInt(r.result?.deliveries ?? NaN)} / ${fmtInt(r.result?.expected ?? NaN)}`)],
    ['  to the other players', ...col((r) => fmtInt(r.result?.toOthers ?? NaN))],
    ['  echoes to the sender', ...col((r) => fmtInt(r.result?.echoes ?? NaN))],
    ['events delivered by server (/metrics)', ...col((r) => fmtInt(r.serverEvents))],
    ['deliveries/s', ...col((r) => fmtInt((r.result?.deliveries ?? NaN) / (r.sent?.secs ?? NaN)))],
    ['delivery latency p50 ms', ...col((r) => ms(r.result?.latency, 'p50'))],
    ['delivery latency p99 ms', ...col((r) => ms(r.result?.latency, 'p99'))],
    ['  way up: send → server handles it, p50 / p99 ms', ...col((r) => `${fmt(r.result?.up.p50 ?? NaN, 0)} / ${fmt(r.result?.up.p99 ?? NaN, 0)}`)],
    ['  way down: server handles it → arrival, p50 / p99 ms', ...col((r) => `${fmt(r.result?.down.p50 ?? NaN, 0)} / ${fmt(r.result?.down.p99 ?? NaN, 0)}`)],
    ['delivery latency p99.9 / max ms', ...col((r) => `${ms(r.result?.latency, 'p999')} / ${fmt(r.result?.latency.max ?? NaN, 1)}`)],
    ['send schedule lag p99 ms', ...col((r) => ms(r.sent?.lag, 'p99'))],
    ['server CPU (% of one core)', ...col((r) => pct(r.cpu?.server ?? NaN, 1))],
    ['  user / sys (kernel)', ...col((r) => `${pct(r.cpu?.serverUser ?? NaN, 1)} / ${pct(r.cpu?.serverSys ?? NaN, 1)}`)],
    ['server GC in the window: count / ms (major: count / ms)', ...col((r) => (r.runtime ? `${fmtInt(r.runtime.gcCount)} / ${fmtInt(r.runtime.gcMs)} (${fmtInt(r.runtime.majorCount)} / ${fmtInt(r.runtime.majorMs)})` : '-'))],
    ['server event-loop delay p99 / max ms', ...col((r) => (r.runtime ? `${fmt(r.runtime.lagP99Ms, 0)} / ${fmt(r.runtime.lagMaxMs, 0)}` : '-'))],
    ['client process CPU', ...col((r) => pct(r.cpu?.clients ?? NaN, 1))],
    ['other processes CPU', ...col((r) => pct(r.cpu?.other ?? NaN, 1))],
    ['server RSS before clients MiB (raw / after GC)', ...col((r) => `${fmt(r.rssBefore / MiB)} / ${fmt(r.rssBeforeGc / MiB)}`)],
    ['server RSS after set-up MiB (raw / after GC)', ...col((r) => `${fmt(r.rssSetup / MiB)} / ${fmt(r.rssSetupGc / MiB)}`)],
  ];
  if (GC) rows.push(['RSS per client KiB (both readings after a full GC)', ...col((r) => kib(r.rssSetupGc - r.rssBeforeGc, r.connected?.clients))]);
  rows.push(['RSS per client KiB (raw readings)', ...col((r) => kib(r.rssSetup - r.rssBefore, r.connected?.clients))]);
  rows.push(['  V8 heap used, KiB/client', ...col((r) => kib(r.heapSetup - r.heapBefore, r.connected?.clients))]);
  rows.push(['server RSS after the chat MiB (raw / after GC)', ...col((r) => `${fmt(r.rssAfter / MiB)} / ${fmt(r.rssAfterGc / MiB)}`)]);
  rows.push([`V8 heap used: before / set-up / after chat MiB${GC ? ' (after GC)' : ''}`, ...col((r) => `${fmt(r.heapBefore / MiB)} / ${fmt(r.heapSetup / MiB)} / ${fmt(r.heapAfter / MiB)}`)]);
  const head = ['', ...results.map((r) => (r.actual === r.transport ? r.transport : `${r.transport} (fell back to ${r.actual})`))];
  say(`\n## bench:chat — ${fmtInt(N)} clients in games of ${GROUP}, one line each per ${INTERVAL_MS} ms for ${DURATION_S} s\n`);
  say(table(head, rows));

  const uws = results.find((r) => r.transport === 'uws' && r.actual === 'uws' && r.result);
  if (uws) {
    // After a full GC on both sides when the server could be asked for one: the node's start-up (its embedded
    // database) and the logins leave garbage that makes raw RSS readings swing by more than the clients cost.
    const gcd = Number.isFinite(uws.rssSetupGc - uws.rssBeforeGc);
    const perClient = (gcd ? uws.rssSetupGc - uws.rssBeforeGc : uws.rssSetup - uws.rssBefore) / 1024 / (uws.connected?.clients ?? NaN);
    const check = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    say('\n## uws targets\n');
    say(
      table(
        ['measure', 'value', 'target', ''],
        [
          ['server CPU', pct(uws.cpu!.server, 1), '< 15% of one core', check(uws.cpu!.server < 0.15)],
          ['delivery latency p99', `${fmt(uws.result!.latency.p99, 2)} ms`, '< 15 ms', check(uws.result!.latency.p99 < 15)],
          [`RSS per client${gcd ? ' (readings after a full GC)' : ''}`, `${fmt(perClient, 2)} KiB`, '< 10 KiB', check(perClient < 10)],
        ],
      ),
    );
  }
  for (const r of results) {
    if (r.errors.length) say(`\n${r.transport} ERRORS: ${r.errors.join('; ')}`);
    say(`${r.transport}: server ${r.stopped || 'not stopped'}`);
  }
  notes.push(
    `the client process (${fmtInt(N)} LobbyClients over ws, one thread) shares this ${availableParallelism()}-core machine with the server; ` +
      'latency is measured there from just before chat.send to the chat.message event and includes its own queueing.',
  );
  notes.push('server GC and event-loop delay come from the node\'s /metrics (prom-client: GC pauses by kind; monitorEventLoopDelay at 10 ms resolution) over the chat window.');
  notes.push(
    'the way up / down split uses the server\'s `at` stamp (Date.now() when it handles the line) against the client\'s clock: the same system clock, whole milliseconds.',
  );
  notes.push(
    'server CPU is utime+stime from /proc/PID/stat over the send window, as a share of one core; RSS per client = (RSS after set-up − RSS before any client) / clients, ' +
      'each reading taken once the server is idle, raw and again after a full GC forced through the inspector (the node runs with --inspect for that; --skip-gc turns it off).',
  );
  say('\nNotes:\n' + notes.map((s) => `- ${s}`).join('\n'));
  for (const r of results) if (r.profile) say(`\n[${r.transport}] server CPU profile over the chat window:\n${r.profile.map((l) => `  ${l}`).join('\n')}`);
}

say(
  `Foyer bench:chat — ${fmtInt(N)} clients, games of ${GROUP}, a line per client every ${INTERVAL_MS} ms for ${DURATION_S} s; transports ${TRANSPORTS.join(',')}; ` +
    `node ${process.version}, ${availableParallelism()} cores; clients from ${SOURCES === 1 ? '127.0.0.1' : `127.0.0.2..127.0.0.${SOURCES + 1}`}`,
);
const hard = hardTimeout(TIMEOUT_S, printTable);
let failed = false;
for (const t of TRANSPORTS) {
  try {
    await runTransport(t);
  } catch (err) {
    failed = true;
    process.stderr.write(`[${t}] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAll();
  }
}
hard.clear();
printTable();
const bad = results.some((r) => r.errors.length || !r.stopped.startsWith('exited 0'));
process.exit(failed || bad ? 1 : 0);
