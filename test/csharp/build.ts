import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const csharp = fileURLToPath(new URL('../../csharp/', import.meta.url));

/** The Newtonsoft.Json DLL Debian's libnewtonsoft-json-cil-dev installs, as its pkg-config file names it. */
export function newtonsoftDll(): string {
  const pc = readFileSync('/usr/lib/pkgconfig/newtonsoft-json.pc', 'utf8');
  // pkg-config variables (prefix=/usr, libdir=${exec_prefix}/lib…), expanded in order.
  const vars = new Map<string, string>();
  const expand = (v: string) => v.replace(/\$\{(\w+)\}/g, (_, k: string) => vars.get(k) ?? '');
  for (const [, k, v] of pc.matchAll(/^(\w+)=(.*)$/gm)) vars.set(k!, expand(v!.trim()));
  const dll = /-r:(\S+\.dll)/.exec(expand(pc))?.[1];
  if (!dll || !existsSync(dll)) throw new Error(`newtonsoft-json.pc names no DLL that exists: ${pc}`);
  return dll;
}

function sources(dir: string): string[] {
  return readdirSync(path.join(csharp, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.cs'))
    .sort()
    .map((f) => path.join(csharp, dir, f));
}

/**
 * Builds the library (Foyer.dll, C# 7.2 as Mono's mcs takes it: what Unity
 * takes too) and the test program (FoyerTests.exe) against it, warnings as
 * errors. Cached by a hash of every source, so a run whose C# did not change
 * reuses the last build.
 */
export async function buildCsharp(): Promise<{ dir: string; exe: string }> {
  const nj = newtonsoftDll();
  const lib = sources('src');
  const tests = sources('tests');
  const hash = createHash('sha256');
  for (const f of [...lib, ...tests]) hash.update(path.relative(csharp, f)).update('\0').update(readFileSync(f)).update('\0');
  hash.update(nj);
  const dir = path.join(tmpdir(), `foyer-csharp-${hash.digest('hex').slice(0, 16)}`);
  const exe = path.join(dir, 'FoyerTests.exe');
  if (existsSync(exe)) return { dir, exe };
  // Built aside and renamed into place, so a concurrent run never sees half a build.
  const work = `${dir}.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const mcs = (args: string[]) => run('/usr/bin/mcs', ['-langversion:7.2', '-warnaserror+', '-nologo', `-r:${nj}`, ...args], { maxBuffer: 16 << 20 });
  await mcs(['-target:library', `-out:${path.join(work, 'Foyer.dll')}`, ...lib]);
  await mcs([`-r:${path.join(work, 'Foyer.dll')}`, '-r:System.Core', `-out:${path.join(work, 'FoyerTests.exe')}`, ...tests]);
  copyFileSync(nj, path.join(work, 'Newtonsoft.Json.dll'));
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // Another run got there first.
  }
  return { dir, exe };
}

/** Runs the test program; every line it prints is one JSON object. */
export async function runCsharp(exe: string, args: string[], timeoutMs: number): Promise<{ steps: Record<string, any>[]; code: number; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  try {
    ({ stdout, stderr } = await run('/usr/bin/mono', ['--debug', exe, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    stdout = e.stdout ?? '';
    stderr = e.stderr ?? String(err);
    code = typeof e.code === 'number' ? e.code : 1;
  }
  const steps = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
  return { steps, code, stderr };
}
