import { fstatSync } from 'node:fs';
import net from 'node:net';
import pino, { type Logger } from 'pino';
import sonicBoom from 'sonic-boom';

const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

/**
 * Structured logs. Secrets are never passed to the logger; the redaction is
 * a second line of defence against a careless `log.info({ data })`.
 */
export function createLogger(level: string, nodeId: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { node: nodeId },
      redact: {
        paths: ['token', 'password', 'secret', 'authorization', '*.token', '*.password', '*.secret', '*.authorization', 'headers.authorization', 'data.token', 'data.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Log bytes held while stdout does not take them; past this, new lines are dropped. */
const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/** Where the node's logs go when it runs as a process: stdout, never able to stop the node. */
export interface LogOutput extends pino.DestinationStream {
  /** Writes out what is pending, for at most `ms` (a stuck reader does not hold the exit). */
  close(ms: number): Promise<void>;
}

/**
 * stdout for the logs. Not pino's default destination: that one writes a pipe
 * from libuv's thread pool and flushes synchronously at exit, retrying a
 * failed write every 100 ms for ever, so a stdout pipe whose reader is gone
 * or stuck kept the process from ever exiting. Here a pipe or socket is
 * written as a non-blocking stream on the event loop: a reader that is gone
 * (EPIPE) loses the lines, one that is stuck makes them wait, up to a bound.
 * A file or terminal keeps sonic-boom, without its exit hook.
 */
export function stdoutLogOutput(): LogOutput {
  const stat = fstatSync(1);
  return stat.isFIFO() || stat.isSocket() ? streamOutput(new net.Socket({ fd: 1, readable: false, writable: true })) : sonicOutput(new SonicBoom({ fd: 1, sync: false, maxLength: MAX_PENDING_LOG_BYTES }));
}

function streamOutput(socket: net.Socket): LogOutput {
  socket.on('error', () => {});
  return {
    write(line: string) {
      if (!socket.destroyed && socket.writableLength < MAX_PENDING_LOG_BYTES) socket.write(line);
    },
    close: (ms) => closed(socket, 'finish', ms, () => socket.end()),
  };
}

function sonicOutput(out: SonicBoom): LogOutput {
  out.on('error', () => {});
  return {
    write: (line: string) => void out.write(line),
    close: (ms) => closed(out, 'close', ms, () => out.end()),
  };
}

/** Resolves on `event`, or after `ms` whatever happens. */
function closed(emitter: NodeJS.EventEmitter, event: string, ms: number, end: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      end();
    } catch {
      resolve(); // already gone
    }
  });
}
