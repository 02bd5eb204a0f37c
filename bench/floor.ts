/**
 * `npm run bench:floor`: what one WebSocket frame costs the sending process on
 * this machine with no lobby at all, so the other benches' CPU and fan-out
 * figures can be read against it.
 *
 * A bare server (uWebSockets.js, then `ws`) in this process holds K
 * connections from clients in a child process (plain `ws` clients that only
 * read). It sends R rounds of one ~300-byte event frame to every connection
 * and reads its own CPU time (user and system) around them, settling until
 * the frames are written:
 *   - "one write per frame": each frame sent on its own, as a lobby does when
 *     it fans out one event to K sessions (each frame is one socket write);
 *   - "R frames per write": the R frames of each connection sent together
 *     (uWS cork; `ws` socket cork), the most batching can save.
 * It prints CPU µs per frame, how long one fan-out to K connections keeps a
 * core busy, and the CPU share a given delivery rate costs at that price.
 *
 * Flags: --connections K (1000)  --rounds R (20)  --rate D deliveries/s to price (37000)
 *
 * --memory: instead, what one bare idle connection costs the server process in
 * memory (bench/floorMemory.ts): a fresh server process per server holds N
 * idle connections (--connections, 10000 in this mode) from plain `ws`
 * clients in a child process; marginal RSS per connection between N/2 and N
 * (--half) after a full GC, split into V8 heap and outside it.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket } from 'ws';
import type * as UWS from 'uWebSockets.js';
import { loadUws } from '@foyer/server/transport/uws';
import { fmt, say, sleep } from './lib.js';
import { memoryChild, memoryMain } from './floorMemory.js';

const FRAME = JSON.stringify({
  ev: 'games.updated',
  seq: 12345,
  data: {
    subscriptionId: '3f1c2a4e-9b7d-4e21-8c55-2d1f0a9e7b63',
    game: { id: 'a4d2c9e1-5f3b-4c8a-9e71-6b2d0f8c3a59', name: 'Friday night ranked', gameType: 'ctf', status: 'open', players: 5, maxPlayers: 10, spectators: 0, hasPassword: false, level: { min: 1, max: 30 }, custom: { map: 'dust', mode: 'ranked', region: 'eu' } },
  },
});

/** The child: K plain clients that read and drop every frame. */
async function clients(url: string, k: number): Promise<void> {
  const open: Promise<void>[] = [];
  for (let i = 0; i < k; i++) {
    const ws = new WebSocket(url);
    ws.on('message', () => {});
    open.push(new Promise((r, j) => (ws.once('open', () => r()), ws.once('error', j))));
    if (i % 100 === 99) await Promise.all(open.slice(-100));
  }
  await Promise.all(open);
  process.send!('open');
  process.on('disconnect', () => process.exit(0));
}

interface Sender {
  name: string;
  port: number;
  count(): number;
  /** Sends every frame alone. */
  each(frame: string): void;
  /** Sends `n` frames to each connection in one write. */
  batched(frame: string, n: number): void;
  close(): void;
}

function uwsSender(uws: typeof UWS): Promise<Sender> {
  const app = uws.App();
  const socks = new Set<UWS.WebSocket<unknown>>();
  app.ws('/*', { idleTimeout: 0, maxBackpressure: 64 * 1024 * 1024, open: (ws) => void socks.add(ws), close: (ws) => void socks.delete(ws) });
  return new Promise((resolve, reject) =>
    app.listen('127.0.0.1', 0, (ls) => {
      if (!ls) return reject(new Error('uWS could not listen'));
      resolve({
        name: 'uWebSockets.js',
        port: uws.us_socket_local_port(ls),
        count: () => socks.size,
        each: (f) => socks.forEach((s) => void s.send(f, false)),
        batched: (f, n) => socks.forEach((s) => void s.cork(() => { for (let i = 0; i < n; i++) s.send(f, false); })),
        close: () => (uws.us_listen_socket_close(ls), socks.forEach((s) => s.close())),
      });
    }),
  );
}

