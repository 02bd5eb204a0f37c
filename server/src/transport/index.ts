import type { Logger } from 'pino';
import { createUwsTransport, loadUws } from './uws.js';
import { createWsTransport } from './ws.js';
import type { Transport, TransportOptions } from './types.js';

export type { Conn, ConnHandlers, HttpHandler, HttpRequest, HttpResponse, HttpStream, Transport, UpgradeInfo } from './types.js';
export { ListenError } from './types.js';

export function createTransport(kind: 'uws' | 'ws', opts: TransportOptions, log: Logger, load = loadUws): Transport {
  if (kind === 'uws') {
    try {
      return createUwsTransport(load(), opts);
    } catch (err) {
      log.warn({ err: String(err) }, 'uWebSockets.js native binding did not load; falling back to the ws transport');
    }
  }
  return createWsTransport(opts);
}
