/** Summaries of V8 CPU profiles. */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fmt, pct } from './format.js';

// ---- CPU profiles ----

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** The newest .cpuprofile in `dir`. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files.at(-1)!) : undefined;
}

/** Where a profile frame's code lives, short: `server/gateway/gateway.js`, `node_modules/zod`, `node:internal/…`. */
function whereOf(url: string): string {
  if (!url) return '(native/V8)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const m = /\/(server|shared|client-sdk|bench)\/dist\/(.*)$/.exec(u);
  if (m) return `${m[1]}/${m[2]}`;
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  if (u.startsWith('wasm://')) return '(WebAssembly)';
  return basename(u);
}

/**
 * Self time per function of a .cpuprofile (from the sample deltas), the top
 * `top` functions, and self time per file or package — as printable lines.
 * `(idle)` is shown but not counted in the shares of busy time.
 */
export function summarizeProfile(file: string, top = 25): string[] {
  const { total, idle, busy, fnSelf, fileSelf } = profileSelfTimes(file);
  const lines: string[] = [];
  lines.push(`profile ${file}: ${fmt(total / 1000, 0)} ms sampled, ${fmt(busy / 1000, 0)} ms busy (${pct(busy / Math.max(1, total))}), idle ${fmt(idle / 1000, 0)} ms`);
  lines.push(`top ${top} functions by self time (share of busy time):`);
  const rows = [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) lines.push(`  ${fmt(us / 1000, 1).padStart(8)} ms ${pct(us / busy, 1).padStart(6)}  ${k}`);
  lines.push('self time by file or package:');
  for (const [k, us] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${fmt(us / 1000, 1).padStart(8)} ms ${pct(us / busy, 1).padStart(6)}  ${k}`);
  return lines;
}

/**
 * Self time (µs) of a .cpuprofile: in all, idle, busy (all but idle), per
 * function (`name  where:line`) and per file or package (`where`).
 */
export function profileSelfTimes(file: string): { total: number; idle: number; busy: number; fnSelf: Map<string, number>; fileSelf: Map<string, number> } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample.
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const where = whereOf(cf.url);
    const key = `${cf.functionName || '(anonymous)'}  ${where}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const fileKey = cf.url ? where : cf.functionName.startsWith('(') ? cf.functionName : '(native/V8)';
    fileSelf.set(fileKey, (fileSelf.get(fileKey) ?? 0) + us);
  }
  return { total, idle, busy: total - idle, fnSelf, fileSelf };
}
