#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { stdoutLogOutput } from './log.js';
import { startNode } from './node.js';
import { ListenError } from './transport/index.js';

/** How long the last log lines get at exit. */
const LOG_CLOSE_MS = 1000;
/** What shutdown may take beyond its own timeout (the steps after the wait for requests, the last log lines). */
const SHUTDOWN_MARGIN_MS = 2000;

let config;
try {
  config = loadConfig(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`foyer: ${err.message}\n`);
  process.exit(2);
}

const logOutput = stdoutLogOutput();
let exiting = false;
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  void logOutput.close(LOG_CLOSE_MS).then(() => process.exit(code));
}

let node;
try {
  node = await startNode(config, { logDestination: logOutput, onDrained: () => exit(0) });
} catch (err) {
  if (!(err instanceof ListenError)) throw err;
  process.stderr.write(`foyer: ${err.message}\n`);
  await logOutput.close(LOG_CLOSE_MS);
  process.exit(1);
}
// Through the log output, not process.stdout: a write there blocks while a stdout pipe is full.
logOutput.write(`Foyer lobby on http://localhost:${node.port}/ (WebSocket ws://localhost:${node.port}/?v=1, ${node.transport})\n`);

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal means "now".
    if (++signals > 1) process.exit(1);
    // Whatever gets stuck on the way (storage, the cluster, stdout), the process ends in bounded time.
    const deadline = (config.drain ? config.drainTimeoutMs : 0) + config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS;
    setTimeout(() => {
      process.stderr.write(`foyer: shutdown did not finish within ${deadline} ms; exiting\n`);
      process.exit(1);
    }, deadline).unref();
    node.log.info({ signal, drain: config.drain }, config.drain ? 'draining' : 'shutting down');
    (config.drain ? node.drain() : node.stop()).then(
      () => exit(0),
      (err: unknown) => {
        node.log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  });
}
