import type { GameSummary, GameView, PlayerView } from '@foyer/shared';
import { useState } from 'preact/hooks';
import { Chat } from './chat.js';
import { BefriendButton } from './friends.js';
import type { Lobby } from './lobby.js';
import type { LobbyModel } from './model.js';
import { Avatar, Badge, CopyButton, Countdown, CrownIcon, Empty, LockIcon, Panel } from './ui.js';

const GAME_TYPES = ['deathmatch', 'capture-the-flag', 'co-op', 'racing', 'chess'];

function TypeList() {
  return (
    <datalist id="game-types">
      {GAME_TYPES.map((t) => (
        <option value={t} key={t} />
      ))}
    </datalist>
  );
}

// ---------------------------------------------------------------- the list

export function GameBrowser({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const f = s.filter;
  const [creating, setCreating] = useState(false);
  return (
    <Panel
      title="Games"
      testid="games"
      actions={
        <button class="btn primary" onClick={() => setCreating(!creating)}>
          {creating ? 'Close' : '+ New game'}
        </button>
      }
    >
      <TypeList />
      {creating && <CreateGame lobby={lobby} onDone={() => setCreating(false)} />}
      <div class="filters" role="search">
        <input
          type="search"
          placeholder="Name contains…"
          aria-label="Name contains"
          value={f.nameContains}
          maxLength={32}
          onInput={(e) => lobby.setFilter({ nameContains: e.currentTarget.value })}
        />
        <input
          placeholder="Any game type"
          aria-label="Game type"
          list="game-types"
          value={f.gameType}
          maxLength={32}
          onInput={(e) => lobby.setFilter({ gameType: e.currentTarget.value })}
        />
        <select aria-label="Status" value={f.status} onChange={(e) => lobby.setFilter({ status: e.currentTarget.value as LobbyModel['filter']['status'] })}>
          <option value="any">Open and running</option>
          <option value="open">Open only</option>
          <option value="inProgress">Running only</option>
        </select>
        <label class="check">
          <input type="checkbox" checked={f.freeSeats} onChange={(e) => lobby.setFilter({ freeSeats: e.currentTarget.checked })} />
          Free seats
        </label>
        <label class="check">
          <input type="checkbox" checked={f.noPassword} onChange={(e) => lobby.setFilter({ noPassword: e.currentTarget.checked })} />
          No password
        </label>
      </div>
      {s.games.length === 0 ? (
        <Empty>{s.listLoading ? 'Loading games…' : 'No game matches. Create one, or quick join below.'}</Empty>
      ) : (
        <ul class="game-list" data-testid="game-list">
          {s.games.map((g) => (
            <GameRow key={g.id} g={g} lobby={lobby} mine={s.game?.id === g.id} />
          ))}
        </ul>
      )}
      <div class="split">
        <JoinById lobby={lobby} />
        <QuickJoin lobby={lobby} />
      </div>
    </Panel>
  );
}

function GameRow({ g, lobby, mine }: { g: GameSummary; lobby: Lobby; mine: boolean }) {
  const [asking, setAsking] = useState(false);
  const [password, setPassword] = useState('');
  const join = (spectate: boolean, pw?: string) =>
    lobby.act(spectate ? `Watch “${g.name}”` : `Join “${g.name}”`, async () => {
      await lobby.call('game.join', { gameId: g.id, spectate, ...(pw ? { password: pw } : {}) });
      setAsking(false);
    });
  const full = g.freeSeats <= 0;
  return (
    <li class={`game-row ${mine ? 'mine' : ''}`} data-testid="game-row" data-game-id={g.id}>
      <div class="game-main">
        <div class="game-title">
          {g.hasPassword && <LockIcon />}
          <strong>{g.name}</strong>
          <Badge>{g.gameType}</Badge>
          {g.inProgress && <Badge kind="live">in progress</Badge>}
          {g.locked && <Badge kind="warn">locked</Badge>}
          {g.friendsJoinOnly && <Badge>friends only</Badge>}
          {g.startMode === 'auto' && <Badge>auto start</Badge>}
        </div>
        <div class="game-sub">
          hosted by {g.ownerName || 'nobody'} · {g.spectators} watching
        </div>
      </div>
      <div class={`seats ${full ? 'full' : ''}`} title="players / max players">
        <span class="mono">
          {g.players}/{g.maxPlayers}
        </span>
        <span class="seat-bar">
          <span style={{ width: `${(g.players / Math.max(1, g.maxPlayers)) * 100}%` }} />
        </span>
      </div>
      <div class="row-actions">
        {mine ? (
          <Badge kind="ok">you're here</Badge>
        ) : asking ? (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void join(false, password);
            }}
          >
            <input type="password" placeholder="Password" aria-label="Password" value={password} autoFocus onInput={(e) => setPassword(e.currentTarget.value)} />
            <button class="btn small primary">Join</button>
            <button type="button" class="btn small ghost" onClick={() => setAsking(false)}>
              ✕
            </button>
          </form>
        ) : (
          <>
            <button class="btn small primary" disabled={g.inProgress} onClick={() => (g.hasPassword ? setAsking(true) : void join(false))}>
              Join
            </button>
            <button class="btn small ghost" onClick={() => void join(true)}>
              Watch
            </button>
          </>
        )}
      </div>
    </li>
  );
}

