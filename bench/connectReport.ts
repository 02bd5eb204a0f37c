/** bench:connect's results: per transport, and the table and notes printed at the end. */
import { MiB, fmt, fmtInt, pct, say, stats, table, type Stats } from './lib.js';

/** Latencies as the lib summarizes them, and how many took over 5 ms. */
export interface Latency extends Stats {
  over5: number;
}

export function latency(values: ArrayLike<number>): Latency {
  let over5 = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > 5) over5++;
  return { ...stats(values), over5 };
}

export function latencyLine(s: Latency): string {
  return `${fmtInt(s.count)} reqs, p50 ${fmt(s.p50, 2)} ms, p99 ${fmt(s.p99, 2)} ms, p99.9 ${fmt(s.p999, 2)} ms, max ${fmt(s.max, 1)} ms, ${fmtInt(s.over5)} over 5 ms`;
}

/** What the table needs of the run's flags. */
export interface ReportConfig {
  N: number;
  RATE: number;
  INFLIGHT: number;
  HEARTBEAT: boolean;
  GC: boolean;
}

export interface Result {
  transport: string;
  actual: string;
  conns: number;
  connPerSec: number;
  rssBefore: number;
  rssAfter: number;
  rssPeak: number;
  heapBefore: Record<string, number>;
  heapAfter: Record<string, number>;
  heapMid?: Record<string, number>;
  rssMid?: number;
  rssBeforeGc?: number;
  /** The idle server's RSS before any GC (start-up garbage included). */
  rssIdleRaw?: number;
  rssMidGc?: number;
  rssAfterGc?: number;
  /** RSS bytes per session from N/2 to N sessions. */
  marginal?: number;
  /** Sessions at the reading halfway (the marginal figures run from there). */
  midConns?: number;
  flat: { rtPerSec: number; p50: number; p99: number; serverCpu: number; clientCpu: number; otherCpu: number; sweeps: number };
  steady: Latency | undefined;
  steadyHasSweep?: boolean;
  /** 'sweep' (every connection at once), 'spread' or 'unknown'. */
  heartbeatStyle?: string;
  full: Latency | undefined;
  fullS?: number;
  sweep: Latency | undefined;
  sweepMs?: number;
  sweepPings?: number;
  probeSteady: Latency | undefined;
  probeSweep: Latency | undefined;
  pacedAchieved: number;
  paceErrors?: number;
  lagP99: number;
  lagMax: number;
  pacedCpu: { server: number; client: number; other: number };
  errors: string[];
  stopped: string;
  snapshot: string | undefined;
}

