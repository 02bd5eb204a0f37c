import { useState } from 'preact/hooks';
import { useAction, useWatch } from './hooks.js';

interface NodeRow {
  id: string;
  address?: string;
  sessions?: number;
  connections?: number;
  owned?: { games: number; parties: number; queues: number };
  ready?: boolean;
  draining?: boolean;
  busUp?: boolean;
  reachable: boolean;
  busRttMs: number | null;
  heartbeatAgeMs: number | null;
}

/** Every node of the cluster, live; draining one takes a second click. */
export function ClusterView() {
  const cluster = useWatch<{ node: string; nodes: NodeRow[] }>('/admin/cluster');
  const [run, outcome] = useAction();
  const [arming, setArming] = useState<string>();
  const nodes = cluster?.body?.nodes ?? [];
  return (
    <section class="panel" data-testid="cluster">
      <h2>
        Cluster <span class="muted">({nodes.length} nodes, this page from {cluster?.body?.node ?? '…'})</span>
      </h2>
      <table>
        <thead>
          <tr>
            <th>Node</th>
            <th>Address</th>
            <th>Sessions</th>
            <th>Owns (games / parties / queues)</th>
            <th>Ready</th>
            <th>Draining</th>
            <th>Bus</th>
            <th>Bus lag</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.id} data-testid="node-row" data-node={n.id}>
              <td class="mono">{n.id}</td>
              <td class="mono">{n.address ?? '—'}</td>
              <td data-testid="node-sessions">{n.sessions ?? '—'}</td>
              <td>{n.owned ? `${n.owned.games} / ${n.owned.parties} / ${n.owned.queues}` : '—'}</td>
              <td data-testid="node-ready">{!n.reachable ? 'unreachable' : n.ready ? 'ready' : 'not ready'}</td>
              <td data-testid="node-draining">{n.draining ? 'draining' : 'no'}</td>
              <td>{n.busUp === undefined ? '—' : n.busUp ? 'up' : 'down'}</td>
              <td>
                {n.busRttMs === null ? '—' : `${n.busRttMs} ms`} <span class="muted">(heartbeat {n.heartbeatAgeMs ?? '—'} ms ago)</span>
              </td>
              <td>
                {n.draining ? null : arming === n.id ? (
                  <button class="danger" onClick={() => void run('POST', `/admin/nodes/${encodeURIComponent(n.id)}/drain`).then(() => setArming(undefined))}>
                    Confirm drain
                  </button>
                ) : (
                  <button onClick={() => setArming(n.id)}>Drain</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {outcome && <Outcome {...outcome} />}
    </section>
  );
}

export function Outcome(props: { ok: boolean; text: string }) {
  return (
    <p class={props.ok ? 'ok' : 'bad'} data-testid="outcome" role="status">
      {props.text}
    </p>
  );
}
