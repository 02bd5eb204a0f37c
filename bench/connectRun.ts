/**
 * bench:connect for one transport: start a node, open N sessions (memory
 * before, halfway and after), ping flat out, run the paced phase
 * (connectPaced.ts), close everything and stop the node.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LobbyClient } from '@foyer/client-sdk';
import {
  Errors, MiB, cpuSeconds, fmt, fmtInt, memOf, pct, percentile, pool, say, serverMemory, sleep, socketClass, startServer, stopServer, type ServerProc,
} from './lib.js';
import { cpuNow, cpuShares, onServerPing, runPaced, sweeps } from './connectPaced.js';
import { CALL_TIMEOUT_MS } from './connectProbe.js';
import type { ReportConfig, Result } from './connectReport.js';

/** The run's settings, from the command line (connect.ts). */
export interface ConnectConfig extends ReportConfig {
  M: number;
  DURATION_S: number;
  CONNECT_CONCURRENCY: number;
  SETTLE_MS: number;
  /** Seconds the sessions idle before the readings at half and all of them (see connect.ts). */
  IDLE_S: number;
  SERVER_ARGS: string[];
  HEARTBEAT_MS: number;
  SOURCES: number;
  /** Sessions per game (each sits in one), or 0: none in a game. */
  IN_GAMES: number;
  flags: { 'heap-snapshot': boolean; 'node-arg': string[]; 'server-output': boolean; timeline: boolean };
}

