import { useState } from 'preact/hooks';
import { Outcome } from './cluster.js';
import { age, time, useAction, useApi, useWatch } from './hooks.js';

interface Found {
  userId: string;
  name: string;
  online: boolean;
}

/** Find a player by id or name; their live profile, session and deferred commands; act on them. */
export function Players(props: { selected: string | null; onSelect: (userId: string) => void }) {
  const api = useApi();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Found[]>();
  const search = async (e: Event) => {
    e.preventDefault();
    const r = await api.call<{ users: Found[] }>('GET', `/admin/users?q=${encodeURIComponent(q.trim())}`);
    setFound(r.status === 200 ? r.body.users : []);
  };
  return (
    <div class="split">
      <section class="panel" data-testid="players">
        <h2>Players</h2>
        <form class="row" onSubmit={search}>
          <label>
            Id or name
            <input value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={!q.trim()}>
            Search
          </button>
        </form>
        <ul>
          {found?.map((u) => (
            <li key={u.userId} data-testid="player-row">
              <a href="#" onClick={(e) => (e.preventDefault(), props.onSelect(u.userId))}>
                {u.name}
              </a>{' '}
              <span class="mono muted">{u.userId}</span> {u.online ? <span class="tag ok">online</span> : <span class="tag">offline</span>}
            </li>
          ))}
          {found?.length === 0 && <li class="muted">Nobody matches.</li>}
        </ul>
      </section>
      {props.selected && <Player userId={props.selected} />}
    </div>
  );
}

interface PlayerView {
  profile: { userId: string; name: string; level: number; rating: { mu: number; sigma: number; ordinal: number }; role: string; bannedUntil: number | null; banReason: string | null; chatBannedUntil: number | null };
  online: boolean;
  session: { node: string; connected: boolean; since: number } | null;
  game: { id: string; name: string; gameType: string; inProgress: boolean; spectating: boolean } | null;
  party: { id: string; leaderId: string; members: { userId: string; name: string }[]; queue: string | null } | null;
  ticket: { queue: string; status: string; queuedAt: number } | null;
  counts: { friends: number; mail: number };
}

interface Deferred {
  id: string;
  kind: string;
  args: unknown;
  state: string;
  queuedAt: number | null;
  expiresAt: number | null;
  at: number;
  error: string | null;
}

function Player(props: { userId: string }) {
  const path = `/admin/users/${encodeURIComponent(props.userId)}`;
  const view = useWatch<PlayerView>(path);
  const commands = useWatch<{ commands: Deferred[] }>(`${path}/commands`);
  if (!view) return <section class="panel">Loading…</section>;
  if (view.status !== 200) return <section class="panel">No such player.</section>;
  const v = view.body;
  const p = v.profile;
  return (
    <section class="panel" data-testid="player">
      <h2>
        {p.name} <span class="mono muted">{p.userId}</span>
      </h2>
      <dl>
        <dt>Level / rating (μ ± σ) / role</dt>
        <dd data-testid="player-profile">
          {p.level} / {p.rating.mu.toFixed(1)} ± {p.rating.sigma.toFixed(1)} / {p.role}
        </dd>
        <dt>Ban</dt>
        <dd data-testid="player-ban">{p.bannedUntil && p.bannedUntil > Date.now() ? `banned until ${time(p.bannedUntil)}: ${p.banReason ?? ''}` : 'not banned'}</dd>
        <dt>Chat ban</dt>
        <dd>{p.chatBannedUntil && p.chatBannedUntil > Date.now() ? `until ${time(p.chatBannedUntil)}` : 'none'}</dd>
        <dt>Session</dt>
        <dd data-testid="player-session">
          {v.session ? `${v.session.connected ? 'connected' : 'reconnecting'} on ${v.session.node}${v.session.since ? ` since ${time(v.session.since)}` : ''}` : 'offline'}
        </dd>
        <dt>Game</dt>
        <dd data-testid="player-game">{v.game ? `${v.game.name} (${v.game.gameType}, ${v.game.inProgress ? 'in progress' : 'open'}${v.game.spectating ? ', spectating' : ''})` : 'none'}</dd>
        <dt>Party</dt>
        <dd data-testid="player-party">{v.party ? `${v.party.members.map((m) => m.name).join(', ')}${v.party.queue ? ` — queued for ${v.party.queue}` : ''}` : 'none'}</dd>
        <dt>Ticket</dt>
        <dd data-testid="player-ticket">{v.ticket ? `${v.ticket.queue}: ${v.ticket.status} for ${age(Date.now() - v.ticket.queuedAt)}` : 'none'}</dd>
        <dt>Friends / mail</dt>
        <dd data-testid="player-counts">
          {v.counts.friends} friends / {v.counts.mail} mail
        </dd>
      </dl>
      <Actions userId={p.userId} online={v.online} />
      <h3>Deferred commands</h3>
      <table data-testid="deferred">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Arguments</th>
            <th>State</th>
            <th>Queued</th>
            <th>Expires</th>
          </tr>
        </thead>
        <tbody>
          {(commands?.body?.commands ?? []).map((c) => (
            <tr key={c.id} data-testid="deferred-row">
              <td>{c.kind}</td>
              <td class="mono">{JSON.stringify(c.args)}</td>
              <td data-testid="deferred-state">{c.state}</td>
              <td>{time(c.queuedAt)}</td>
              <td>{time(c.expiresAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Every command through POST /admin/commands: now, or (for a player offline) at their next login. */
function Actions(props: { userId: string; online: boolean }) {
  const [run, outcome] = useAction();
  const [deferred, setDeferred] = useState(false);
  const [reason, setReason] = useState('');
  const [hours, setHours] = useState('24');
  const [chatMinutes, setChatMinutes] = useState('60');
  const [role, setRole] = useState('player');
  const [mail, setMail] = useState('');
  const send = (kind: string, args: object) => run('POST', '/admin/commands', { kind, userId: props.userId, args, mode: deferred ? 'deferred' : 'immediate' });
  const why = reason.trim() || 'by an operator';
  return (
    <div class="actions" data-testid="actions">
      <label class="check">
        <input type="checkbox" checked={deferred} onChange={(e) => setDeferred(e.currentTarget.checked)} />
        At their next login (deferred){props.online ? '' : ' — they are offline'}
      </label>
      <label>
        Reason
        <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <div class="row">
        <button onClick={() => void send('kick', { reason: why })}>Kick</button>
        <label>
          Ban hours
          <input type="number" min="1" value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
        </label>
        <button class="danger" onClick={() => void send('ban', { durationMs: Math.round(Number(hours) * 3_600_000), reason: why })}>
          Ban
        </button>
        <button onClick={() => void send('unban', {})}>Unban</button>
      </div>
      <div class="row">
        <label>
          Chat ban minutes (0 lifts)
          <input type="number" min="0" value={chatMinutes} onInput={(e) => setChatMinutes(e.currentTarget.value)} />
        </label>
        <button onClick={() => void send('chatBan', { durationMs: Math.round(Number(chatMinutes) * 60_000) })}>Chat ban</button>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="player">player</option>
            <option value="moderator">moderator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button onClick={() => void send('setRole', { role })}>Set role</button>
      </div>
      <div class="row">
        <label class="grow">
          Mail
          <input value={mail} onInput={(e) => setMail(e.currentTarget.value)} />
        </label>
        <button disabled={!mail.trim()} onClick={() => void send('sendMail', { body: mail.trim() }).then((a) => a.status < 300 && setMail(''))}>
          Send mail
        </button>
      </div>
      {outcome && <Outcome {...outcome} />}
    </div>
  );
}
