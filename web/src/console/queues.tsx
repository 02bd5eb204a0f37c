import { age, useWatch } from './hooks.js';

interface QueueRow {
  name: string;
  ownerNode: string | null;
  tickets: number;
  players: number;
  accepting: number;
  waitSeconds: { le: string; count: number }[];
  matchesPerMinute: number;
  acceptTimeoutsPerMinute: number;
  list: { id: string; status: string; waitMs: number; partyId: string | null; players: { userId: string; name: string }[] }[];
}

/** Every queue, live: what waits, for how long, and how fast matches form. */
export function Queues(props: { onPlayer: (userId: string) => void }) {
  const queues = useWatch<{ detail: QueueRow[] }>('/admin/queues');
  return (
    <div class="cards">
      {(queues?.body?.detail ?? []).map((q) => {
        const most = Math.max(1, ...q.waitSeconds.map((b) => b.count));
        return (
          <section key={q.name} class="panel" data-testid="queue" data-queue={q.name}>
            <h2>{q.name}</h2>
            <div class="figures">
              <Figure label="Tickets waiting" value={q.tickets} testid="queue-tickets" />
              <Figure label="Players" value={q.players} />
              <Figure label="Accepting" value={q.accepting} testid="queue-accepting" />
              <Figure label="Matches / min" value={q.matchesPerMinute} testid="queue-matches" />
              <Figure label="Accept timeouts / min" value={q.acceptTimeoutsPerMinute} />
            </div>
            <p class="muted">Owner node {q.ownerNode ?? '—'}</p>
            <h3>Wait time (s)</h3>
            <div class="bars">
              {q.waitSeconds.map((b) => (
                <div key={b.le} class="bar" title={`≤ ${b.le} s: ${b.count}`}>
                  <i style={{ height: `${(b.count / most) * 100}%` }} />
                  <span>{b.le}</span>
                </div>
              ))}
            </div>
            <h3>Tickets</h3>
            <ul data-testid="queue-list">
              {q.list.map((t) => (
                <li key={t.id} data-testid="ticket">
                  {t.players.map((p) => (
                    <a key={p.userId} href="#" onClick={(e) => (e.preventDefault(), props.onPlayer(p.userId))}>
                      {p.name}{' '}
                    </a>
                  ))}
                  <span class="tag">{t.status}</span> <span class="muted">{age(t.waitMs)}</span>
                </li>
              ))}
              {!q.list.length && <li class="muted">none</li>}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

export function Figure(props: { label: string; value: number | string; testid?: string }) {
  return (
    <div class="figure">
      <b data-testid={props.testid}>{props.value}</b>
      <span>{props.label}</span>
    </div>
  );
}