export async function runTransport(cfg: ConnectConfig, transport: string, results: Result[], notes: string[], selfGc: () => void): Promise<Result> {
  const { N, M, INFLIGHT, CONNECT_CONCURRENCY, GC, SOURCES, flags } = cfg;
  // Every client socket notes the server's heartbeat pings (connectPaced.ts watches them).
  const sockets = SOURCES === 1 ? [socketClass(undefined, onServerPing)] : Array.from({ length: SOURCES }, (_, i) => socketClass(`127.0.0.${i + 2}`, onServerPing));
  const log = (s: string) => say(`[${transport}] ${s}`);
  sweeps.length = 0;
  const cwd = flags['heap-snapshot'] ? mkdtempSync(join(tmpdir(), 'foyer-bench-')) : process.cwd();
  const server = await startServer({
    transport,
    cwd,
    nodeArgs: [...(flags['node-arg'] ?? []), ...(flags['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2'] : [])],
    // The inspector only lets the bench force a full GC before reading memory; nothing attaches otherwise.
    inspect: GC,
    // Generous limits: the bench measures capacity, not the limits.
    args: ['--rate-limit-per-sec', '100000', '--rate-limit-burst', '100000', '--auth-timeout-ms', '600000', ...cfg.SERVER_ARGS],
    ...(flags['server-output'] && { echo: (line: string) => say(`  [server ${transport}] ${line}`) }),
  });
  log(`server pid ${server.pid}, port ${server.port}, transport ${server.transport}${server.transport !== transport ? ' — FELL BACK: the uWS binding did not load' : ''}`);
  const url = server.url;
  const errors: string[] = [];
  const r: Result = {
    transport,
    actual: server.transport,
    conns: 0,
    connPerSec: NaN,
    rssBefore: NaN,
    rssAfter: NaN,
    rssPeak: NaN,
    heapBefore: {},
    heapAfter: {},
    flat: { rtPerSec: NaN, p50: NaN, p99: NaN, serverCpu: NaN, clientCpu: NaN, otherCpu: NaN, sweeps: 0 },
    steady: undefined,
    full: undefined,
    sweep: undefined,
    probeSteady: undefined,
    probeSweep: undefined,
    pacedAchieved: NaN,
    lagP99: NaN,
    lagMax: NaN,
    pacedCpu: { server: NaN, client: NaN, other: NaN },
    errors,
    stopped: '',
    snapshot: undefined,
  };
  results.push(r);

  // The idle node once its start-up work is over (the embedded database's start-up garbage
  // is hundreds of MiB until a GC): the baseline both growth figures start from.
  const idle = await settleServer(server);
  if (!idle) notes.push(`${transport}: the server was still busy 30 s after start; its memory baseline may be off.`);
  const before = await measure(cfg, server);
  const baseline = GC && Number.isFinite(before.gc) ? before.gc : before.raw;
  r.rssBefore = baseline;
  r.rssIdleRaw = before.raw;
  r.rssBeforeGc = before.gc;
  r.heapBefore = before.heap;

  // 1. N sessions.
  const clients: LobbyClient[] = [];
  let dropped = 0;
  const connectErrors = new Errors();
  let connectMs = 0;
  let progressAt = performance.now();
  // --in-games R: client i sits in game ⌊i / R⌋, made by the first of its group to get there.
  const ROOM = cfg.IN_GAMES;
  const games = new Map<number, Promise<string>>();
  const seat = async (client: LobbyClient, i: number) => {
    const g = Math.floor(i / ROOM);
    let game = games.get(g);
    if (!game) {
      games.set(g, (game = client.call('game.create', { name: `connect ${g}`, gameType: 'idle', maxPlayers: Math.max(2, ROOM) }).then((r) => r.game.id)));
      await game;
    } else await client.call('game.join', { gameId: await game });
  };
  const connectRange = async (from: number, to: number) => {
    const t0 = performance.now();
    await pool(to - from, CONNECT_CONCURRENCY, async (j) => {
      const i = from + j;
      const client = new LobbyClient({ url, WebSocket: sockets[i % sockets.length]!, reconnect: false, callTimeoutMs: CALL_TIMEOUT_MS });
      try {
        await client.connect();
        await client.call('auth.guest', { name: `bench-${i}` });
        if (ROOM > 0) await seat(client, i);
        clients.push(client);
        client.onState((state) => state === 'closed' && dropped++);
      } catch (err) {
        connectErrors.add(err);
        void client.close();
      }
      if (performance.now() - progressAt > 2000) {
        progressAt = performance.now();
        log(`  ${clients.length + connectErrors.count}/${N} connecting…`);
      }
    });
    connectMs += performance.now() - t0;
  };
  // Half, a pause to read memory, then the rest: the second half's growth is the marginal cost of a session,
  // without one-off growth (young generation, code, buffers) that the first connections trigger.
  // (In games: at a game's boundary, so each half holds whole games.)
  const half = ROOM > 0 ? Math.floor(N / 2 / ROOM) * ROOM : Math.floor(N / 2);
  const idleFor = async () => {
    if (!cfg.IDLE_S) return;
    log(`  idling ${cfg.IDLE_S} s before the reading…`);
    await sleep(cfg.IDLE_S * 1000);
  };
  await connectRange(0, half);
  await idleFor();
  const mid = await measure(cfg, server);
  const midSessions = clients.length;
  r.rssMid = mid.raw;
  r.rssMidGc = mid.gc;
  r.heapMid = mid.heap;
  await connectRange(half, N);
  const connectS = connectMs / 1000;
  const n = clients.length;
  r.conns = n;
  r.connPerSec = n / connectS;
  log(`${n}/${N} logged in${ROOM > 0 ? ` and seated in games of ${ROOM}` : ''} in ${fmt(connectS, 2)} s: ${fmtInt(r.connPerSec)} conn/s${connectErrors.count ? `; ${connectErrors.count} FAILED: ${connectErrors}` : ''}`);
  if (connectErrors.count) errors.push(`${connectErrors.count} connects failed: ${connectErrors}`);

  await idleFor();
  const after = await measure(cfg, server);
  r.rssAfter = after.raw;
  r.rssAfterGc = after.gc;
  r.heapAfter = after.heap;
  const growth = after.raw - baseline;
  // From the readings after GC when there are some: garbage left over from the handshakes makes raw ones jumpy.
  r.midConns = midSessions;
  r.marginal = GC ? (after.gc - mid.gc) / Math.max(1, n - midSessions) : (after.raw - mid.raw) / Math.max(1, n - midSessions);
  log(
    `server RSS (idle${GC ? ', after a full GC' : ''}) ${fmt(baseline / MiB)} → ${fmt(after.raw / MiB)} MiB: +${fmt(growth / MiB)} MiB, ${fmt(growth / 1024 / Math.max(1, n), 2)} KiB/session; ` +
      (GC ? `after a full GC ${fmt(before.gc / MiB)} → ${fmt(after.gc / MiB)} MiB: +${fmt((after.gc - before.gc) / MiB)} MiB; ` : '') +
      `marginal ${fmt(r.marginal / 1024, 2)} KiB/session (${midSessions} → ${n})`,
  );
  if (flags['heap-snapshot']) {
    const file = await heapSnapshot(server);
    r.snapshot = file;
    log(`heap snapshot: ${file ?? 'NOT WRITTEN'} (the phases after it are perturbed)`);
  }

  // 2. Flat out: N×M pings, INFLIGHT at a time, round-robin over every connection.
  if (n > 0 && M > 0) {
    selfGc();
    const total = n * M;
    const lat = new Float64Array(total).fill(NaN);
    const rtErrors = new Errors();
    const cpu0 = cpuNow(server.pid);
    const sweeps0 = sweeps.length;
    const whole = (from: number) => sweeps.slice(from).filter((w) => w.count >= n / 2).length;
    const start = performance.now();
    await pool(total, INFLIGHT, async (k) => {
      const t = performance.now();
      try {
        await clients[k % n]!.call('session.ping', { t: k });
        lat[k] = performance.now() - t;
      } catch (err) {
        rtErrors.add(err);
      }
    });
    const secs = (performance.now() - start) / 1000;
    const cpu = cpuShares(cpu0, cpuNow(server.pid));
    const ok = lat.filter((v) => !Number.isNaN(v)).sort();
    r.flat = {
      rtPerSec: ok.length / secs,
      p50: percentile(ok, 50),
      p99: percentile(ok, 99),
      serverCpu: cpu.server,
      clientCpu: cpu.client,
      otherCpu: cpu.other,
      sweeps: whole(sweeps0),
    };
    log(
      `flat out: ${fmtInt(total)} pings in ${fmt(secs, 2)} s = ${fmtInt(r.flat.rtPerSec)} rt/s (p50 ${fmt(r.flat.p50, 2)} ms, p99 ${fmt(r.flat.p99, 2)} ms); ` +
        `CPU: server ${pct(cpu.server)}, bench ${pct(cpu.client)}, other processes ${pct(cpu.other)} of a core${r.flat.sweeps ? `; ${r.flat.sweeps} heartbeat sweep(s) fell in it` : ''}` +
        (rtErrors.count ? `; ${rtErrors.count} FAILED: ${rtErrors}` : ''),
    );
    if (rtErrors.count) errors.push(`${rtErrors.count} flat-out pings failed: ${rtErrors}`);
  }

  // 3. Paced, open loop.
  if (n > 0) await runPaced(cfg, server, clients, r, notes, log, selfGc);
  r.rssPeak = memOf(server.pid).hwm;
  if (dropped) errors.push(`${dropped} sessions were closed by the server during the run`);

  // 4. Close every client, then stop the server.
  const tc = performance.now();
  await pool(n, 1000, (i) => clients[i]!.close());
  log(`closed ${n} clients in ${fmt((performance.now() - tc) / 1000, 2)} s`);
  r.stopped = await stopServer(server);
  log(`server ${r.stopped}`);
  const extra = server.output.filter((l) => !l.startsWith('Foyer lobby on'));
  if (extra.length && !flags['server-output']) log(`server output (last lines):\n    ${extra.slice(-10).join('\n    ')}`);
  return r;
}

