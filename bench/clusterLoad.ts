/**
 * Parts 5 and 6 of `npm run bench:cluster` (bench/cluster.ts): what a node
 * carries for games it does not own.
 *
 *   5. idle nodes: every player of G games (4–10 players each) on n1,
 *      toggling game.setReady and chatting at a fixed rate; per node, over a
 *      measured window: messages and bytes per second from Redis, CPU, and
 *      each idle node's share of n1's: as they are (the issue's target), and
 *      what the load adds to each node's quiet figures (a node's heartbeats
 *      and timers stay whatever the games do).
 *   6. a foreign event's cost: the same games owned by n1, but one player of
 *      each on n2 (n2 must apply and deliver every game's events); n3 holds
 *      nobody. setReady (or renames) at a few rates; per node the CPU per op
 *      and per message received above the node's own quiet floor (measured
 *      first).
 *
 * Bytes from Redis are read two ways: the node's own counter
 * (foyer_bus_bytes_total{direction="received"} on /metrics: pub/sub
 * payload, UTF-8) and the kernel's (`ss -ti`: bytes_received of the node
 * process's TCP connections to the Redis port(s): payload plus RESP framing
 * and command replies). A server build without the counter shows '-' for
 * it; the kernel's figure works with any build.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { LobbyClient } from '@foyer/client-sdk';
import type { NodeProcess } from './clusterNodes.js';
import { Errors, cpuSnapshot, fmt, fmtInt, metricSum, metricsOf, pct, sleep, table } from './lib.js';

export interface LoadContext {
  nodes: NodeProcess[];
  /** Redis ports the nodes talk to (6379, or every master of a Redis Cluster): for the kernel's byte counts. */
  redisPorts: number[];
  guest(home: number, name: string): Promise<LobbyClient>;
  out(s?: string): void;
  notes: string[];
}

const ms = () => performance.now();

/** Game sizes 4, 5, …, 10, 4, …: 7 players on average. */
export const gameSize = (i: number) => 4 + (i % 7);

/** Bytes received and sent (acked) so far by each pid's established TCP connections to one of `ports` (kernel tcp_info, `ss -tinp`). */
export function tcpBytesWith(ports: number[], pids: number[]): { received: number[]; sent: number[] } {
  const filter = ports.map((p) => `dport = :${p}`).join(' or ');
  let text = '';
  try {
    text = execFileSync('ss', ['-tinpH', 'state', 'established', `( ${filter} )`], { encoding: 'utf8', timeout: 5000 });
  } catch {
    return { received: pids.map(() => NaN), sent: pids.map(() => NaN) };
  }
  const got = new Map<number, number>(pids.map((p) => [p, 0]));
  const put = new Map<number, number>(pids.map((p) => [p, 0]));
  // Each socket: a line naming its process (users:(("node",pid=N,fd=M))), then an indented line of tcp_info.
  let pid: number | undefined;
  for (const line of text.split('\n')) {
    const owner = /pid=(\d+)/.exec(line);
    if (owner) pid = Number(owner[1]);
    if (pid === undefined || !got.has(pid)) continue;
    const received = /bytes_received:(\d+)/.exec(line);
    const acked = /bytes_acked:(\d+)/.exec(line);
    if (received) got.set(pid, got.get(pid)! + Number(received[1]));
    if (acked) put.set(pid, put.get(pid)! + Number(acked[1]));
  }
  return { received: pids.map((p) => got.get(p)!), sent: pids.map((p) => put.get(p)!) };
}

interface Reading {
  at: number;
  /** What the driver had sent at `at`. */
  sent: number;
  chats: number;
  cpu: number[];
  messages: number[];
  bytes: number[];
  published: number[];
  tcp: number[];
  tcpSent: number[];
}

/**
 * Every figure at one moment: the clock, the driver's counts, CPU and the kernel's byte counts first (read at
 * once), then the nodes' /metrics (an HTTP round trip each, slow on a busy machine: counted from a moment later).
 */
