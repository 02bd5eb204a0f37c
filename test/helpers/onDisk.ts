import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A generated file as it is in the checkout (line endings as written), or undefined when missing: what a generator's output must equal. */
export function onDisk(rel: string): string | undefined {
  try {
    return readFileSync(root + rel, 'utf8').replace(/\r\n/g, '\n');
  } catch {
    return undefined;
  }
}