function JoinById({ lobby }: { lobby: Lobby }) {
  const [id, setId] = useState('');
  const [password, setPassword] = useState('');
  const join = (spectate: boolean) =>
    lobby.act(spectate ? 'Watch a game' : 'Join a game', async () => {
      await lobby.call('game.join', { gameId: id.trim(), spectate, ...(password ? { password } : {}) });
      setId('');
      setPassword('');
    });
  return (
    <form
      class="card-form"
      data-testid="join-by-id"
      onSubmit={(e) => {
        e.preventDefault();
        void join(false);
      }}
    >
      <h3>Join by id</h3>
      <input placeholder="Game id" aria-label="Game id" value={id} required onInput={(e) => setId(e.currentTarget.value)} />
      <input type="password" placeholder="Password (if any)" aria-label="Game password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <div class="buttons">
        <button class="btn primary" disabled={!id.trim()}>
          Join
        </button>
        <button type="button" class="btn ghost" disabled={!id.trim()} onClick={() => void join(true)}>
          Spectate
        </button>
      </div>
    </form>
  );
}

function QuickJoin({ lobby }: { lobby: Lobby }) {
  const [type, setType] = useState('deathmatch');
  const go = () =>
    lobby.act('Quick join', async () => {
      const me = lobby.state.me;
      const r = await lobby.call('games.quickJoin', { gameType: type.trim(), create: { name: `${me?.name ?? 'Guest'}'s ${type.trim()}`.slice(0, 32), maxPlayers: 8 } });
      lobby.toast('info', r.created ? 'New game created' : 'Joined a game', r.created ? `No open ${type} game fitted, so you host “${r.game.name}”.` : `You joined “${r.game.name}”.`);
    });
  return (
    <form
      class="card-form"
      onSubmit={(e) => {
        e.preventDefault();
        void go();
      }}
    >
      <h3>Quick join</h3>
      <input placeholder="Game type" aria-label="Quick join game type" list="game-types" value={type} required onInput={(e) => setType(e.currentTarget.value)} />
      <p class="hint">Joins the best open game of this type, or creates one.</p>
      <div class="buttons">
        <button class="btn primary" disabled={!type.trim()}>
          Quick join
        </button>
      </div>
    </form>
  );
}

function CreateGame({ lobby, onDone }: { lobby: Lobby; onDone: () => void }) {
  const me = lobby.state.me;
  const [name, setName] = useState(`${me?.name ?? 'Guest'}'s game`.slice(0, 32));
  const [gameType, setGameType] = useState('deathmatch');
  const [maxPlayers, setMaxPlayers] = useState(4);
  const [teamSize, setTeamSize] = useState(2);
  const [password, setPassword] = useState('');
  const [startMode, setStartMode] = useState<'manual' | 'auto'>('manual');
  const [friendsJoinOnly, setFriendsOnly] = useState(false);
  const [hidden, setHidden] = useState(false);
  const submit = () =>
    lobby.act('Create a game', async () => {
      await lobby.call('game.create', {
        name,
        gameType,
        maxPlayers,
        teamSize,
        startMode,
        friendsJoinOnly,
        hidden,
        ...(password ? { password } : {}),
      });
      onDone();
    });
  return (
    <form
      class="create-form"
      data-testid="create-game"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label>
        Name
        <input value={name} maxLength={32} required onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Game type
        <input value={gameType} list="game-types" maxLength={32} required onInput={(e) => setGameType(e.currentTarget.value)} />
      </label>
      <label>
        Max players
        <input type="number" min={1} max={64} value={maxPlayers} onInput={(e) => setMaxPlayers(Number(e.currentTarget.value))} />
      </label>
      <label>
        Team size
        <input type="number" min={1} max={64} value={teamSize} onInput={(e) => setTeamSize(Number(e.currentTarget.value))} />
      </label>
      <label>
        Password
        <input type="password" placeholder="none" maxLength={64} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <label>
        Start
        <select value={startMode} onChange={(e) => setStartMode(e.currentTarget.value as 'manual' | 'auto')}>
          <option value="manual">When the owner starts</option>
          <option value="auto">When full and all ready</option>
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={friendsJoinOnly} onChange={(e) => setFriendsOnly(e.currentTarget.checked)} />
        Friends only
      </label>
      <label class="check">
        <input type="checkbox" checked={hidden} onChange={(e) => setHidden(e.currentTarget.checked)} />
        Hidden (join by id)
      </label>
      <div class="buttons wide">
        <button class="btn primary">Create game</button>
      </div>
    </form>
  );
}