async function read(ctx: LoadContext, counts: () => { sent: number; chats: number }): Promise<Reading> {
  const pids = ctx.nodes.map((n) => n.pid!);
  const at = ms();
  const { sent, chats } = counts();
  const cpu = cpuSnapshot(pids).procs.map((t) => t.user + t.sys);
  const tcp = tcpBytesWith(ctx.redisPorts, pids);
  const metrics = await Promise.all(ctx.nodes.map((n) => metricsOf(n.http)));
  const has = (m: Map<string, number>, name: string) => [...m.keys()].some((k) => k.startsWith(name));
  const counter = (name: string, direction = 'received') => metrics.map((m) => (has(m, name) ? metricSum(m, name, `direction="${direction}"`) : NaN));
  return { at, sent, chats, cpu, messages: counter('foyer_bus_messages_total'), bytes: counter('foyer_bus_bytes_total'), published: counter('foyer_bus_bytes_total', 'published'), tcp: tcp.received, tcpSent: tcp.sent };
}

/** Per node over a window: seconds, ops and chat lines sent per second, CPU seconds, messages/s, payload bytes/s received and published, TCP bytes/s from and to Redis. */
interface Window {
  secs: number;
  sent: number;
  chats: number;
  cpu: number[];
  msgs: number[];
  bytes: number[];
  published: number[];
  tcp: number[];
  tcpSent: number[];
}

function between(a: Reading, b: Reading): Window {
  const secs = (b.at - a.at) / 1000;
  const rate = (x: number[], y: number[]) => y.map((v, i) => (v - x[i]!) / secs);
  return {
    secs,
    sent: (b.sent - a.sent) / secs,
    chats: (b.chats - a.chats) / secs,
    cpu: b.cpu.map((v, i) => v - a.cpu[i]!),
    msgs: rate(a.messages, b.messages),
    bytes: rate(a.bytes, b.bytes),
    published: rate(a.published, b.published),
    tcp: rate(a.tcp, b.tcp),
    tcpSent: rate(a.tcpSent, b.tcpSent),
  };
}

/** One game per entry: its players' clients, the owner first, each on the node `homeOf(game, seat)` says. */
async function seatGames(ctx: LoadContext, games: number, homeOf: (game: number, seat: number) => number): Promise<LobbyClient[][]> {
  const seated: LobbyClient[][] = [];
  for (let g = 0; g < games; g += 6) {
    // Six games at a time: quick, without a burst of hundreds of logins on two shared cores.
    const batch = await Promise.all(
      Array.from({ length: Math.min(6, games - g) }, async (_, k) => {
        const i = g + k;
        const size = gameSize(i);
        const players = await Promise.all(Array.from({ length: size }, (_, s) => ctx.guest(homeOf(i, s), `L${i}-${s}`)));
        const { game } = await players[0]!.call('game.create', { name: `load ${i}`, gameType: 'bench-load', maxPlayers: size });
        for (const p of players.slice(1)) await p.call('game.join', { gameId: game.id });
        return players;
      }),
    );
    seated.push(...batch);
  }
  return seated;
}

/** What a driven player sends: game.setReady (toggling its own), or game.update of its game's name (owners only: a change the game list shows). */
export type CostOp = 'ready' | 'rename';

/**
 * Sends `perSec` ops and `chatPerSec` chat lines, spread over `players`
 * round-robin, until stop() is called; counts what was sent and refused.
 */
function drive(players: LobbyClient[], perSec: number, chatPerSec: number, op: CostOp = 'ready') {
  const ready = new Map<LobbyClient, boolean>();
  const errors = new Errors();
  let sent = 0;
  let chats = 0;
  let next = 0;
  let nextChat = 0;
  const t0 = ms();
  const fire = (p: Promise<unknown>) => p.catch((err: unknown) => errors.add(err));
  const timer = setInterval(() => {
    const elapsed = (ms() - t0) / 1000;
    for (; sent < elapsed * perSec; sent++) {
      const p = players[next++ % players.length]!;
      if (op === 'rename') {
        void fire(p.call('game.update', { name: `load ${next} ${sent}` }));
        continue;
      }
      const r = !ready.get(p);
      ready.set(p, r);
      void fire(p.call('game.setReady', { ready: r }));
    }
    for (; chats < elapsed * chatPerSec; chats++) void fire(players[nextChat++ % players.length]!.call('chat.send', { channel: 'game', text: `line ${chats}` }));
  }, 10);
  return {
    errors,
    counts: () => ({ sent, chats }),
    stop: () => clearInterval(timer),
  };
}

const idle = () => ({ sent: 0, chats: 0 });

