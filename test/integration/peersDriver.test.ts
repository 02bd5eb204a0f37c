import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPORT_PREFIX, connectAll, type DriverReport, type PeerClient } from '../../bench/peersDriver.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

// The peer harness (../shared/peers) drives Foyer through this module: N clients, each group of R in one game,
// send(msg) says a chat line to the client's game, onChat(msg) gets the same object at every member.
describe('the peers bench driver (bench/peersDriver.ts)', () => {
  let t: TestNode;
  let clients: PeerClient[];
  const received: { t: number; from: number }[] = [];
  const reports: DriverReport[] = [];
  const N = 12;
  const R = 5;

  // The driver's reports to bench/peers.ts (stderr lines) are kept here instead of printed.
  const stderr = vi.spyOn(process.stderr, 'write');

  beforeAll(async () => {
    stderr.mockImplementation((chunk) => {
      const s = String(chunk);
      if (s.startsWith(REPORT_PREFIX)) reports.push(JSON.parse(s.slice(REPORT_PREFIX.length)) as DriverReport);
      return true;
    });
    t = await startTestNode({ logLevel: 'warn' });
    clients = await connectAll({ port: t.node.port, N, R, onChat: (m) => received.push(m as { t: number; from: number }), concurrency: 10 });
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    stderr.mockRestore();
    await t?.stop();
  });

  it('seats N clients in games of R, the first of each group creating it', async () => {
    expect(clients).toHaveLength(N);
    expect(reports[0]).toMatchObject({ kind: 'joined', clients: N, failed: 0, waitedMs: 0 });
    const { body } = await t.admin('GET', '/admin/stats');
    expect(body).toMatchObject({ games: Math.ceil(N / R) });
  });

  it("delivers each client's message, as sent, to every member of its game, the sender included", async () => {
    clients.forEach((c, i) => c.send({ t: 1000 + i, from: i }));
    // Groups of 5, 5 and 2: each line reaches its group's size in clients.
    const expected = clients.reduce((n, _, i) => n + Math.min(R, N - Math.floor(i / R) * R), 0);
    await vi.waitFor(() => expect(received.length).toBe(expected), { timeout: 10_000 });
    for (let i = 0; i < N; i++) {
      const size = Math.min(R, N - Math.floor(i / R) * R);
      expect(received.filter((m) => m.from === i)).toEqual(Array.from({ length: size }, () => ({ t: 1000 + i, from: i })));
    }
    // Closing reports what was sent and refused (nothing, under the default limits and one line each).
    clients[0]!.close();
    expect(reports.at(-1)).toMatchObject({ kind: 'sent', sent: N });
    expect((reports.at(-1) as Extract<DriverReport, { kind: 'sent' }>).refused).toEqual({});
  });
});
