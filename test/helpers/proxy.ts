import net from 'node:net';

/**
 * A TCP proxy in front of a node, so a test can cut the network under a
 * client (both sockets destroyed, no close frame) the way a lost Wi-Fi does.
 */
export interface Proxy {
  port: number;
  /** Destroys every connection through the proxy. */
  cut(): void;
  /** Stops reading from the server on every connection: the client becomes a reader that never reads. */
  stall(): void;
  /** Reads from the server again after stall(): the slow reader catches up. */
  resume(): void;
  /** While blocked, new connections are dropped at once, as if the network were down. */
  block(blocked: boolean): void;
  /**
   * A server that accepts and never answers: nothing more flows on the
   * connections there are, and new ones are accepted and left silent.
   * Turned off, everything flows again, what waited included (a network
   * that comes back, a server that was stuck and goes on).
   */
  blackhole(on: boolean): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let blocked = false;
  let silent = false;
  const held = new Set<net.Socket>();
  const through = (client: net.Socket) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };
  const server = net.createServer((client) => {
    if (blocked) return void client.destroy();
    if (!silent) return through(client);
    held.add(client);
    client.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      pairs.clear();
    },
    stall() {
      for (const [, upstream] of pairs) {
        upstream.unpipe();
        upstream.pause();
      }
    },
    resume() {
      for (const [client, upstream] of pairs) upstream.pipe(client);
    },
    block(b) {
      blocked = b;
    },
    blackhole(on) {
      silent = on;
      for (const [client, upstream] of pairs) {
        if (on) {
          client.unpipe();
          upstream.unpipe();
        } else client.pipe(upstream).pipe(client);
      }
      if (on) return;
      for (const h of held) through(h);
      held.clear();
    },
    close: () => new Promise<void>((r) => {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      for (const h of held) h.destroy();
      server.close(() => r());
    }),
  };
}