// ---------------------------------------------------------------- the room

export function GameRoom({ lobby, s, game }: { lobby: Lobby; s: LobbyModel; game: GameView }) {
  const me = s.me!.userId;
  const owner = game.ownerId === me;
  const self = game.players.find((p) => p.userId === me);
  const teams = Math.max(1, Math.ceil(game.maxPlayers / game.teamSize), ...game.players.map((p) => p.teamIndex + 1));
  const key = s.startKey?.gameId === game.id ? s.startKey : null;
  const act = lobby.act.bind(lobby);
  return (
    <Panel
      title={
        <>
          {game.hasPassword && <LockIcon />} {game.name}
        </>
      }
      class="room"
      testid="game-room"
      actions={
        <>
          {owner && !game.inProgress && game.startMode === 'manual' && (
            <button class="btn primary" onClick={() => act('Start the game', () => lobby.call('game.start', {}))}>
              Start game
            </button>
          )}
          <button class="btn danger ghost" onClick={() => act('Leave the game', () => lobby.call('game.leave', {}))}>
            {s.spectating ? 'Stop watching' : 'Leave'}
          </button>
        </>
      }
    >
      <div class="room-meta">
        <Badge>{game.gameType}</Badge>
        {game.inProgress ? <Badge kind="live">in progress</Badge> : <Badge kind="ok">waiting for players</Badge>}
        {!game.inProgress && <Badge>{game.startMode === 'auto' ? 'starts when full and ready' : 'owner starts'}</Badge>}
        {game.locked && <Badge kind="warn">locked</Badge>}
        {game.hidden && <Badge>hidden</Badge>}
        {game.friendsJoinOnly && <Badge>friends only</Badge>}
        {s.spectating && <Badge kind="warn">you are watching</Badge>}
        <span class="grow" />
        <span class="muted small">
          id <code data-testid="game-id">{game.id}</code>
        </span>
        <CopyButton text={game.id} label="Copy id" />
      </div>

      {game.inProgress && <StartCard lobby={lobby} s={s} game={game} self={self} sessionKey={key?.sessionKey} serverAddress={key?.serverAddress} />}

      <div class="teams" style={{ gridTemplateColumns: `repeat(${Math.min(teams, 4)}, minmax(0, 1fr))` }}>
        {Array.from({ length: teams }, (_, t) => {
          const players = game.players.filter((p) => p.teamIndex === t);
          const cap = Math.min(game.teamSize, game.maxPlayers);
          const open = !game.inProgress && players.length < cap && game.players.length < game.maxPlayers;
          return (
            <div class="team" key={t} data-testid={`team-${t}`}>
              <div class="team-head">
                <span>Team {t + 1}</span>
                <span class="muted mono">
                  {players.length}/{cap}
                </span>
                {self && self.teamIndex !== t && !game.inProgress && (
                  <button class="btn small ghost" onClick={() => act('Switch team', () => lobby.call('game.setTeam', { teamIndex: t }))}>
                    Switch here
                  </button>
                )}
              </div>
              <ul class="players">
                {players.map((p) => (
                  <PlayerRow key={p.userId} p={p} me={me} game={game} lobby={lobby} owner={owner} s={s} />
                ))}
                {open && <li class="slot-free">open seat</li>}
              </ul>
            </div>
          );
        })}
      </div>

      {game.spectators.length > 0 && (
        <div class="spectators">
          <span class="muted">Watching:</span>
          {game.spectators.map((sp) => (
            <span class="chip" key={sp.userId}>
              {sp.name}
              {sp.userId === me && ' (you)'}
              {owner && sp.userId !== me && (
                <button class="chip-x" title={`Remove ${sp.name}`} onClick={() => act(`Kick ${sp.name}`, () => lobby.call('game.kick', { userId: sp.userId }))}>
                  ✕
                </button>
              )}
            </span>
          ))}
        </div>
      )}

      {self && !game.inProgress && (
        <div class="room-bar">
          <button
            class={`btn ${self.ready ? 'ok' : 'primary'}`}
            data-testid="ready-toggle"
            onClick={() => act('Set ready', () => lobby.call('game.setReady', { ready: !self.ready }))}
          >
            {self.ready ? '✓ Ready — click to unready' : 'I’m ready'}
          </button>
          <span class="muted small">
            {game.players.filter((p) => p.ready).length} of {game.players.length} ready · {game.maxPlayers - game.players.length} free seats
          </span>
        </div>
      )}

      <Chat lobby={lobby} channel="game" chat={s.gameChat.roomId === game.id ? s.gameChat.lines : []} me={me} placeholder="Message the game…" />
    </Panel>
  );
}

