import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// The built driver (npx tsc -b): its clients run in worker threads, which load the built bench/dist/peersWorker.js.
import { REPORT_PREFIX, connectAll, type DriverReport, type PeerClient } from '../../bench/dist/peersDriver.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

// The peer harness (../shared/peers) drives Foyer through this module: N clients, each group of R in one game,
// send(msg) says a chat line to the client's game, onChat(msg) gets an equal object ({ t }) at every member.
describe.each([2, 0])('the peers bench driver (bench/peersDriver.ts), clients in %i worker threads (0: the harness\'s own thread)', (workers) => {
  let t: TestNode;
  let clients: PeerClient[];
  const received: { t: number }[] = [];
  const reports: DriverReport[] = [];
  const N = 12;
  const R = 5;

  beforeAll(async () => {
    // The driver's reports to bench/peers.ts (stderr lines) are kept here instead of printed.
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      const s = String(chunk);
      if (s.startsWith(REPORT_PREFIX)) reports.push(JSON.parse(s.slice(REPORT_PREFIX.length)) as DriverReport);
      return true;
    });
    t = await startTestNode({ logLevel: 'warn' });
    clients = await connectAll({ port: t.node.port, N, R, onChat: (m) => received.push(m as { t: number }), concurrency: 10, workers });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it('seats N clients in games of R, the first of each group logged in creating it', async () => {
    expect(clients).toHaveLength(N);
    expect(reports[0]).toMatchObject({ kind: 'joined', clients: N, failed: 0, waitedMs: 0, workers });
    const { body } = await t.admin('GET', '/admin/stats');
    expect(body).toMatchObject({ games: Math.ceil(N / R) });
  });

  it("delivers each client's message, as sent, to every member of its game, the sender included", async () => {
    clients.forEach((c, i) => c.send({ t: 1000 + i }));
    // Groups of 5, 5 and 2: each line reaches its group's size in clients.
    const size = (i: number) => Math.min(R, N - Math.floor(i / R) * R);
    const expected = clients.reduce((n, _, i) => n + size(i), 0);
    await vi.waitFor(() => expect(received.length).toBe(expected), { timeout: 10_000 });
    for (let i = 0; i < N; i++) expect(received.filter((m) => m.t === 1000 + i)).toEqual(Array.from({ length: size(i) }, () => ({ t: 1000 + i })));
    // Closing the last client reports what was sent, the deliveries that called for, what arrived and what was refused
    // (nothing, under the default limits and one line each).
    for (const c of clients.slice(1)) c.close();
    expect(reports).toHaveLength(1);
    clients[0]!.close();
    const sent = reports.at(-1) as Extract<DriverReport, { kind: 'sent' }>;
    expect(sent).toMatchObject({ kind: 'sent', sent: N, offered: expected, received: expected, refused: {}, lost: {} });
    // Each line's latency in legs, split at the server's `at` and the worker's read: whole ms, ordered quantiles.
    for (const leg of [sent.toServerMs, sent.toClientMs, sent.handOverMs]) {
      expect(Number.isInteger(leg.p50) && leg.p50 >= 0).toBe(true);
      expect(leg.p50).toBeLessThanOrEqual(leg.p99);
      expect(leg.p99).toBeLessThanOrEqual(leg.max);
    }
  });
});
