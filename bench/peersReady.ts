/**
 * Measurement aid that `npm run bench:peers` preloads into the Foyer node
 * (`node --import …/peersReady.js server/dist/main.js`); nothing else in the
 * server changes. The peer harness starts measuring when the server prints a
 * line matching READY or "listening" (or after 8 s), and Foyer prints
 * "Foyer lobby on …" instead, through its own stream on fd 1. This module
 * writes "READY" once the node accepts connections on its PORT and has then
 * gone quiet (its embedded database keeps working for a while after the node
 * listens, which must not count as the clients' memory). Written through
 * process.stdout.write, so the harness's gcpre.mjs, when also preloaded,
 * still holds it back for its two full GCs.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

/** After this much uptime the harness is about to stop waiting (8 s): say READY now rather than settle longer. */
const SETTLE_UNTIL_S = 6;
/** A READY line this late would come during the harness's join phase (and gcpre's GCs with it): leave it out. */
const TOO_LATE_S = 6.5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });

const port = Number(process.env.PORT);
if (port > 0) void readyWhenListening(port);

async function readyWhenListening(port: number): Promise<void> {
  while (process.uptime() < TOO_LATE_S) {
    if (await accepts(port)) return readyWhenQuiet();
    await sleep(100);
  }
}

/** Quiet: under 5 % of a core and RSS within 2 MiB over half a second. */
async function readyWhenQuiet(): Promise<void> {
  let cpu = process.cpuUsage();
  let rss = process.memoryUsage.rss();
  let at = performance.now();
  while (process.uptime() < SETTLE_UNTIL_S) {
    await sleep(500);
    const used = process.cpuUsage(cpu);
    const nowRss = process.memoryUsage.rss();
    const busy = (used.user + used.system) / 1000 / (performance.now() - at);
    const quiet = busy < 0.05 && Math.abs(nowRss - rss) < 2 * 1024 * 1024;
    cpu = process.cpuUsage();
    rss = nowRss;
    at = performance.now();
    if (quiet) break;
  }
  process.stdout.write('READY\n');
}
