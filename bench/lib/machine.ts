/** Memory and CPU of processes and of the machine from /proc, a quiet machine to measure on, and child processes killed whatever happens. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fmt, pct, say, sleep } from './format.js';

// ---- /proc ----

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
export function memOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

// USER_HZ is 100 on every mainstream Linux.
const TICK_S = 1 / 100;

/** CPU seconds (utime + stime, all threads) a process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/** User and system (kernel: syscalls, and on loopback the TCP work of both ends) CPU seconds of a process. */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) * TICK_S, sys: Number(f[12]) * TICK_S };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

/** Busy CPU seconds of the whole machine (everything but idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const all = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (all.slice(0, 8).reduce((a, b) => a + b, 0) - all[3]! - all[4]!) * TICK_S;
  } catch {
    return NaN;
  }
}

/** CPU of some processes and of the machine at one moment. */
export interface CpuSnapshot {
  at: number;
  procs: { user: number; sys: number }[];
  machine: number;
}

/** CPU seconds of `pids` (use process.pid for this process) and of the machine, now. */
export function cpuSnapshot(pids: number[]): CpuSnapshot {
  return { at: performance.now(), procs: pids.map(cpuTimes), machine: machineBusySeconds() };
}

/**
 * CPU used between two snapshots as shares of one core: each process (total,
 * user, sys), and everything else on the machine.
 */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { procs: number[]; user: number[]; sys: number[]; other: number; secs: number } {
  const secs = (b.at - a.at) / 1000;
  const user = b.procs.map((v, i) => (v.user - a.procs[i]!.user) / secs);
  const sys = b.procs.map((v, i) => (v.sys - a.procs[i]!.sys) / secs);
  const procs = user.map((u, i) => u + sys[i]!);
  const other = Math.max(0, (b.machine - a.machine) / secs - procs.reduce((x, y) => x + y, 0));
  return { procs, user, sys, other, secs };
}

/**
 * Waits until the rest of the machine (everything but this process and its
 * tracked children) uses less than `threshold` of a core over two seconds, for
 * at most `maxS` seconds. Returns the last reading: benches share the machine
 * (other benches, test runs) and say so when it was busy.
 */
export async function waitQuiet(maxS: number, threshold = 0.25, log: (s: string) => void = say): Promise<number> {
  const deadline = performance.now() + Math.min(maxS, quietBudget.left) * 1000;
  const began = performance.now();
  try {
    return await waitQuietUntil(deadline, maxS, threshold, log);
  } finally {
    quietBudget.left = Math.max(0, quietBudget.left - (performance.now() - began) / 1000);
  }
}

/** Seconds a whole bench run may spend in waitQuiet, all calls together (set it from a flag). */
export const quietBudget = { left: 180 };

async function waitQuietUntil(deadline: number, maxS: number, threshold: number, log: (s: string) => void): Promise<number> {
  let said = false;
  for (;;) {
    const pids = [process.pid, ...[...live].map((c) => c.pid!).filter(Boolean)];
    const a = cpuSnapshot(pids);
    await sleep(2000);
    const other = cpuBetween(a, cpuSnapshot(pids)).other;
    if (other < threshold || performance.now() >= deadline) {
      if (other >= threshold) log(`WARNING: other processes still use ${pct(other)} of a core (waited up to ${fmt(Math.min(maxS, (deadline - performance.now()) / 1000 + maxS), 0)} s; the bench's waiting budget is ${quietBudget.left <= 2 ? 'spent' : 'limited'}); measuring anyway`);
      return other;
    }
    if (!said) {
      said = true;
      log(`waiting (up to ${fmt((deadline - performance.now()) / 1000, 0)} s) for a quiet machine: other processes use ${pct(other)} of a core…`);
    }
  }
}

// ---- child processes ----

const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Tracks a child so that killAll() (on exit, signals and the hard timeout) takes it down. */
export function track(child: ChildProcess): ChildProcess {
  installCleanup();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every tracked child still running. */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * The bench's hard bound: after `seconds`, `onTimeout` runs (print what is
 * known), every child is killed and the process exits with 3.
 */
export function hardTimeout(seconds: number, onTimeout: () => void = () => {}): { clear(): void } {
  installCleanup();
  const timer = setTimeout(() => {
    process.stderr.write(`\nbench: hard timeout of ${seconds} s reached; killing child processes\n`);
    try {
      onTimeout();
    } finally {
      killAll();
      process.exit(3);
    }
  }, seconds * 1000);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
}
