/**
 * bench:connect's probe, run in a worker thread: one light connection that
 * pings every PROBE_EVERY_MS, so its latencies are not held up by the main
 * thread's work for 10,000 connections (only by the server, and by the CPU
 * both share).
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { LobbyClient } from '@foyer/client-sdk';
import { sleep, socketClass } from './lib.js';

export const CALL_TIMEOUT_MS = 30_000;
const PROBE_EVERY_MS = 5;

async function probe(): Promise<void> {
  const { url } = workerData as { url: string };
  const port = parentPort!;
  const client = new LobbyClient({ url, WebSocket: socketClass(), reconnect: false, callTimeoutMs: CALL_TIMEOUT_MS });
  await client.connect();
  await client.call('auth.guest', { name: 'bench-probe' });
  const sent: number[] = [];
  const lat: number[] = [];
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  port.on('message', async (msg: string) => {
    if (msg === 'start') {
      timer = setInterval(() => {
        const i = sent.length;
        const t = performance.now();
        sent.push(performance.timeOrigin + t);
        lat.push(NaN);
        pending++;
        client.call('session.ping', { t: i }).then(
          () => ((lat[i] = performance.now() - t), pending--),
          () => pending--,
        );
      }, PROBE_EVERY_MS);
    } else if (msg === 'stop') {
      clearInterval(timer);
      for (let i = 0; i < 200 && pending > 0; i++) await sleep(10);
      port.postMessage({ sent, lat });
      await client.close();
      port.close();
    }
  });
  port.postMessage('ready');
}

if (parentPort) await probe();
