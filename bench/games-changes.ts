/** bench:games part 3 (games.ts documents it). */
import { performance } from 'node:perf_hooks';
import type { LobbyClient } from '@foyer/client-sdk';
import type { GameSummary } from '@foyer/shared';
import {
  Errors,
  Samples,
  closeClients,
  cpuBetween,
  cpuSnapshot,
  fmt,
  fmtInt,
  histogramPercentile,
  metricsOf,
  openClients,
  pct,
  pool,
  say,
  sleep,
  stats,
  table,
  runtimeBetween,
  type Stats,
} from './lib.js';
import { attempts, CHANGE_DURATION_S, CHANGE_RATE, CHANGE_WARMUP, notes, out, profile, SUBSCRIBERS, summary, withServer } from './games-context.js';

// ---------------------------------------------------------------- part 3

type Kind = 'added (create)' | 'updated (join)' | 'updated (owner leaves)' | 'removed (last leaves)';
const KINDS: Kind[] = ['added (create)', 'updated (join)', 'updated (owner leaves)', 'removed (last leaves)'];

export async function partChanges(): Promise<void> {
  await withServer('changes', async (server) => {
    const GAME_TYPE = 'X';
    const totalSteps = Math.floor((CHANGE_RATE * CHANGE_DURATION_S) / 4) * 4;
    const gamesN = totalSteps / 4;
    const firstCounted = Math.min(CHANGE_WARMUP, totalSteps - 4);

    /** One paced run's bookkeeping; step k is game k>>2, kind k&3. Game names carry the run: "chg <run> <game>". */
    class Run {
      readonly sentAt = new Float64Array(totalSteps).fill(NaN); // just before the driver sent step k
      readonly firstAt = new Float64Array(totalSteps).fill(NaN);
      readonly lastAt = new Float64Array(totalSteps).fill(NaN);
      readonly got = new Uint32Array(totalSteps);
      readonly lat = new Map<Kind, Samples>(KINDS.map((k) => [k, new Samples(gamesN * SUBSCRIBERS)]));
      readonly idOf = new Map<string, number>(); // gameId → game index
      unmatched = 0;
      constructor(readonly id: number) {}
      arrive(step: number): void {
        const t = performance.now();
        if (!(step >= 0 && step < totalSteps) || Number.isNaN(this.sentAt[step]!)) return void this.unmatched++;
        const l = t - this.sentAt[step]!;
        this.got[step]!++;
        if (Number.isNaN(this.firstAt[step]!)) this.firstAt[step] = l;
        this.lastAt[step] = l;
        if (step >= firstCounted) this.lat.get(KINDS[step & 3]!)!.push(l);
      }
    }
    let run = new Run(0);
    const indexOf = (g: GameSummary) => {
      const m = /^chg (\d+) (\d+)$/.exec(g.name);
      return m && Number(m[1]) === run.id ? Number(m[2]) : -1;
    };

    const { clients: subs, errors } = await openClients(server.url, SUBSCRIBERS, { concurrency: 200, name: (i) => `sub-${i}` });
    if (errors.count) throw new Error(`${errors.count} subscribers failed to log in: ${errors}`);
    for (const c of subs) {
      c.on('games.added', (d) => {
        const i = indexOf(d.game);
        if (i >= 0) run.idOf.set(d.game.id, i);
        run.arrive(i < 0 ? -1 : i * 4);
      });
      c.on('games.updated', (d) => {
        const i = indexOf(d.game);
        run.arrive(i < 0 ? -1 : d.game.players === 2 ? i * 4 + 1 : d.game.players === 1 ? i * 4 + 2 : -1);
      });
      c.on('games.removed', (d) => {
        const i = run.idOf.get(d.gameId);
        run.arrive(i === undefined ? -1 : i * 4 + 3);
      });
    }
    await pool(subs.length, 200, async (i) => {
      await subs[i]!.call('games.subscribe', { filter: { gameType: GAME_TYPE, status: 'any' }, limit: 20 });
    });
    const { clients: drivers } = await openClients(server.url, 2, { name: (i) => `driver-${i}` });
    const [a, b] = drivers as [LobbyClient, LobbyClient];
    say(`[changes] ${subs.length} subscribers on gameType ${GAME_TYPE}; driving ${totalSteps} changes (${gamesN} games) at ${CHANGE_RATE}/s`);
    await sleep(500);

    const measure = async (attempt: number) => {
      run = new Run(attempt);
      const driveErrors = new Errors();
      const lag = new Float64Array(totalSteps);
      const stopProfile = await profile(server, 'changes');
      const m0 = await metricsOf(server.port);
      const cpu0 = cpuSnapshot([server.pid, process.pid]);
      const start = performance.now();
      let gameId = '';
      for (let k = 0; k < totalSteps; k++) {
        const due = start + (k * 1000) / CHANGE_RATE;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const i = k >> 2;
        run.sentAt[k] = performance.now();
        lag[k] = run.sentAt[k]! - due;
        try {
          switch (k & 3) {
            case 0:
              gameId = (await a.call('game.create', { name: `chg ${attempt} ${i}`, gameType: GAME_TYPE, maxPlayers: 4 })).game.id;
              break;
            case 1:
              await b.call('game.join', { gameId });
              break;
            case 2:
              await a.call('game.leave');
              break;
            case 3:
              await b.call('game.leave');
              break;
          }
        } catch (err) {
          driveErrors.add(err);
        }
      }
      const driveEnd = performance.now();
      // Let the last fan-out arrive.
      for (let w = 0; w < 100 && run.got[totalSteps - 1]! < subs.length; w++) await sleep(20);
      const cpu = cpuBetween(cpu0, cpuSnapshot([server.pid, process.pid]));
      await stopProfile();
      const m1 = await metricsOf(server.port);

      const counted = totalSteps - firstCounted;
      let received = 0;
      for (let k = firstCounted; k < totalSteps; k++) received += run.got[k]!;
      const expected = counted * subs.length;
      const all = new Samples(expected);
      for (const s of run.lat.values()) for (const v of s.values()) all.push(v);
      const allS = stats(all.values());
      const row = (name: string, s: Stats) => [name, fmtInt(s.count), fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.p999, 2), fmt(s.max, 1)];
      const rows = KINDS.map((k) => row(`games.${k}`, stats(run.lat.get(k)!.values())));
      rows.push(row('all deliveries', allS));
      const perChange = (arr: Float64Array) => stats(arr.subarray(firstCounted));
      rows.push(row('per change: first subscriber', perChange(run.firstAt)));
      rows.push(row('per change: last subscriber', perChange(run.lastAt)));
      const serverP = (op: string, p: number) => fmt(histogramPercentile(m0, m1, 'foyer_request_duration_seconds', op, p) * 1000, 2);
      const rt = runtimeBetween(m0, m1);
      const line =
        `deliveries ${fmtInt(received)}/${fmtInt(expected)} expected${received < expected ? ` (${fmtInt(expected - received)} MISSING)` : ''}` +
        `${run.unmatched ? `, ${run.unmatched} unmatched events` : ''}; driver pacing lag p99 ${fmt(stats(lag).p99, 2)} ms over ${fmt((driveEnd - start) / 1000, 1)} s; ` +
        `CPU: server ${pct(cpu.procs[0]!)} (user ${pct(cpu.user[0]!)}, sys ${pct(cpu.sys[0]!)}), bench ${pct(cpu.procs[1]!)}, other processes ${pct(cpu.other)} of one core` +
        (driveErrors.count ? `; ${driveErrors.count} driver calls FAILED: ${driveErrors}` : '') +
        `\nserver runtime over the window: GC ${fmtInt(rt.gcCount)} pauses, ${fmtInt(rt.gcMs)} ms (major ${fmtInt(rt.majorCount)}, ${fmtInt(rt.majorMs)} ms); event-loop delay p99 ${fmt(rt.lagP99Ms, 0)} / max ${fmt(rt.lagMaxMs, 0)} ms` +
        `\nserver-side request time (includes the synchronous fan-out to ${subs.length} subscribers; /metrics bucket bounds): ` +
        `game.create p50 ≤ ${serverP('game.create', 50)} / p99 ≤ ${serverP('game.create', 99)} ms, game.join p99 ≤ ${serverP('game.join', 99)} ms, game.leave p99 ≤ ${serverP('game.leave', 99)} ms`;
      return { other: cpu.other, rows, line, counted, p99: allS.p99, missing: expected - received, expected, driveErrors };
    };
    const r = await attempts('changes', measure);
    out(`\n## 3. change → subscriber event: ${subs.length} subscribers (filter gameType ${GAME_TYPE}), ${r.counted} changes at ${CHANGE_RATE}/s after ${firstCounted} warm-up (${server.transport})\n`);
    out(table(['event', 'deliveries', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'], r.rows));
    out(`\n${r.line}${r.note}`);
    if (r.driveErrors.count) notes.push(`part 3: ${r.driveErrors.count} driver calls failed: ${r.driveErrors}`);
    if (r.missing > 0) notes.push(`part 3: ${r.missing} of ${r.expected} expected deliveries did not arrive`);
    summary.push([`change → event p99 (${fmtInt(subs.length)} subscribers)`, `${fmt(r.p99, 2)} ms`, '< 10 ms', r.p99 < 10 ? 'PASS' : 'MISS']);
    await closeClients([...subs, ...drivers]);
  });
}

