import { describe, expect, it } from 'vitest';
import { CHROMIUM, ensureSystemPackages, planSystemPackages, realHost, type Host, type SystemPackage } from '../setup/systemPackages.js';

// The set-up's decisions, on a host whose files and privileges the test chooses:
// chromium really is installed here, so "missing" is a path that does not exist.
const MISSING: SystemPackage = { pkg: 'chromium', bin: '/nonexistent/foyer-test/chromium', neededBy: 'the browser tests (test/e2e)' };
const MONO: SystemPackage = { pkg: 'mono-runtime', bin: '/nonexistent/foyer-test/mono', neededBy: 'the C# client test' };

function host(over: Partial<Host> & { files?: string[] } = {}) {
  const files = new Set(over.files ?? ['/usr/bin/apt-get']);
  const ran: string[] = [];
  const logged: string[] = [];
  const h: Host = {
    exists: (p) => files.has(p),
    isRoot: true,
    run: async (cmd) => void ran.push(cmd),
    log: (line) => void logged.push(line),
    ...over,
  };
  return { h, files, ran, logged };
}

describe('system packages the tests need', () => {
  it('does nothing when every binary exists', async () => {
    expect(planSystemPackages([{ ...CHROMIUM, bin: process.execPath }], realHost)).toEqual({ action: 'none' });
    const { h, ran, logged } = host({ files: [MISSING.bin] });
    await ensureSystemPackages([MISSING], h);
    expect(ran).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('as root with apt-get, installs the missing packages once, quietly, with one log line', async () => {
    const { h, files, ran, logged } = host();
    h.run = async (cmd) => {
      ran.push(cmd);
      files.add(MISSING.bin);
      files.add(MONO.bin);
    };
    await ensureSystemPackages([MISSING, MONO], h);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatch(/^apt-get update -qq && apt-get install -y -qq .* chromium mono-runtime >\/dev\/null$/);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('Installing chromium mono-runtime for the browser tests (test/e2e), the C# client test');
  });

  it('installs only what is missing', () => {
    const { h } = host({ files: ['/usr/bin/apt-get', MISSING.bin] });
    const plan = planSystemPackages([MISSING, MONO], h);
    expect(plan.action).toBe('install');
    expect(plan.action === 'install' && plan.command).toMatch(/ mono-runtime >/);
    expect(plan.action === 'install' && plan.command).not.toContain('chromium');
  });

  it('not root: stops with one line saying what to run, and installs nothing', async () => {
    const { h, ran } = host({ isRoot: false });
    const err = await ensureSystemPackages([MISSING], h).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `Missing ${MISSING.bin} (for the browser tests (test/e2e)): run \`sudo apt-get update && sudo apt-get install -y chromium\`, then run the tests again.`,
    );
    expect((err as Error).message).not.toContain('\n');
    expect(ran).toEqual([]);
  });

  it('without apt-get: says to install the package with the system package manager', () => {
    const { h } = host({ files: [] });
    const plan = planSystemPackages([MISSING], h);
    expect(plan).toMatchObject({ action: 'refuse', message: expect.stringMatching(/^Missing \/nonexistent\/foyer-test\/chromium .*install chromium with this system's package manager/) });
  });

  it('reports a failed install, and an install that did not bring the binary', async () => {
    const failing = host();
    failing.h.run = async () => {
      throw Object.assign(new Error('exit 100'), { stderr: 'E: Unable to locate package chromium\n' });
    };
    await expect(ensureSystemPackages([MISSING], failing.h)).rejects.toThrow(/Could not install chromium .*E: Unable to locate package chromium$/);

    const { h } = host();
    await expect(ensureSystemPackages([MISSING], h)).rejects.toThrow(`Installed chromium, but ${MISSING.bin} still does not exist.`);
  });

  it('the real host: a binary that does not exist, as a non-root user, gets the clear line', async () => {
    await expect(ensureSystemPackages([MISSING], { ...realHost, isRoot: false })).rejects.toThrow(/^Missing \/nonexistent\/foyer-test\/chromium \(for the browser tests \(test\/e2e\)\): .*install .*chromium/);
  });
});