/** Waits until the server's CPU use stays under 5% of a core for 1 s (start-up work done), at most 30 s. */
async function settleServer(s: ServerProc): Promise<boolean> {
  const deadline = performance.now() + 30_000;
  let last = cpuSeconds(s.pid);
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    await sleep(250);
    const cur = cpuSeconds(s.pid);
    if (cur - last > 0.25 * 0.05) quietSince = performance.now();
    last = cur;
    if (performance.now() - quietSince >= 1000) return true;
  }
  return false;
}

/** The server's memory as it is, then (unless --skip-gc) after a forced full GC. */
async function measure(cfg: ConnectConfig, s: ServerProc): Promise<{ raw: number; gc: number; heap: Record<string, number> }> {
  const { rss, rssGc } = await serverMemory(s, cfg.SETTLE_MS, cfg.GC);
  return { raw: rss, gc: rssGc, heap: await heapOf(s.port) };
}

/** Writes a heap snapshot of the server (SIGUSR2) and returns its path once written. */
async function heapSnapshot(s: ServerProc): Promise<string | undefined> {
  const before = new Set(readdirSync(s.cwd));
  s.child.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(200);
    const f = readdirSync(s.cwd).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
    // The server writes it synchronously: once /metrics answers, the file is complete.
    if (f && (await heapOf(s.port)).heap_size_used_bytes !== undefined) return join(s.cwd, f);
  }
  return undefined;
}

/** A few gauges from the node's /metrics (prom-client default metrics). */
async function heapOf(port: number): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^foyer_nodejs_(heap_size_used_bytes|heap_size_total_bytes|external_memory_bytes|heap_space_size_(?:used|total)_bytes\{space="(?:new|old)"\}) (\S+)/.exec(line);
      if (m) out[m[1]!.replace(/\{space="(\w+)"\}/, '_$1')] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}
