/**
 * Shared pieces of the benches (`npm run bench:*`): start a lobby node as its
 * own process and read its port, stop it, read its memory and CPU from /proc,
 * force a full GC through its inspector, read its /metrics, summarize a CPU
 * profile, percentiles, bounded concurrency, table printing, and a registry
 * of child processes that are killed whatever happens (hard timeout, Ctrl-C,
 * a crash).
 */
export * from './lib/format.js';
export * from './lib/clients.js';
export * from './lib/machine.js';
export * from './lib/server.js';
export * from './lib/profile.js';
export * from './lib/flags.js';