function wsSender(): Promise<Sender> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  return new Promise((resolve) =>
    wss.on('listening', () =>
      resolve({
        name: 'ws',
        port: (wss.address() as { port: number }).port,
        count: () => wss.clients.size,
        each: (f) => wss.clients.forEach((s) => s.send(f)),
        batched: (f, n) =>
          wss.clients.forEach((s) => {
            // ws writes each frame to the socket; corking the socket makes them one write.
            const sock = (s as unknown as { _socket: import('node:net').Socket })._socket;
            sock.cork();
            for (let i = 0; i < n; i++) s.send(f);
            process.nextTick(() => sock.uncork());
          }),
        close: () => (wss.clients.forEach((s) => s.terminate()), wss.close()),
      }),
    ),
  );
}

/** CPU µs (user, system) this process spends per frame, the writes included. */
async function measure(send: () => void, frames: number): Promise<{ user: number; sys: number }> {
  await sleep(300);
  const before = process.cpuUsage();
  send();
  // The frames leave in this tick (uWS) or the next ones (ws): wait until the process is idle again.
  await sleep(500);
  const used = process.cpuUsage(before);
  return { user: used.user / frames, sys: used.system / frames };
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      connections: { type: 'string' },
      rounds: { type: 'string', default: '20' },
      rate: { type: 'string', default: '37000' },
      memory: { type: 'boolean', default: false },
      half: { type: 'string' },
    },
  });
  if (flags.memory) {
    const n = Number(flags.connections ?? '10000');
    return memoryMain(n, Number(flags.half ?? Math.floor(n / 2)));
  }
  const K = Number(flags.connections ?? '1000');
  const R = Number(flags.rounds);
  const RATE = Number(flags.rate);
  say(`Foyer bench:floor — ${K} connections, ${R} rounds of a ${FRAME.length}-byte frame; no lobby, bare servers`);
  const rows: string[] = [];
  const uws = (() => {
    try {
      return loadUws();
    } catch {
      return undefined;
    }
  })();
  for (const make of [...(uws ? [() => uwsSender(uws)] : []), wsSender]) {
    const s = await make();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', `ws://127.0.0.1:${s.port}/`, String(K)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((r) => child.once('message', () => r()));
    if (s.count() !== K) throw new Error(`${s.name}: ${s.count()} of ${K} connections open`);
    const each = await measure(() => { for (let r = 0; r < R; r++) s.each(FRAME); }, K * R);
    const batched = await measure(() => s.batched(FRAME, R), K * R);
    const us = each.user + each.sys;
    rows.push(
      `| ${s.name.padEnd(14)} | ${fmt(each.user, 2).padStart(9)} | ${fmt(each.sys, 2).padStart(8)} | ${fmt(us, 2).padStart(8)} | ${fmt((us * K) / 1000, 1).padStart(16)} | ${fmt((us * RATE) / 1e4, 0).padStart(18)}% | ${fmt(batched.user + batched.sys, 2).padStart(14)} |`,
    );
    child.disconnect();
    s.close();
    await sleep(200);
  }
  say('');
  say(`| server         | user µs/f | sys µs/f | CPU µs/f | fan-out to ${K} ms | CPU at ${RATE.toLocaleString('en-US')}/s (1 core) | ${R} per write µs/f |`);
  say('|:---------------|----------:|---------:|---------:|-----------------:|-------------------:|---------------:|');
  for (const r of rows) say(r);
  say('');
  say('One write per frame is what an event to one session costs a lobby at the least on this machine; most of it is the');
  say('kernel (loopback TCP, the receiving side included). Batching only helps where one connection has several frames due.');
  process.exit(0);
}

if (process.argv[2] === '--child') void clients(process.argv[3]!, Number(process.argv[4]));
else if (!memoryChild(process.argv.slice(2))) void main();
