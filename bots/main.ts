/**
 * The bots' command line (bot.ts has what they do):
 *
 *   npm start                                          # a node on :8080, in another terminal
 *   npm run bots -- --count 200 --duration 60
 *   npm run bots -- --count 50 --duration 10 --start-node   # self-contained: a node in this process
 *
 * Flags: --url (ws://127.0.0.1:8080), --count (10), --duration seconds (30),
 * --queue (duel), --think-ms (500), --seed (random; printed, to repeat a run),
 * --mix quickJoin=1,queue=1 (relative weights of the two behaviours),
 * --game-type (bots), --login-concurrency (20), --start-node.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { NoNodeError, formatSummary, runBots, type BotsOptions } from './bot.js';

function parseMix(value: string): { quickJoin: number; queue: number } {
  const mix = { quickJoin: 0, queue: 0 };
  for (const part of value.split(',')) {
    const [key, weight] = part.split('=').map((x) => x.trim());
    if ((key !== 'quickJoin' && key !== 'queue') || !(Number(weight) >= 0)) throw new Error(`--mix: expected quickJoin=W,queue=W (got "${value}")`);
    mix[key] = Number(weight);
  }
  return mix;
}

function numberFlag(name: string, value: string | undefined, fallback: number, min: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min} (got "${value}")`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      count: { type: 'string' },
      duration: { type: 'string' },
      queue: { type: 'string' },
      'think-ms': { type: 'string' },
      seed: { type: 'string' },
      mix: { type: 'string' },
      'game-type': { type: 'string' },
      'login-concurrency': { type: 'string' },
      'start-node': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: npm run bots -- [--url ws://127.0.0.1:8080] [--count 10] [--duration 30] [--queue duel] [--think-ms 500]\n' +
      '                     [--seed N] [--mix quickJoin=1,queue=1] [--game-type bots] [--login-concurrency 20] [--start-node]\n');
    return 0;
  }
  const options: BotsOptions = {
    url: values.url ?? 'ws://127.0.0.1:8080',
    count: numberFlag('count', values.count, 10, 1, true),
    durationMs: numberFlag('duration', values.duration, 30, 0) * 1000,
    thinkMs: numberFlag('think-ms', values['think-ms'], 500, 0),
    loginConcurrency: numberFlag('login-concurrency', values['login-concurrency'], 20, 1, true),
    log: (line) => process.stderr.write(line + '\n'),
  };
  if (values.queue !== undefined) options.queue = values.queue;
  if (values['game-type'] !== undefined) options.gameType = values['game-type'];
  if (values.seed !== undefined) options.seed = numberFlag('seed', values.seed, 0, 0, true);
  if (values.mix !== undefined) options.mix = parseMix(values.mix);

  // --start-node: a lobby node in this process, on a free port, for a run
  // that needs nothing else. Imported lazily: bots alone need only the SDK.
  let node: { port: number; stop(): Promise<void> } | undefined;
  if (values['start-node']) {
    const { startNode, loadConfig } = await import('@foyer/server');
    const logLevel = process.env.LOG_LEVEL ? {} : { logLevel: 'warn' as const };
    // Its tokens need not outlive this process; a random secret says so without the node warning about it.
    const tokenSecret = process.env.FOYER_TOKEN_SECRET ? {} : { tokenSecret: randomBytes(32).toString('hex') };
    node = await startNode(loadConfig([], process.env, { host: '127.0.0.1', port: 0, ...logLevel, ...tokenSecret }));
    options.url = `ws://127.0.0.1:${node.port}`;
    process.stderr.write(`started a lobby node in this process at ${options.url} (it shares this process's CPU with the bots)\n`);
  }

  // Ctrl-C ends the run early and still prints the summary; a second one exits at once.
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  options.signal = interrupt.signal;

  try {
    process.stderr.write(`${options.count} bots against ${options.url} for ${options.durationMs! / 1000} s…\n`);
    const summary = await runBots(options);
    process.stdout.write(formatSummary(summary) + '\n');
    return 0;
  } catch (err) {
    if (!(err instanceof NoNodeError)) throw err;
    process.stderr.write(`bots: ${err.message}\n` +
      '  Start a node first with `npm start` in another terminal (or `npm start -- --port N`, then pass --url ws://127.0.0.1:N),\n' +
      '  or run a self-contained node in this process with --start-node.\n');
    return 1;
  } finally {
    await node?.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bots: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
