import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { CHROMIUM, ensureSystemPackages } from '../setup/systemPackages.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The lobby page, freshly built from web/src for this run. */
    webRoot: string;
  }
}

const webDir = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * Makes sure Debian's chromium is there (npm does not bring it), then builds
 * the lobby page from its sources into a folder of this run's own, so the
 * browser tests never run against a stale web/dist (nor overwrite it).
 */
export default async function setup(project: TestProject) {
  await ensureSystemPackages([CHROMIUM]);
  const outDir = await mkdtemp(path.join(tmpdir(), 'foyer-web-'));
  await build({
    configFile: path.join(webDir, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  project.provide('webRoot', outDir);
  return () => rm(outDir, { recursive: true, force: true });
}
