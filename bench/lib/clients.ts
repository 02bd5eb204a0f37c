/** Client sockets and many logged-in LobbyClients at once. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LobbyClient, type WebSocketConstructor } from '@foyer/client-sdk';
import { Errors, pool } from './format.js';

// ---- client sockets ----

/**
 * A `ws` WebSocket for LobbyClient's `WebSocket` option, without compression,
 * optionally bound to a source address (127.0.0.x) so that many connections
 * do not run out of ephemeral ports on one address.
 */
export function socketClass(localAddress?: string, onPing?: () => void): WebSocketConstructor {
  const options: WebSocket.ClientOptions = { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) };
  return class BenchSocket extends WebSocket {
    constructor(url: string) {
      super(url, options);
      if (onPing) this.on('ping', onPing);
    }
  } as unknown as WebSocketConstructor;
}

/** `sources` socket classes on 127.0.0.2..127.0.0.(sources+1), or one on the default address. */
export function socketClasses(sources: number): WebSocketConstructor[] {
  return sources <= 1 ? [socketClass()] : Array.from({ length: sources }, (_, i) => socketClass(`127.0.0.${i + 2}`));
}

/** How many source addresses `connections` sockets need (0.7 of the ephemeral port range each). */
export function sourcesFor(connections: number): number {
  return Math.max(1, Math.ceil(connections / Math.floor(portRange() * 0.7)));
}

export function portRange(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi! - lo! + 1;
  } catch {
    return 28_232;
  }
}

export function fdLimits(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/);
    const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: num(soft), hard: num(hard) };
  } catch {
    return undefined;
  }
}

/**
 * Opens `n` LobbyClients (reconnect off), each logged in as a guest, with at
 * most `concurrency` connecting at once; client i uses `sockets[i % length]`.
 * Failed ones are counted, closed and left out.
 */
export async function openClients(
  url: string,
  n: number,
  opts: { concurrency?: number; sockets?: WebSocketConstructor[]; name?: (i: number) => string; callTimeoutMs?: number; progress?: (done: number) => void } = {},
): Promise<{ clients: LobbyClient[]; errors: Errors; secs: number }> {
  const sockets = opts.sockets ?? [socketClass()];
  const slots: (LobbyClient | undefined)[] = new Array(n);
  const errors = new Errors();
  let done = 0;
  let shownAt = performance.now();
  const t0 = performance.now();
  await pool(n, opts.concurrency ?? 200, async (i) => {
    const client = new LobbyClient({ url, WebSocket: sockets[i % sockets.length]!, reconnect: false, callTimeoutMs: opts.callTimeoutMs ?? 30_000 });
    try {
      await client.connect();
      await client.call('auth.guest', { name: opts.name ? opts.name(i) : `bench-${i}` });
      slots[i] = client;
    } catch (err) {
      errors.add(err);
      void client.close();
    }
    done++;
    if (opts.progress && performance.now() - shownAt > 2000) {
      shownAt = performance.now();
      opts.progress(done);
    }
  });
  return { clients: slots.filter((c): c is LobbyClient => c !== undefined), errors, secs: (performance.now() - t0) / 1000 };
}

/** Closes every client, `concurrency` at a time. */
export async function closeClients(clients: LobbyClient[], concurrency = 500): Promise<void> {
  await pool(clients.length, concurrency, (i) => clients[i]!.close());
}
