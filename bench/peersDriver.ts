/**
 * Foyer's driver for the peer harness (../shared/peers, run by `npm run
 * bench:peers`): the harness imports this module (FOYER_DRIVER) and calls
 * connectAll({ port, N, R, onChat }).
 *
 * It uses the SDK's public API only (LobbyClient: connect, call, send, on, onRefusal, close),
 * so it keeps working when the protocol underneath changes. Each client logs
 * in as a guest; each group of R clients shares one game (the first creates
 * it, the others join); a chat line carries the harness's message as JSON in
 * its text, sent without id (LobbyClient.send): refusals come back through
 * onRefusal and are counted.
 *
 * What the harness cannot see is written to stderr as lines
 * `foyer-driver {json}` (bench/peers.ts reads them): how long the server took
 * to accept connections (the harness gives up waiting for the node's READY
 * line after 8 s, and then reads its "before" RSS too early), the driver's
 * own join time (and, when the node was late, its RSS per client), failed
 * clients, and refused chat lines.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { LobbyClient } from '@foyer/client-sdk';
import { Errors, memOf, openClients, pool, settle, sleep } from './lib.js';

/** One client as the harness sees it. */
export interface PeerClient {
  send(msg: unknown): void;
  close(): void;
}

export interface ConnectAllOptions {
  port: number;
  /** Clients. */
  N: number;
  /** Clients per game. */
  R: number;
  /** Called with the harness's message for every chat line any client receives. */
  onChat: (msg: unknown) => void;
  /** Clients connecting at once; the harness's other systems use 50. */
  concurrency?: number;
}

/** What the driver tells bench/peers.ts through stderr. */
export type DriverReport =
  | {
      kind: 'joined';
      clients: number;
      failed: number;
      errors: string;
      /** How long the node took to accept connections after the harness stopped waiting for it (0: it was listening). */
      waitedMs: number;
      /** From the first connection to the last client seated. */
      joinMs: number;
      /** Measured by the driver when the node listened late (the harness's own figure is wrong then). */
      rssPerClientKiB?: number;
    }
  | { kind: 'sent'; sent: number; refused: Record<string, number> };

export const REPORT_PREFIX = 'foyer-driver ';

const report = (r: DriverReport) => void process.stderr.write(REPORT_PREFIX + JSON.stringify(r) + '\n');

/** Resolves once 127.0.0.1:port accepts a TCP connection; returns how long that took (0: at the first try). */
async function waitForListener(port: number, maxMs = 180_000): Promise<number> {
  const t0 = performance.now();
  for (let attempt = 0; ; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (up) return attempt === 0 ? 0 : performance.now() - t0;
    if (performance.now() - t0 > maxMs) throw new Error(`foyer-driver: nothing listens on port ${port} after ${maxMs / 1000} s`);
    await sleep(100);
  }
}

/** The harness's server: the one child of this process (the harness runs this module in its own process). */
function serverPid(): number | undefined {
  try {
    const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return pids.length === 1 ? Number(pids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server's RSS before the clients, for a node that listened only after
 * the harness read it: once the node is quiet (its embedded database keeps
 * working for a while after it listens), after two full GCs when the
 * harness's gcpre.mjs is preloaded (it runs them on SIGUSR2), as the harness
 * does for a node that is ready in time.
 */
async function lateBaseline(pid: number): Promise<number> {
  await settle({ pid }, 30_000);
  if (/gcpre\.mjs/.test(process.env.NODE_OPTIONS ?? '')) {
    process.kill(pid, 'SIGUSR2');
    await sleep(1000);
  }
  return memOf(pid).rss;
}

export async function connectAll({ port, N, R, onChat, concurrency = 50 }: ConnectAllOptions): Promise<PeerClient[]> {
  const waitedMs = await waitForListener(port);
  const pid = waitedMs > 0 ? serverPid() : undefined;
  const rss0 = pid ? await lateBaseline(pid) : NaN;
  const url = `ws://127.0.0.1:${port}/`;
  const t0 = performance.now();
  const groups = Math.ceil(N / R);
  const seated: LobbyClient[][] = new Array(groups);
  const errors = new Errors();
  // A group's clients connect together, so about `concurrency` clients are in flight at once.
  await pool(groups, Math.max(1, Math.floor(concurrency / R)), async (g) => {
    const size = Math.min(R, N - g * R);
    const opened = await openClients(url, size, { concurrency: size, name: (i) => `peer-${g * R + i}` });
    errors.addAll(opened.errors);
    const [first, ...others] = opened.clients;
    if (!first) return;
    let gameId: string;
    try {
      gameId = (await first.call('game.create', { name: `peers ${g}`, gameType: 'chat', maxPlayers: R })).game.id;
    } catch (err) {
      errors.add(err);
      for (const c of opened.clients) void c.close();
      return;
    }
    const joined = await Promise.all(
      others.map((c) =>
        c.call('game.join', { gameId }).then(
          () => c,
          (err: unknown) => (errors.add(err), void c.close(), undefined),
        ),
      ),
    );
    seated[g] = [first, ...joined.filter((c): c is LobbyClient => c !== undefined)];
  });
  const joinMs = performance.now() - t0;
  const clients = seated.flat().filter(Boolean);
  const rssPerClientKiB = pid ? (memOf(pid).rss - rss0) / clients.length / 1024 : undefined;
  report({ kind: 'joined', clients: clients.length, failed: N - clients.length, errors: errors.toString(), waitedMs, joinMs, rssPerClientKiB });

  let sent = 0;
  const refused: Record<string, number> = {};
  let reported = false;
  return clients.map((client) => {
    client.on('chat.message', (d) => {
      if (d.channel === 'game') onChat(JSON.parse(d.text));
    });
    client.onRefusal((_op, err) => {
      refused[err.code] = (refused[err.code] ?? 0) + 1;
    });
    return {
      send(msg: unknown) {
        sent++;
        // Without id, as a game's chat would: no reply unless refused (onRefusal above).
        client.send('chat.send', { channel: 'game', text: JSON.stringify(msg) });
      },
      close() {
        // The harness closes every client and exits at once: report while it still can (stderr is synchronous on a pipe).
        if (!reported) (reported = true), report({ kind: 'sent', sent, refused });
        void client.close();
      },
    };
  });
}
