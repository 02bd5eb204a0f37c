#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { startNode } from './node.js';

let config;
try {
  config = loadConfig(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`foyer: ${err.message}\n`);
  process.exit(2);
}

const node = await startNode(config, { onDrained: () => process.exit(0) });
process.stdout.write(`Foyer lobby on http://localhost:${node.port}/ (WebSocket ws://localhost:${node.port}/?v=1, ${node.transport})\n`);

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal means "now".
    if (++signals > 1) process.exit(1);
    node.log.info({ signal, drain: config.drain }, config.drain ? 'draining' : 'shutting down');
    (config.drain ? node.drain() : node.stop()).then(
      () => process.exit(0),
      (err) => {
        node.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
