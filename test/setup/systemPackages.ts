import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/** A program some tests need that npm does not bring: a Debian package and the binary it installs. */
export interface SystemPackage {
  /** Debian package name. */
  pkg: string;
  /** Absolute path of the binary the tests run. */
  bin: string;
  /** Which tests need it, for the messages. */
  neededBy: string;
}

export const CHROMIUM: SystemPackage = { pkg: 'chromium', bin: '/usr/bin/chromium', neededBy: 'the browser tests (test/e2e)' };

/** Mono's C# compiler and runtime, and Newtonsoft.Json (its pkg-config file names the DLL), for the C# client's tests (test/csharp). */
export const MONO: SystemPackage[] = [
  { pkg: 'mono-mcs', bin: '/usr/bin/mcs', neededBy: 'the C# client tests (test/csharp)' },
  { pkg: 'mono-devel', bin: '/usr/bin/mono', neededBy: 'the C# client tests (test/csharp)' },
  { pkg: 'libnewtonsoft-json-cil-dev', bin: '/usr/lib/pkgconfig/newtonsoft-json.pc', neededBy: 'the C# client tests (test/csharp)' },
];

/** What the set-up may look at and do on this machine; tests pass their own. */
export interface Host {
  exists(path: string): boolean;
  /** Running as root, so apt-get may install. */
  isRoot: boolean;
  /** Runs a shell command; rejects when it fails. */
  run(command: string): Promise<void>;
  log(line: string): void;
}

const APT_GET = '/usr/bin/apt-get';

export const realHost: Host = {
  exists: existsSync,
  isRoot: process.getuid?.() === 0,
  async run(command) {
    await promisify(execFile)('sh', ['-c', command], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
  },
  log: (line) => console.log(line),
};

export type Plan =
  | { action: 'none' }
  | { action: 'install'; missing: SystemPackage[]; command: string }
  | { action: 'refuse'; missing: SystemPackage[]; message: string };

/** What to do about `needs` on `host`: nothing, install with apt-get (root on Debian), or stop with what to run. */
export function planSystemPackages(needs: readonly SystemPackage[], host: Pick<Host, 'exists' | 'isRoot'>): Plan {
  const missing = needs.filter((n) => !host.exists(n.bin));
  if (!missing.length) return { action: 'none' };
  const pkgs = [...new Set(missing.map((n) => n.pkg))].join(' ');
  const what = missing.map((n) => `${n.bin} (for ${n.neededBy})`).join(', ');
  if (!host.exists(APT_GET)) {
    return { action: 'refuse', missing, message: `Missing ${what}: install ${pkgs} with this system's package manager so that path exists, then run the tests again.` };
  }
  if (!host.isRoot) {
    return { action: 'refuse', missing, message: `Missing ${what}: run \`sudo apt-get update && sudo apt-get install -y ${pkgs}\`, then run the tests again.` };
  }
  // Quiet, and waiting for another apt run's lock (several test runs may start at once) instead of failing.
  return { action: 'install', missing, command: `apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 ${pkgs} >/dev/null` };
}

/**
 * Makes sure the binaries in `needs` exist before the tests that run them:
 * installs the missing Debian packages when it may (root, apt-get), else
 * throws one line saying what to run.
 */
export async function ensureSystemPackages(needs: readonly SystemPackage[], host: Host = realHost): Promise<void> {
  const plan = planSystemPackages(needs, host);
  if (plan.action === 'none') return;
  if (plan.action === 'refuse') throw new Error(plan.message);
  host.log(`Installing ${plan.missing.map((n) => n.pkg).join(' ')} for ${plan.missing.map((n) => n.neededBy).join(', ')}: ${plan.command}`);
  try {
    await host.run(plan.command);
  } catch (err) {
    throw new Error(`Could not install ${plan.missing.map((n) => n.pkg).join(' ')} (\`${plan.command}\`): ${String((err as { stderr?: string }).stderr || err).trim()}`);
  }
  const still = plan.missing.filter((n) => !host.exists(n.bin));
  if (still.length) throw new Error(`Installed ${still.map((n) => n.pkg).join(' ')}, but ${still.map((n) => n.bin).join(', ')} still does not exist.`);
}
