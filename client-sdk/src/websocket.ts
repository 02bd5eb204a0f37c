import type { WebSocketConstructor } from './types.js';

// A variable specifier keeps bundlers from pulling the Node-only `ws` into browser builds.
const WS_MODULE = 'ws';

/** Node 20 has no global WebSocket: there the optional peer dependency `ws` stands in. */
export async function loadWs(): Promise<WebSocketConstructor> {
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ WS_MODULE)) as { default: WebSocketConstructor };
    return mod.default;
  } catch (err) {
    throw new Error('this runtime has no global WebSocket and the `ws` package is not installed: `npm install ws`, or pass options.WebSocket', { cause: err });
  }
}
