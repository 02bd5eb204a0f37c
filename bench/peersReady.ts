/**
 * Measurement aid that `npm run bench:peers` preloads into the Foyer node
 * (`node --import …/peersReady.js server/dist/main.js`); nothing else in the
 * server changes. The peer harness starts measuring when the server prints a
 * line matching READY or "listening" (or after 8 s), and Foyer prints
 * "Foyer lobby on …" instead. This module writes "READY" once the node has
 * printed that line and then gone quiet (its embedded database keeps working
 * for a while after the node listens, which must not count as the clients'
 * memory). Written through process.stdout.write, so the harness's gcpre.mjs,
 * when also preloaded, still holds it back for its two full GCs.
 */
import { performance } from 'node:perf_hooks';

const LISTENING = /^Foyer lobby on /;
/** After this much uptime the harness is about to stop waiting (8 s): say READY now rather than settle longer. */
const SETTLE_UNTIL_S = 6;
/** A READY line this late would come during the harness's join phase (and gcpre's GCs with it): leave it out. */
const TOO_LATE_S = 6.5;

const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
let seen = false;
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  const done = write(chunk, ...rest);
  if (!seen && LISTENING.test(typeof chunk === 'string' ? chunk : String(chunk))) {
    seen = true;
    if (process.uptime() < TOO_LATE_S) void readyWhenQuiet();
  }
  return done;
}) as typeof process.stdout.write;

/** Quiet: under 5 % of a core and RSS within 2 MiB over half a second. */
async function readyWhenQuiet(): Promise<void> {
  let cpu = process.cpuUsage();
  let rss = process.memoryUsage.rss();
  let at = performance.now();
  while (process.uptime() < SETTLE_UNTIL_S) {
    await new Promise((r) => setTimeout(r, 500).unref());
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
