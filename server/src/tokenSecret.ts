import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.js';

/** Name of the file in the data folder that keeps a generated token secret. */
export const TOKEN_SECRET_FILE = 'foyer-token-secret';

export interface TokenSecret {
  /** The secret tokens are signed with. */
  secret: string;
  /** Where it came from: the configuration, a file in the data folder, or made for this process only. */
  source: 'config' | 'file' | 'process';
  /** The file, when source is `file`. */
  file?: string;
  /** Why a per-process secret was used although a data folder was configured. */
  problem?: string;
}

/**
 * The secret this node signs its tokens with. A configured FOYER_TOKEN_SECRET
 * wins. Otherwise a secret is generated once and kept in the data folder
 * (mode 0600), so tokens issued before a restart still log in after it; with
 * the data folder `memory` nothing is kept and tokens die with the process.
 * A data folder that cannot be written falls back to a per-process secret
 * (reported in `problem`) rather than refusing to start.
 */
export async function resolveTokenSecret(config: Pick<Config, 'tokenSecret' | 'dataDir'>): Promise<TokenSecret> {
  if (config.tokenSecret) return { secret: config.tokenSecret, source: 'config' };
  const perProcess = () => randomBytes(32).toString('base64url');
  if (config.dataDir === 'memory') return { secret: perProcess(), source: 'process' };
  const file = path.resolve(config.dataDir, TOKEN_SECRET_FILE);
  try {
    return { secret: await readOrCreate(file, perProcess), source: 'file', file };
  } catch (err) {
    return { secret: perProcess(), source: 'process', problem: `cannot keep the token secret in ${file}: ${(err as Error).message}` };
  }
}

async function readOrCreate(file: string, generate: () => string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = generate();
  try {
    // `wx`: of two nodes starting on one folder, the second reads the first one's secret.
    await writeFile(file, fresh + '\n', { flag: 'wx', mode: 0o600 });
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const stored = (await readFile(file, 'utf8')).trim();
  if (stored.length < 32) throw new Error('the stored secret is shorter than 32 characters');
  if ((await stat(file)).mode & 0o077) throw new Error('the file is readable by other users (expected mode 0600)');
  return stored;
}