/** Measures `secs` of whatever runs now (`counts`: the driver's, if one runs). */
async function measure(ctx: LoadContext, secs: number, counts = idle): Promise<Window> {
  const a = await read(ctx, counts);
  await sleep(secs * 1000);
  return between(a, await read(ctx, counts));
}

const kib = (v: number) => fmt(v / 1024, 2);

// ---- part 5 ----

export interface IdleOptions {
  games: number;
  readyPerSec: number;
  chatPerSec: number;
  seconds: number;
  /** Rest before the quiet window: V8's memory reducer compacts each node's start-up garbage once, some seconds after its heap last grew. */
  settleSeconds: number;
}

export async function partIdle(ctx: LoadContext, o: IdleOptions): Promise<void> {
  ctx.out(`\n## 5. Idle nodes: every player of ${o.games} games (4–10 players) on n1; ${o.readyPerSec} game.setReady/s and ${o.chatPerSec} chat lines/s\n`);
  const games = await seatGames(ctx, o.games, () => 0);
  const players = games.flat();
  if (o.settleSeconds > 0) {
    ctx.out(`(the seated nodes rest ${o.settleSeconds} s first: a node's one-off compaction of its start-up heap, V8's memory reducer, is not what it carries; --settle-s 0 counts it)`);
    await sleep(o.settleSeconds * 1000);
  }
  const quiet = await measure(ctx, Math.max(2, o.seconds / 2));
  const load = drive(players, o.readyPerSec, o.chatPerSec);
  await sleep(2000); // warm-up
  const w = await measure(ctx, o.seconds, load.counts);
  load.stop();
  const rows = ctx.nodes.map((n, i) => [
    `${n.id}${i === 0 ? ' (all players)' : ' (idle)'}`,
    fmtInt(w.msgs[i]!),
    kib(w.bytes[i]!),
    kib(w.published[i]!),
    kib(w.tcp[i]!),
    kib(w.tcpSent[i]!),
    fmt(w.cpu[i]!, 2),
    pct(w.cpu[i]! / w.secs, 1),
    kib(quiet.tcp[i]!),
    pct(quiet.cpu[i]! / quiet.secs, 1),
    i === 0 ? '' : pct(w.tcp[i]! / w.tcp[0]!, 1),
    i === 0 ? '' : pct(w.tcp[i]! / w.tcpSent[0]!, 1),
    i === 0 ? '' : pct(w.cpu[i]! / w.cpu[0]!, 1),
  ]);
  ctx.out(table(['node', 'msgs/s received', 'KiB/s received', 'KiB/s published', 'TCP KiB/s from Redis', 'TCP KiB/s to Redis', `CPU s in ${fmt(w.secs, 1)} s`, 'CPU', 'quiet: TCP KiB/s from Redis', 'quiet: CPU', 'TCP from Redis ÷ n1\'s from Redis', '÷ n1\'s to Redis', 'CPU ÷ n1'], rows));
  ctx.out(`(measured: ${fmt(w.sent, 0)} game.setReady/s and ${fmt(w.chats, 0)} chat lines/s from ${players.length} players; errors ${load.errors.count}${load.errors.count ? `: ${load.errors}` : ''}. Received and published: pub/sub payload, the node's foyer_bus_* counters; TCP: the kernel's byte counts of the node's connections to Redis, framing and commands included. n1's to Redis includes what it stores there (snapshots, records), not only what it publishes. Quiet: the same nodes, players seated and silent, ${fmt(quiet.secs, 1)} s)`);
  const ok = (v: number) => (Number.isFinite(v) ? (v <= 0.05 ? 'ok' : 'MISSED') : 'no data');
  // What the load adds: each node's rate above its own quiet one (heartbeats and timers stay whatever the games do).
  const added = (x: number[], q: number[], i: number) => Math.max(0, x[i]! - q[i]!);
  const cpuRate = (x: Window) => x.cpu.map((c) => c / x.secs);
  for (const i of [1, 2]) {
    const tcpShare = w.tcp[i]! / w.tcp[0]!;
    const cpuShare = w.cpu[i]! / w.cpu[0]!;
    const tcpAdded = added(w.tcp, quiet.tcp, i) / added(w.tcp, quiet.tcp, 0);
    const cpuAdded = added(cpuRate(w), cpuRate(quiet), i) / added(cpuRate(w), cpuRate(quiet), 0);
    ctx.out(`${ctx.nodes[i]!.id}: bytes from Redis ${pct(tcpShare, 1)} of n1's (target ≤ 5 %: ${ok(tcpShare)}), CPU ${pct(cpuShare, 1)} of n1's (target ≤ 5 %: ${ok(cpuShare)}); above each node's quiet figures: bytes ${pct(tcpAdded, 1)}, CPU ${pct(cpuAdded, 1)} of n1's`);
  }
  // A build where the owner does not hear its own games back receives little: then the share above compares two floors.
  if (w.tcp[0]! < 4 * quiet.tcp[0]!) ctx.out(`(n1 itself received only ${kib(w.tcp[0]!)} KiB/s from Redis, near its quiet ${kib(quiet.tcp[0]!)}: read the idle nodes against their own quiet figures and n1's bytes to Redis)`);
  if (w.bytes.some((b) => Number.isNaN(b))) ctx.out('(received and published "-": this server build has no foyer_bus_* counters, or a node did not answer /metrics within 5 s)');
  await Promise.all(players.map((p) => p.close()));
}

