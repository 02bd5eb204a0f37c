import { useState } from 'preact/hooks';
import { Outcome } from './cluster.js';
import { age, query, useAction, useWatch } from './hooks.js';

interface GameRow {
  id: string;
  name: string;
  gameType: string;
  ownerNode: string | null;
  players: { userId: string; name: string; teamIndex: number }[];
  spectators: number;
  maxPlayers: number;
  inProgress: boolean;
  ageMs: number;
}

/** Games of the whole cluster: search by name or id, type, player; one in full. */
export function Games(props: { onPlayer: (userId: string) => void }) {
  const [filter, setFilter] = useState({ q: '', gameType: '', player: '' });
  const [selected, setSelected] = useState<string | null>(null);
  const games = useWatch<{ games: GameRow[] }>(`/admin/games${query(filter)}`);
  const field = (k: keyof typeof filter, label: string) => (
    <label>
      {label}
      <input value={filter[k]} onInput={(e) => setFilter({ ...filter, [k]: e.currentTarget.value })} />
    </label>
  );
  return (
    <div class="split">
      <section class="panel" data-testid="games">
        <h2>Games</h2>
        <form class="row" onSubmit={(e) => e.preventDefault()}>
          {field('q', 'Name or id')}
          {field('gameType', 'Type')}
          {field('player', 'Player (id or name)')}
        </form>
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Players</th>
              <th>State</th>
              <th>Owner node</th>
              <th>Age</th>
            </tr>
          </thead>
          <tbody>
            {(games?.body?.games ?? []).map((g) => (
              <tr key={g.id} data-testid="game-row" class={g.id === selected ? 'picked' : 'pick'} onClick={() => setSelected(g.id)}>
                <td>{g.name}</td>
                <td>{g.gameType}</td>
                <td>
                  {g.players.length}/{g.maxPlayers}
                  {g.spectators ? ` +${g.spectators}` : ''}
                </td>
                <td>{g.inProgress ? 'in progress' : 'open'}</td>
                <td class="mono">{g.ownerNode ?? '—'}</td>
                <td>{age(g.ageMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {games?.body?.games?.length === 0 && <p class="muted">No game matches.</p>}
      </section>
      {selected && <GameDetail id={selected} onPlayer={props.onPlayer} />}
    </div>
  );
}

interface GameFull {
  id: string;
  name: string;
  gameType: string;
  state: string;
  ownerId: string;
  ownerNode: string | null;
  ageMs: number;
  maxPlayers: number;
  hasPassword: boolean;
  players: { userId: string; name: string; teamIndex: number; ready: boolean; connected: boolean; level: number; rating: number }[];
  spectators: { userId: string; name: string }[];
  teams: string[][];
}

export function GameDetail(props: { id: string; onPlayer: (userId: string) => void }) {
  const game = useWatch<GameFull>(`/admin/games/${encodeURIComponent(props.id)}`);
  const [run, outcome] = useAction();
  if (!game) return <section class="panel">Loading…</section>;
  if (game.status === 404) return <section class="panel" data-testid="game-detail">This game is over.</section>;
  const g = game.body;
  const kick = (userId: string) => run('POST', '/admin/commands', { kind: 'kick', userId, args: { reason: 'kicked by an operator' } });
  return (
    <section class="panel" data-testid="game-detail">
      <h2>{g.name}</h2>
      <dl>
        <dt>Id</dt>
        <dd class="mono">{g.id}</dd>
        <dt>Type</dt>
        <dd>{g.gameType}</dd>
        <dt>State</dt>
        <dd data-testid="game-state">{g.state}</dd>
        <dt>Owner node</dt>
        <dd class="mono">{g.ownerNode ?? '—'}</dd>
        <dt>Age</dt>
        <dd>{age(g.ageMs)}</dd>
      </dl>
      {g.teams.map((team, i) => (
        <div key={i} class="team">
          <h3>Team {i + 1}</h3>
          <ul>
            {team.map((userId) => {
              const p = g.players.find((x) => x.userId === userId)!;
              return (
                <li key={userId} data-testid="game-player">
                  <a href="#" onClick={(e) => (e.preventDefault(), props.onPlayer(userId))}>
                    {p.name}
                  </a>
                  {p.userId === g.ownerId && <span class="tag">owner</span>}
                  {p.ready && <span class="tag">ready</span>}
                  {!p.connected && <span class="tag bad">disconnected</span>}
                  <button onClick={() => void kick(userId)}>Kick</button>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
      <h3>Spectators</h3>
      <ul>
        {g.spectators.map((s) => (
          <li key={s.userId}>{s.name}</li>
        ))}
        {!g.spectators.length && <li class="muted">none</li>}
      </ul>
      <button class="danger" onClick={() => void run('POST', `/admin/games/${encodeURIComponent(g.id)}/end`)}>
        End game
      </button>
      {outcome && <Outcome {...outcome} />}
    </section>
  );
}
