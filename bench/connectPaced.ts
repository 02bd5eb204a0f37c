/**
 * bench:connect's paced run: requests at a fixed rate, open loop, spread
 * round-robin over every connection, for one whole heartbeat interval (or
 * --duration-s), with the probe thread pinging lightly all along.
 */
import { Worker } from 'node:worker_threads';
import type { LobbyClient } from '@foyer/client-sdk';
import { Errors, cpuBetween, cpuSnapshot, fmt, fmtInt, now, pct, percentile, sleep, type CpuSnapshot } from './lib.js';
import { CALL_TIMEOUT_MS } from './connectProbe.js';
import { latency, latencyLine, type Result } from './connectReport.js';
import type { ConnectConfig } from './connectRun.js';

// ---- heartbeat sweeps, as the clients see them ----

/**
 * A burst of server pings as the clients see them (pings less than
 * BURST_GAP_MS apart): every connection at once if the gateway pings in one
 * sweep, a slice of them if it spreads its pings over the interval (the
 * gateway pings a slice every 100 ms).
 */
const BURST_GAP_MS = 50;
export interface Sweep {
  start: number;
  last: number;
  count: number;
}
export const sweeps: Sweep[] = [];
export function onServerPing(): void {
  const t = now();
  const s = sweeps.at(-1);
  if (s && t - s.last < BURST_GAP_MS) (s.last = t), s.count++;
  else sweeps.push({ start: t, last: t, count: 1 });
}


/** CPU of the server and of this process (all threads) now. */
export function cpuNow(serverPid: number): CpuSnapshot {
  return cpuSnapshot([serverPid, process.pid]);
}

/** CPU used between two readings, as shares of one core: the server, this process and everything else. */
export function cpuShares(a: CpuSnapshot, b: CpuSnapshot): { server: number; client: number; other: number } {
  const { procs, other } = cpuBetween(a, b);
  return { server: procs[0]!, client: procs[1]!, other };
}

/**
 * Watches the heartbeat pings from `after` on: a burst that reaches at least
 * half the connections is a whole sweep (returned once it is over); two
 * smaller bursts mean the server spreads its pings ('spread').
 */
async function heartbeatStyle(after: number, n: number, timeoutMs: number): Promise<Sweep | 'spread' | undefined> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const seen = sweeps.filter((w) => w.start > after);
    const whole = seen.find((w) => w.count >= n / 2);
    if (whole && now() - whole.last > 300) return whole;
    if (!whole && seen.filter((w) => now() - w.last > 300).length >= 2) return 'spread';
    await sleep(20);
  }
  return undefined;
}

