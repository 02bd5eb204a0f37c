/**
 * Measurement aid that `npm run bench:peers -- --profile DIR` preloads into
 * the Foyer node (`node --import …/peersProfile.js …`). The harness ends its
 * server with SIGKILL, so `node --cpu-prof` (written at exit) would write
 * nothing: this module runs the V8 CPU profiler in the node itself (its
 * inspector, no port) and writes what it sampled every FOYER_PROFILE_SLICE_S
 * seconds (5) as DIR/slice-<n>.cpuprofile, then samples on. The chat window
 * is the busiest slices; bench/peers.ts summarizes the busiest one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.FOYER_PROFILE_DIR;
if (dir) void profileInSlices(dir, Number(process.env.FOYER_PROFILE_SLICE_S ?? 5) * 1000);

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
}

async function profileInSlices(dir: string, sliceMs: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
  for (let n = 1; ; n++) {
    await post(session, 'Profiler.start');
    await new Promise((r) => setTimeout(r, sliceMs).unref());
    const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
    writeFileSync(join(dir, `slice-${String(n).padStart(3, '0')}.cpuprofile`), JSON.stringify(profile));
  }
}
