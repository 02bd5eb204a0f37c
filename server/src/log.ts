import pino, { type Logger } from 'pino';

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
