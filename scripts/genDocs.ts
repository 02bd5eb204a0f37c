/**
 * `npm run docs`: writes the generated docs. `--check` writes nothing and
 * exits 1 when a file on disk is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDocs } from './docs.js';

// This file runs as scripts/dist/genDocs.js.
const root = fileURLToPath(new URL('../../', import.meta.url));
const check = process.argv.includes('--check');

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

let stale = 0;
for (const [rel, content] of Object.entries(generateDocs())) {
  const path = join(root, rel);
  if (read(path) === content) continue;
  stale++;
  if (check) {
    console.error(`${rel} is out of date; run \`npm run docs\``);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${rel}`);
  }
}
if (check && stale) process.exit(1);
if (!stale) console.log('docs are up to date');
