/**
 * `npm run bench:peers -- --profile-joins`: where a Foyer join spends its
 * time. One node (uws, in-memory storage, the peers bench's limits) is
 * profiled (V8 CPU profiler through its inspector) while the peers driver
 * logs N clients in as guests and seats them in games of R — the harness's
 * join phase, without the harness. Prints the joins/s, the profile's top
 * self-time functions and its self time by file or package (PGlite is
 * node_modules/@electric-sql/pglite plus its WebAssembly), and the server
 * time per op from the node's /metrics.
 */
import { performance } from 'node:perf_hooks';
import { connectAll } from './peersDriver.js';
import { cpuTimes, fmt, fmtInt, histogramPercentile, metricSum, metricsOf, pct, profileSelfTimes, say, settle, startProfile, startServer, stopServer, summarizeProfile, table } from './lib.js';

const DURATION = 'foyer_request_duration_seconds';

export async function profileJoins(opts: { clients: number; room: number; env: Record<string, string> }): Promise<void> {
  // startServer passes this process's environment on to the node.
  Object.assign(process.env, opts.env);
  const server = await startServer({ transport: 'uws', inspect: true });
  await settle(server);
  const before = await metricsOf(server.port);
  const profile = await startProfile(server, 'peers-joins');
  const cpu0 = cpuTimes(server.pid);
  const t0 = performance.now();
  const clients = await connectAll({ port: server.port, N: opts.clients, R: opts.room, onChat: () => {} });
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuTimes(server.pid);
  const file = await profile.stop();
  const after = await metricsOf(server.port);
  say(`${clients.length} of ${opts.clients} clients logged in and seated in games of ${opts.room} in ${fmt(secs, 1)} s: ${fmtInt(clients.length / secs)} joins/s (node on ${server.transport})`);
  say();
  for (const line of summarizeProfile(file, 25)) say(line);
  // The node's only WebAssembly is PGlite's Postgres.
  const self = profileSelfTimes(file);
  const storage = (self.fileSelf.get('node_modules/@electric-sql/pglite') ?? 0) + (self.fileSelf.get('(WebAssembly)') ?? 0);
  say(`storage (PGlite in memory: its JavaScript and its WebAssembly): ${fmt(storage / 1000, 0)} ms, ${pct(storage / self.busy, 1)} of busy time; busy CPU per client seated: ${fmt(self.busy / 1000 / clients.length, 2)} ms`);
  // The profile samples wall-clock time (a node waiting for a core looks busy); /proc counts the CPU it got.
  const per = (s: number) => fmt((s * 1000) / clients.length, 2);
  say(`the node's CPU (/proc, profiler on) per client seated: ${per(cpu1.user - cpu0.user + cpu1.sys - cpu0.sys)} ms (user ${per(cpu1.user - cpu0.user)}, sys ${per(cpu1.sys - cpu0.sys)})`);

  const ops = new Set<string>();
  for (const k of after.keys()) if (k.startsWith(`${DURATION}_count{`)) ops.add(/op="([^"]+)"/.exec(k)![1]!);
  const rows = [...ops]
    .map((op) => {
      const count = metricSum(after, `${DURATION}_count`, `op="${op}"`) - metricSum(before, `${DURATION}_count`, `op="${op}"`);
      const ms = (metricSum(after, `${DURATION}_sum`, `op="${op}"`) - metricSum(before, `${DURATION}_sum`, `op="${op}"`)) * 1000;
      return { op, count, ms, p99: histogramPercentile(before, after, DURATION, op, 99) * 1000 };
    })
    .filter((r) => r.count > 0)
    .sort((a, b) => b.ms - a.ms);
  say();
  say('server time per op over the joins (request frame to reply, from /metrics; p99 is a bucket bound):');
  say(table(['op', 'requests', 'total ms', 'mean ms', 'p99 ≤ ms'], rows.map((r) => [r.op, fmtInt(r.count), fmtInt(r.ms), fmt(r.ms / r.count, 2), fmt(r.p99, 1)])));
  for (const c of clients) c.close();
  say();
  say(`server: ${await stopServer(server)}`);
}
