import { useState } from 'preact/hooks';
import { query, time, useWatch } from './hooks.js';

interface Row {
  id: string;
  at: number;
  actor: string;
  userId: string;
  kind: string;
  args: unknown;
  mode: string;
  event: string;
  ok: boolean;
  error: string | null;
}

/** Every admin action and command run, newest first, live, filtered by player, kind or event. */
export function Audit() {
  const [filter, setFilter] = useState({ userId: '', kind: '', event: '' });
  const audit = useWatch<{ audit: Row[] }>(`/admin/audit${query({ ...filter, limit: '200' })}`);
  return (
    <section class="panel" data-testid="audit">
      <h2>Audit</h2>
      <form class="row" onSubmit={(e) => e.preventDefault()}>
        <label>
          Player id
          <input value={filter.userId} onInput={(e) => setFilter({ ...filter, userId: e.currentTarget.value })} />
        </label>
        <label>
          Kind
          <select value={filter.kind} onChange={(e) => setFilter({ ...filter, kind: e.currentTarget.value })}>
            <option value="">any</option>
            {['ban', 'unban', 'kick', 'setRole', 'chatBan', 'setRating', 'setProfileField', 'sendMail'].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Event
          <select value={filter.event} onChange={(e) => setFilter({ ...filter, event: e.currentTarget.value })}>
            <option value="">any</option>
            {['ran', 'queued', 'refused', 'expired', 'cancelled'].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
      </form>
      {audit && audit.status !== 200 && <p class="bad">{(audit.body as { error?: string } | null)?.error ?? `error ${audit.status}`}</p>}
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Actor</th>
            <th>Player</th>
            <th>Kind</th>
            <th>Mode</th>
            <th>Event</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {(audit?.body?.audit ?? []).map((r) => (
            <tr key={r.id} data-testid="audit-row">
              <td>{time(r.at)}</td>
              <td>{r.actor}</td>
              <td class="mono">{r.userId}</td>
              <td>{r.kind}</td>
              <td>{r.mode}</td>
              <td>{r.event}</td>
              <td class={r.ok ? 'ok' : 'bad'}>{r.ok ? 'ok' : r.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
