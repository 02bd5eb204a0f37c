/** Command-line flags shared by the benches. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ---- flags ----

/** A --transport flag: uws or ws, or exit 2 with a message. */
export function transportFlag(value: string): 'uws' | 'ws' {
  if (value !== 'uws' && value !== 'ws') {
    process.stderr.write('bench: --transport must be uws or ws\n');
    process.exit(2);
  }
  return value;
}

/** An integer flag ≥ min, or exit 2 with a message. */
export function intFlag(name: string, value: string | undefined, min: number): number {
  const v = Number(value);
  if (value === undefined || !Number.isInteger(v) || v < min) {
    process.stderr.write(`bench: --${name} must be an integer >= ${min} (got ${String(value)})\n`);
    process.exit(2);
  }
  return v;
}

/** A number flag ≥ min, or exit 2 with a message. */
export function numFlag(name: string, value: string | undefined, min: number): number {
  const v = Number(value);
  if (value === undefined || !Number.isFinite(v) || v < min) {
    process.stderr.write(`bench: --${name} must be a number >= ${min} (got ${String(value)})\n`);
    process.exit(2);
  }
  return v;
}

/** Comma-separated transports, each uws or ws, or exit 2. */
export function transportsFlag(value: string): ('uws' | 'ws')[] {
  const list = value.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of list) {
    if (t !== 'uws' && t !== 'ws') {
      process.stderr.write(`bench: unknown transport "${t}" (uws, ws)\n`);
      process.exit(2);
    }
  }
  return list as ('uws' | 'ws')[];
}

/** Prints the doc comment at the top of the bench's source file (for --help). */
export function printHelp(moduleUrl: string): void {
  const src = readFileSync(fileURLToPath(moduleUrl).replace(/\.js$/, '.ts').replace('/dist/', '/'), 'utf8');
  process.stdout.write(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n');
}
