import { Writable } from 'node:stream';
import { LobbyClient, type LobbyClientOptions } from '@foyer/client-sdk';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../server/src/config.js';
import { startNode, type LobbyNode } from '../../server/src/node.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef0123';

/** Transport under test: each integration test file runs once per transport (vitest projects). */
export const transport = (process.env.FOYER_TRANSPORT ?? 'uws') as 'uws' | 'ws';

export interface TestNode {
  node: LobbyNode;
  url: string;
  httpUrl: string;
  /** Every log line the node wrote, for tests that check what logs must never contain. */
  logs: string[];
  client(options?: Partial<LobbyClientOptions>): LobbyClient;
  /** A connected client logged in as a guest. */
  guest(name: string, options?: Partial<LobbyClientOptions>): Promise<LobbyClient>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts a node in this process on a free loopback port, on the transport under test. */
export async function startTestNode(overrides: Partial<Config> = {}): Promise<TestNode> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const config = loadConfig([], {}, {
    host: '127.0.0.1',
    port: 0,
    transport,
    logLevel: 'debug',
    tokenSecret: TOKEN_SECRET,
    adminToken: ADMIN_TOKEN,
    // The run's own Postgres database (test/globalSetup.ts): fast to open, shared by the run's nodes.
    databaseUrl: inject('databaseUrl'),
    ...overrides,
  });
  const node = await startNode(config, { logDestination: sink });
  const url = `ws://127.0.0.1:${node.port}`;
  const httpUrl = `http://127.0.0.1:${node.port}`;
  const clients: LobbyClient[] = [];
  const t: TestNode = {
    node,
    url,
    httpUrl,
    logs,
    client(options = {}) {
      const c = new LobbyClient({ url, callTimeoutMs: 5000, reconnect: { minDelayMs: 10, maxDelayMs: 50 }, ...options });
      clients.push(c);
      return c;
    },
    async guest(name, options) {
      const c = t.client(options);
      await c.connect();
      await c.call('auth.guest', { name });
      return c;
    },
    async admin(method, path, body) {
      const res = await fetch(httpUrl + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await node.stop();
    },
  };
  return t;
}

/** Runs `fn` against a fresh node, stopped afterwards whatever happens. */
export async function withNode(overrides: Partial<Config>, fn: (t: TestNode) => Promise<void>): Promise<void> {
  const t = await startTestNode(overrides);
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}