/** 3. Paced, open loop: request k goes out at start + k/RATE whether or not earlier ones were answered. */
export async function runPaced(
  cfg: ConnectConfig,
  server: { pid: number; url: string },
  clients: LobbyClient[],
  r: Result,
  notes: string[],
  log: (s: string) => void,
  selfGc: () => void,
): Promise<void> {
  const { RATE, DURATION_S, HEARTBEAT, HEARTBEAT_MS, flags } = cfg;
  const transport = r.transport;
  const url = server.url;
  const n = clients.length;
    selfGc();
    await sleep(300);
    let aligned: Sweep | undefined;
    let style = 'unknown';
    if (HEARTBEAT) {
      // A server that pings everyone in one sweep: start right after one, so the steady window holds none
      // and the next comes ~15 s later. One that spreads its pings: nothing to wait for.
      log('paced: watching the heartbeat pings (one sweep over every connection, or spread?)…');
      const hb = await heartbeatStyle(now() - 100, n, HEARTBEAT_MS + 5_000);
      if (hb === 'spread') style = 'spread';
      else if (hb) (aligned = hb), (style = 'sweep');
      else notes.push(`${transport}: saw neither a heartbeat sweep nor spread pings within ${HEARTBEAT_MS + 5000} ms; the paced run was not aligned.`);
      log(`  heartbeat: ${style === 'sweep' ? `one sweep (${hb && hb !== 'spread' ? hb.count : '?'} pings over ${hb && hb !== 'spread' ? fmt(hb.last - hb.start, 0) : '?'} ms); starting right after it` : style === 'spread' ? 'pings spread over the interval' : 'unknown'}`);
      if (aligned) await sleep(300);
    }
    selfGc();
    r.heartbeatStyle = HEARTBEAT ? style : 'not watched (--skip-heartbeat)';
    const probe = new Worker(new URL('./connectProbe.js', import.meta.url), { workerData: { url } });
    const probeResult = new Promise<{ sent: number[]; lat: number[] }>((resolve, reject) => {
      probe.on('message', (m: unknown) => typeof m === 'object' && resolve(m as { sent: number[]; lat: number[] }));
      probe.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      probe.once('message', () => resolve());
      probe.once('error', reject);
    });

    const maxS = HEARTBEAT ? Math.max(DURATION_S, HEARTBEAT_MS / 1000) + (aligned ? 6 : 0) : DURATION_S;
    const cap = Math.ceil(RATE * maxS);
    const sentAt = new Float64Array(cap);
    const lat = new Float64Array(cap).fill(NaN);
    const lag = new Float64Array(cap);
    const pacedErrors = new Errors();
    const cpuSamples: [number, CpuSnapshot][] = [];
    let sent = 0;
    let done = 0;
    let stopAt = Infinity; // set once the run may end
    probe.postMessage('start');
    const cpu0 = cpuNow(server.pid);
    const start = now();
    const steadyEnd = start + DURATION_S * 1000;
    await new Promise<void>((resolve) => {
      const settle = () => ++done === sent && sent >= stopAt && resolve();
      const tick = () => {
        const t = now();
        if (flags.timeline && t - (cpuSamples.at(-1)?.[0] ?? 0) >= 10) cpuSamples.push([t, cpuNow(server.pid)]);
        const due = Math.min(cap, Math.floor(((t - start) / 1000) * RATE));
        while (sent < due && sent < stopAt) {
          const k = sent++;
          const ts = performance.now();
          sentAt[k] = performance.timeOrigin + ts;
          lag[k] = sentAt[k]! - (start + (k * 1000) / RATE);
          // No SDK timer per call (timeoutMs: Infinity): 10,000 timers armed and cleared a second are
          // load-generator work that adds to its own jitter. The drain deadline below bounds the wait instead.
          clients[k % n]!.call('session.ping', { t: k }, { timeoutMs: Infinity }).then(
            () => {
              lat[k] = performance.now() - ts;
              settle();
            },
            (err: unknown) => {
              pacedErrors.add(err);
              settle();
            },
          );
        }
        if (stopAt === Infinity) {
          // Aligned to a sweep: on until the next whole sweep is over. Otherwise: one heartbeat interval (or --duration-s).
          const next = aligned && sweeps.find((w) => w.start > aligned!.last + 1000 && w.count >= n / 2);
          const enough = aligned ? t >= steadyEnd && next !== undefined && t - next.last > 500 : t - start >= maxS * 1000;
          if (enough || sent >= cap) stopAt = sent;
        }
        if (sent < stopAt) setTimeout(tick, 1);
        else if (done === sent) resolve();
        else
          setTimeout(() => {
            if (done < sent) pacedErrors.add(new Error(`${sent - done} pings had no reply ${CALL_TIMEOUT_MS / 1000} s after the last was sent`));
            resolve();
          }, CALL_TIMEOUT_MS).unref();
      };
      tick();
    });
    const end = now();
    probe.postMessage('stop');
    const pr = await probeResult;
    const cpu = cpuShares(cpu0, cpuNow(server.pid));
    r.pacedCpu = { server: cpu.server, client: cpu.client, other: cpu.other };
    r.pacedAchieved = sent / ((sentAt[sent - 1]! - start) / 1000);
    r.paceErrors = pacedErrors.count;
    if (pacedErrors.count) r.errors.push(`${pacedErrors.count} paced pings failed: ${pacedErrors}`);
    const lags = lag.slice(0, sent).sort();
    r.lagP99 = percentile(lags, 99);
    r.lagMax = lags[lags.length - 1] ?? NaN;

    // The heartbeat burst to look at: the whole sweep in the run, else the largest slice of pings.
    const inRun = sweeps.filter((w) => w.start > start && w.start < end);
    const sweep = inRun.find((w) => w.count >= n / 2) ?? inRun.reduce<Sweep | undefined>((a, w) => (a && a.count >= w.count ? a : w), undefined);
    const inSweep = (t: number) => sweep !== undefined && t >= sweep.start - 500 && t <= sweep.last + 500;
    const pick = (from: number, to: number, exclude = false) => {
      const out: number[] = [];
      for (let k = 0; k < sent; k++) if (sentAt[k]! >= from && sentAt[k]! < to && !(exclude && inSweep(sentAt[k]!))) out.push(lat[k]!);
      return latency(out);
    };
    const pickProbe = (pred: (t: number) => boolean) => latency(pr.lat.filter((_, i) => pred(pr.sent[i]!)));
    const steadyHasSweep = sweeps.some((w) => w.count >= n / 2 && w.last >= start && w.start < steadyEnd);
    r.steady = pick(start, steadyEnd);
    r.steadyHasSweep = steadyHasSweep;
    r.probeSteady = pickProbe((t) => t >= start && t < steadyEnd);
    if (HEARTBEAT && sweep) {
      // One whole heartbeat interval from the end of the previous sweep: what a long run sees.
      const intervalEnd = aligned ? Math.min(end, aligned.start + HEARTBEAT_MS + (sweep.last - sweep.start) + 500) : end;
      r.full = pick(start, intervalEnd);
      r.fullS = (intervalEnd - start) / 1000;
      r.sweep = pick(sweep.start - 500, sweep.last + 500);
      r.sweepMs = sweep.last - sweep.start;
      r.sweepPings = sweep.count;
      r.probeSweep = pickProbe(inSweep);
    }
    log(
      `paced ${fmtInt(RATE)} req/s (sent at ${fmtInt(r.pacedAchieved)}/s, lag behind schedule p99 ${fmt(r.lagP99, 2)} ms, max ${fmt(r.lagMax, 1)} ms); ` +
        `CPU: server ${pct(cpu.server)}, bench ${pct(cpu.client)}, other processes ${pct(cpu.other)}`,
    );
    log(`  steady ${DURATION_S} s${steadyHasSweep ? ' (A WHOLE HEARTBEAT SWEEP FELL IN IT)' : ''}: ${latencyLine(r.steady)}; probe thread: ${latencyLine(r.probeSteady)}`);
    if (r.full) log(`  one whole heartbeat interval (${fmt(r.fullS ?? NaN, 1)} s, heartbeat pings included): ${latencyLine(r.full)}`);
    if (r.sweep) {
      log(
        `  around the ${style === 'sweep' ? 'heartbeat sweep' : 'largest burst of heartbeat pings'} (${r.sweepPings} pings reached clients over ${fmt(r.sweepMs ?? NaN, 0)} ms): ${latencyLine(r.sweep)}; ` +
          `probe thread: ${latencyLine(r.probeSweep!)}`,
      );
    } else if (HEARTBEAT) notes.push(`${transport}: no heartbeat pings during the paced run; its heartbeat columns are empty.`);

    if (flags.timeline) {
      for (let b = 0; b * 100 < end - start; b++) {
        const from = start + b * 100;
        const to = from + 100;
        let cnt = 0;
        let maxLat = 0;
        let maxLag = 0;
        for (let k = 0; k < sent; k++) {
          if (sentAt[k]! < from || sentAt[k]! >= to) continue;
          cnt++;
          maxLat = Math.max(maxLat, lat[k]!);
          maxLag = Math.max(maxLag, lag[k]!);
        }
        const burst = sweeps.filter((w) => w.start < to && w.last >= from).reduce((a, w) => a + w.count, 0);
        const pings = burst ? `pings ${burst}` : '';
        const a = cpuSamples.filter(([t]) => t < from).at(-1);
        const z = cpuSamples.filter(([t]) => t < to).at(-1);
        const c = a && z && z[0] > a[0] ? cpuShares(a[1], z[1]) : undefined;
        log(
          `  t=${fmt(b / 10, 1)}s sent ${cnt} max ${fmt(maxLat, 1)} ms lag ${fmt(maxLag, 1)} ms ${pings}` +
            (c ? ` cpu server ${pct(c.server)} bench ${pct(c.client)} other ${pct(c.other)}` : ''),
        );
      }
    }
}