export function printTable(cfg: ReportConfig, results: Result[], notes: string[]): void {
  const { N, RATE, INFLIGHT, HEARTBEAT, GC } = cfg;
  const rate = `@ ${fmtInt(RATE)}/s`;
  const head = ['transport', 'conns', 'conn/s', 'RSS growth MiB', 'after GC MiB', 'KiB/conn', 'marginal KiB/conn', 'max rt/s', `p50 ms ${rate}`, `p99 ms ${rate}`, 'probe p99 ms'];
  if (HEARTBEAT) head.push('p99 ms incl. heartbeat', 'max ms in heartbeat');
  const rows = results.map((r) => {
    const growth = r.rssAfter - r.rssBefore;
    const row = [
      r.actual === r.transport ? r.transport : `${r.transport} (fell back to ${r.actual})`,
      fmtInt(r.conns),
      fmtInt(r.connPerSec),
      fmt(growth / MiB),
      fmt(((r.rssAfterGc ?? NaN) - (r.rssBeforeGc ?? NaN)) / MiB),
      fmt(growth / 1024 / Math.max(1, r.conns), 2),
      fmt((r.marginal ?? NaN) / 1024, 2),
      fmtInt(r.flat.rtPerSec),
      fmt(r.steady?.p50 ?? NaN, 2),
      fmt(r.steady?.p99 ?? NaN, 2) + (r.steadyHasSweep ? '*' : ''),
      fmt(r.probeSteady?.p99 ?? NaN, 2),
    ];
    if (HEARTBEAT) row.push(fmt(r.full?.p99 ?? NaN, 2), fmt(r.sweep?.max ?? NaN, 1));
    return row;
  });
  say('\n' + table(head, rows) + '\n');
  for (const r of results) {
    const mib = (v: number | undefined) => fmt((v ?? NaN) / MiB);
    const three = (k: string) => `${mib(r.heapBefore[k])} → ${mib(r.heapMid?.[k])} → ${mib(r.heapAfter[k])}`;
    const outside = (rss: number | undefined, heap: Record<string, number> | undefined) => (rss ?? NaN) - (heap?.heap_size_total_bytes ?? NaN);
    say(`${r.transport}:`);
    say(
      `  memory (MiB; 0 → ${fmtInt(Math.floor(N / 2))} → ${fmtInt(r.conns)} sessions): RSS ${mib(r.rssIdleRaw)} → ${mib(r.rssMid)} → ${mib(r.rssAfter)} ` +
        `(after a full GC ${mib(r.rssBeforeGc)} → ${mib(r.rssMidGc)} → ${mib(r.rssAfterGc)}; peak over the run ${mib(r.rssPeak)}); ` +
        (GC ? 'after GC: ' : '') +
        `V8 heap used ${three('heap_size_used_bytes')} (old space ${three('heap_space_size_used_bytes_old')}), ` +
        `V8 heap reserved ${three('heap_size_total_bytes')} (new space ${three('heap_space_size_total_bytes_new')}); ` +
        `RSS outside the V8 heap ${mib(outside(GC ? r.rssBeforeGc : r.rssBefore, r.heapBefore))} → ${mib(outside(GC ? r.rssMidGc : r.rssMid, r.heapMid))} → ${mib(outside(GC ? r.rssAfterGc : r.rssAfter, r.heapAfter))}` +
        (r.snapshot ? `; heap snapshot ${r.snapshot}` : ''),
    );
    if (r.midConns !== undefined && r.heapMid) say(`  ${marginalSplit(r, GC)}`);
    say(
      `  flat out: ${fmtInt(r.flat.rtPerSec)} rt/s, p50 ${fmt(r.flat.p50, 2)} / p99 ${fmt(r.flat.p99, 2)} ms at ${INFLIGHT} in flight; ` +
        `CPU server ${pct(r.flat.serverCpu)}, bench ${pct(r.flat.clientCpu)}, other ${pct(r.flat.otherCpu)} of a core → server alone ≈ ${fmtInt(r.flat.rtPerSec / r.flat.serverCpu)} rt/s per core`,
    );
    if (r.steady) {
      say(`  paced steady: ${latencyLine(r.steady)}${r.steadyHasSweep ? ' (* a heartbeat sweep fell in it)' : ''}; probe thread ${latencyLine(r.probeSteady!)}`);
      if (r.full) say(`  paced over one whole heartbeat interval (${fmt(r.fullS ?? NaN, 1)} s): ${latencyLine(r.full)}`);
      if (r.sweep) {
        const what = r.heartbeatStyle === 'sweep' ? 'the heartbeat sweep' : 'the largest burst of heartbeat pings';
        say(`  around ${what} (${r.sweepPings} pings over ${fmt(r.sweepMs ?? NaN, 0)} ms): ${latencyLine(r.sweep)}; probe thread ${latencyLine(r.probeSweep!)}`);
      }
      say(
        `  paced sent at ${fmtInt(r.pacedAchieved)}/s, lag behind schedule p99 ${fmt(r.lagP99, 2)} ms / max ${fmt(r.lagMax, 1)} ms; ` +
          `CPU server ${pct(r.pacedCpu.server)}, bench ${pct(r.pacedCpu.client)}, other ${pct(r.pacedCpu.other)}`,
      );
    }
    if (r.errors.length) say(`  ERRORS: ${r.errors.join('; ')}`);
    say(`  server ${r.stopped}`);
  }
  const busy = results.filter((r) => r.flat.otherCpu > 0.15 || r.pacedCpu.other > 0.15);
  if (busy.length) {
    notes.push(
      `OTHER PROCESSES used CPU during the run (${busy.map((r) => `${r.transport}: ${pct(Math.max(r.flat.otherCpu, r.pacedCpu.other))} of a core`).join(', ')}): ` +
        'on a 2-core machine that skews every number; rerun on a quiet machine.',
    );
  }
  notes.push(
    'latency: from handing a request to the SDK to its reply, on this process\'s clock; the paced run is open loop in 1 ms ticks. ' +
      '"max ms in heartbeat" covers requests sent from 0.5 s before the heartbeat sweep (or, when the server spreads its pings, the largest burst of them) reached the clients until 0.5 s after. ' +
      `Heartbeat: ${results.map((r) => `${r.transport} ${r.heartbeatStyle ?? '-'}`).join(', ')}.`,
  );
  say('\nNotes:\n' + notes.map((s) => `- ${s}`).join('\n'));
}

/**
 * The marginal memory per session split: V8 heap used, the young generation
 * (its size follows the allocation rate, not the sessions: V8 may leave it
 * grown after a full GC, up to --max-semi-space-size), the rest of the heap's
 * free room, and RSS outside the V8 heap.
 */
function marginalSplit(r: Result, gc: boolean): string {
  const n = Math.max(1, r.conns - r.midConns!);
  const a = r.heapMid!;
  const b = r.heapAfter;
  const kib = (v: number) => fmt(v / n / 1024, 2);
  const d = (k: string) => (b[k] ?? NaN) - (a[k] ?? NaN);
  const rss = (gc ? (r.rssAfterGc ?? NaN) - (r.rssMidGc ?? NaN) : r.rssAfter - (r.rssMid ?? NaN));
  const young = d('heap_space_size_total_bytes_new');
  const used = d('heap_size_used_bytes');
  return (
    `marginal KiB/session (${fmtInt(r.midConns!)} → ${fmtInt(r.conns)}${gc ? ', after a full GC' : ''}): ${kib(rss)} = V8 heap used ${kib(used)} ` +
    `+ young generation ${kib(young)} + the heap's other free room ${kib(d('heap_size_total_bytes') - used - young)} + outside the V8 heap ${kib(rss - d('heap_size_total_bytes'))}; ` +
    `without the young generation ${kib(rss - young)}`
  );
}