// ---- part 6 ----

export interface CostOptions {
  games: number;
  rates: number[];
  seconds: number;
  op: CostOp;
}

export async function partForeignCost(ctx: LoadContext, o: CostOptions): Promise<void> {
  const opName = o.op === 'rename' ? 'game.update of the name (by each owner; a listed field)' : 'game.setReady';
  ctx.out(`\n## 6. A foreign event's cost: ${o.games} games owned by n1, one player of each on n2, nobody on n3; ${opName} at ${o.rates.join(', ')}/s\n`);
  // The last seat of each game is on n2: n1 owns the game (its creator is seat 0, on n1).
  const games = await seatGames(ctx, o.games, (g, seat) => (seat === gameSize(g) - 1 ? 1 : 0));
  // Only n1's players act: every event is foreign to n2 and n3.
  const players = o.op === 'rename' ? games.map((g) => g[0]!) : games.flatMap((g) => g.slice(0, -1));
  const quiet = await measure(ctx, o.seconds);
  const floor = quiet.cpu.map((c) => c / quiet.secs);
  const rows: string[][] = [];
  let uncounted = false;
  for (const rate of o.rates) {
    const load = drive(players, rate, 0, o.op);
    await sleep(1500);
    const w = await measure(ctx, o.seconds, load.counts);
    const sent = w.sent;
    uncounted ||= w.msgs.some((m) => Number.isNaN(m));
    load.stop();
    if (load.errors.count) ctx.notes.push(`part 6 at ${rate}/s: ${load.errors}`);
    await sleep(500); // the last replies in
    for (const [i, n] of ctx.nodes.entries()) {
      const above = w.cpu[i]! - floor[i]! * w.secs;
      const received = w.msgs[i]! * w.secs;
      rows.push([
        fmt(sent, 0),
        `${n.id}${i === 0 ? ' (owner, all but one player)' : i === 1 ? ' (one player per game)' : ' (nobody)'}`,
        fmtInt(w.msgs[i]!),
        fmt(w.msgs[i] ? w.bytes[i]! / w.msgs[i]! : NaN, 0),
        kib(w.tcp[i]!),
        pct(w.cpu[i]! / w.secs, 1),
        fmt((above / (sent * w.secs)) * 1e6, 0),
        i === 0 ? '' : fmt(received > 0 ? (above / received) * 1e6 : NaN, 0),
      ]);
    }
  }
  ctx.out(table(['ops/s', 'node', 'msgs/s from Redis', 'B/msg', 'TCP KiB/s from Redis', 'CPU', 'µs CPU per op', 'µs CPU per msg received'], rows));
  ctx.out(`(µs per op: on n1 what the owner spends on a command; on n2 and n3 what one op's events cost a node that only hears them. CPU above each node's quiet floor: ${ctx.nodes.map((n, i) => `${n.id} ${pct(floor[i]!, 1)}`).join(', ')} over ${fmt(quiet.secs, 1)} s with the players seated and silent; a message received is a batch of one game's events, or another cast)`);
  if (uncounted) ctx.out('("-" per message: this server build has no foyer_bus_* counters, or a node did not answer /metrics within 5 s)');
  await Promise.all(games.flat().map((p) => p.close()));
}
