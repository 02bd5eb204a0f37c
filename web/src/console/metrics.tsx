import { useWatch } from './hooks.js';
import { Figure } from './queues.js';

interface Rates {
  sessions: number;
  requestsPerSec: number;
  byOp: Record<string, Record<string, number>>;
  internalPerSec: number;
  refusedPerSec: number;
  eventsPerSec: number;
}

/** The figures /metrics exports, as rates over the last minute, summed over the cluster. */
export function Metrics() {
  const m = useWatch<{ total: Rates; nodes: (Rates & { node: string; windowSeconds: number })[] }>('/admin/metrics/summary');
  const t = m?.body?.total;
  if (!t) return <section class="panel">Loading…</section>;
  const ops = Object.entries(t.byOp).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section class="panel" data-testid="metrics">
      <h2>Metrics at a glance</h2>
      <div class="figures">
        <Figure label="Sessions" value={t.sessions} testid="metric-sessions" />
        <Figure label="Requests / s" value={t.requestsPerSec} />
        <Figure label="INTERNAL / s" value={t.internalPerSec} />
        <Figure label="Refused / s" value={t.refusedPerSec} />
        <Figure label="Events delivered / s" value={t.eventsPerSec} />
      </div>
      <table>
        <thead>
          <tr>
            <th>Op</th>
            <th>Outcome → requests / s</th>
          </tr>
        </thead>
        <tbody>
          {ops.map(([op, outcomes]) => (
            <tr key={op} data-testid="metric-op">
              <td class="mono">{op}</td>
              <td>
                {Object.entries(outcomes)
                  .map(([o, r]) => `${o}: ${r}`)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Per node: {m.body.nodes.map((n) => `${n.node} ${n.sessions} sessions, ${n.requestsPerSec} req/s over ${n.windowSeconds} s`).join('; ')}</p>
    </section>
  );
}