function PlayerRow({ p, me, game, lobby, owner, s }: { p: PlayerView; me: string; game: GameView; lobby: Lobby; owner: boolean; s: LobbyModel }) {
  const act = lobby.act.bind(lobby);
  return (
    <li class={`player ${p.connected ? '' : 'away'}`} data-testid="player" data-user-id={p.userId}>
      <Avatar name={p.name} />
      <span class="player-name">
        {p.name}
        {p.userId === me && <span class="muted"> (you)</span>}
      </span>
      {game.ownerId === p.userId && <CrownIcon />}
      <BefriendButton lobby={lobby} s={s} user={p} />
      {!p.connected && <Badge kind="warn" title="connection lost; waiting for them to come back">away</Badge>}
      {game.inProgress ? (
        p.confirmed ? <Badge kind="ok">confirmed</Badge> : <Badge>not confirmed</Badge>
      ) : p.ready ? (
        <Badge kind="ok">ready</Badge>
      ) : (
        <Badge>not ready</Badge>
      )}
      {owner && p.userId !== me && (
        <span class="player-actions">
          <button class="btn tiny ghost" title={`Make ${p.name} the owner`} onClick={() => act(`Hand ownership to ${p.name}`, () => lobby.call('game.setOwner', { userId: p.userId }))}>
            Make owner
          </button>
          <button class="btn tiny danger ghost" title={`Remove ${p.name}`} onClick={() => act(`Kick ${p.name}`, () => lobby.call('game.kick', { userId: p.userId }))}>
            Kick
          </button>
        </span>
      )}
    </li>
  );
}

function StartCard({ lobby, s, game, self, sessionKey, serverAddress }: { lobby: Lobby; s: LobbyModel; game: GameView; self: PlayerView | undefined; sessionKey: string | undefined; serverAddress: string | undefined }) {
  const confirmed = self?.confirmed ?? false;
  return (
    <div class={`start-card ${confirmed ? 'done' : ''}`} data-testid="start-card">
      <div>
        <h3>{confirmed ? 'You are in — see you on the server' : 'The game has started'}</h3>
        {game.confirmBy && !confirmed && self && <Countdown until={game.confirmBy} offset={s.clockOffset} from={game.startedAt ?? undefined} label="confirm within" testid="confirm-countdown" />}
        <dl class="kv">
          {serverAddress && (
            <>
              <dt>Server</dt>
              <dd>
                <code>{serverAddress}</code>
              </dd>
            </>
          )}
          {sessionKey && (
            <>
              <dt>Session key</dt>
              <dd>
                <code data-testid="session-key">{sessionKey}</code> <CopyButton text={sessionKey} />
              </dd>
            </>
          )}
          {!self && (
            <>
              <dt>Watching</dt>
              <dd>spectators get no key</dd>
            </>
          )}
        </dl>
      </div>
      {self && !confirmed && (
        <button
          class="btn primary big"
          disabled={!sessionKey}
          title={sessionKey ? 'Confirm with your session key' : 'This page does not have your session key'}
          onClick={() => lobby.act('Confirm the game', () => lobby.call('game.confirm', { sessionKey: sessionKey! }))}
        >
          Confirm
        </button>
      )}
    </div>
  );
}
