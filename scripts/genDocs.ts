/**
 * `npm run docs`: writes the generated docs and the C# client's protocol
 * code (scripts/csharp.ts). `--check` writes nothing and
 * exits 1 when a file on disk is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { events, ops } from '@foyer/shared';
import { generateCsharp } from './csharp.js';
import { generateDocs, PROTOCOL_SCHEMA } from './docs.js';

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

const docs = generateDocs();
// The C# client's protocol code comes from the same JSON Schema as docs/protocol.schema.json.
const files = { ...docs, ...generateCsharp(JSON.parse(docs[PROTOCOL_SCHEMA]!), { ops, events }) };
let stale = 0;
for (const [rel, content] of Object.entries(files)) {
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
