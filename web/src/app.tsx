import { useState } from 'preact/hooks';
import { GameBrowser, GameRoom } from './games.js';
import type { ConnLabel, Lobby, LobbyModel } from './lobby.js';
import { Matchmaking } from './matchmaking.js';
import { Invites, PartyPanel, YouCard } from './party.js';
import { useStore } from './store.js';

const CONN_TEXT: Record<ConnLabel, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  resumed: 'Resumed',
  resynced: 'Resynced',
  closed: 'Disconnected',
};

export function App({ lobby }: { lobby: Lobby }) {
  const s = useStore(lobby.store);
  return (
    <div class="app">
      <Header lobby={lobby} s={s} />
      {s.conn === 'closed' && <ClosedBanner lobby={lobby} s={s} />}
      {s.me ? (
        <main class={`layout ${s.conn === 'reconnecting' || s.conn === 'closed' || s.conn === 'connecting' ? 'offline' : ''}`}>
          <div class="col main-col">
            {s.game && <GameRoom lobby={lobby} s={s} game={s.game} />}
            <GameBrowser lobby={lobby} s={s} />
          </div>
          <aside class="col side-col">
            <YouCard lobby={lobby} s={s} />
            <Invites lobby={lobby} s={s} />
            <Matchmaking lobby={lobby} s={s} />
            <PartyPanel lobby={lobby} s={s} />
          </aside>
        </main>
      ) : (
        <Login lobby={lobby} s={s} />
      )}
      <Toasts lobby={lobby} s={s} />
    </div>
  );
}

function Header({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  return (
    <header class="top">
      <div class="brand">
        <span class="logo" aria-hidden="true">
          ◆
        </span>
        Foyer <span class="muted">lobby</span>
      </div>
      <div class="grow" />
      {s.me && (
        <span class="who">
          {s.me.name}
        </span>
      )}
      <div class={`conn conn-${s.conn}`} data-testid="conn" data-state={s.conn} title={s.connDetail || CONN_TEXT[s.conn]}>
        <span class="dot" aria-hidden="true" />
        <span class="conn-label" data-testid="conn-state">
          {CONN_TEXT[s.conn]}
        </span>
        {s.connDetail && <span class="conn-detail">{s.connDetail}</span>}
      </div>
      {s.conn === 'closed' && (
        <button class="btn small primary" onClick={() => void lobby.start()}>
          Reconnect
        </button>
      )}
    </header>
  );
}

function ClosedBanner({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  return (
    <div class="banner" role="alert">
      <strong>Not connected to the lobby.</strong> {s.connDetail}
      <button class="btn small primary" onClick={() => void lobby.start()}>
        Reconnect
      </button>
    </div>
  );
}

function Login({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const [name, setName] = useState('');
  const ready = s.conn === 'connected' || s.conn === 'resumed' || s.conn === 'resynced';
  return (
    <main class="login">
      <form
        class="panel login-card"
        onSubmit={(e) => {
          e.preventDefault();
          void lobby.login(name.trim());
        }}
      >
        <div class="login-logo" aria-hidden="true">
          ◆
        </div>
        <h1>Welcome to Foyer</h1>
        <p class="muted">Pick a name to play as a guest. Find games, team up in a party, or queue for a match.</p>
        {s.restoring ? (
          <p class="note">Resuming your session…</p>
        ) : (
          <>
            <input
              class="big-input"
              placeholder="Your name"
              aria-label="Your name"
              maxLength={32}
              autoFocus
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            <button class="btn primary big" disabled={!name.trim() || !ready}>
              Play as guest
            </button>
          </>
        )}
      </form>
    </main>
  );
}

function Toasts({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  return (
    <div class="toasts" aria-live="assertive">
      {s.toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid={`toast-${t.kind}`}>
          <div class="grow">
            <strong>{t.title}</strong>
            <div class="toast-text">{t.text}</div>
          </div>
          <button class="chip-x" aria-label="Dismiss" onClick={() => lobby.dismiss(t.id)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
