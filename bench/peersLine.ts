/**
 * How a worker of the peers driver (bench/peersWorker.ts) hands the chat
 * lines its clients received to the driver's thread (bench/peersDriver.ts):
 * LINE numbers per line in one Float64Array — the harness's `t`; `at`, the
 * server's clock when it took the line (its chat.message carries it; the same
 * clock as the harness's on this machine); and when the worker read it. The
 * driver splits each line's latency there.
 */
export const LINE = 3;
