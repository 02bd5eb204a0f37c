import { useState } from 'preact/hooks';
import { FriendsPanel } from './friends.js';
import { GameBrowser, GameRoom } from './games.js';
import type { Lobby } from './lobby.js';
import type { ConnLabel, LobbyModel } from './model.js';
import { MailPanel } from './mail.js';
import { Matchmaking } from './matchmaking.js';
import { Invites, PartyPanel, YouCard } from './party.js';
import { savedGuest } from './session.js';
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
            <MailPanel lobby={lobby} s={s} />
          </div>
          <aside class="col side-col">
            <YouCard lobby={lobby} s={s} />
            <Invites lobby={lobby} s={s} />
            <FriendsPanel lobby={lobby} s={s} />
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
      {s.me && <HeaderLinks s={s} />}
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

/** Counts that call for attention, each a link to its panel. */
function HeaderLinks({ s }: { s: LobbyModel }) {
  const friends = s.friends ?? [];
  const online = friends.filter((f) => f.state === 'friend' && f.presence && f.presence.status !== 'offline').length;
  const requests = friends.filter((f) => f.state === 'requestReceived').length;
  return (
    <nav class="head-links" aria-label="Shortcuts">
      <a href="#friends" class="head-link" title={requests > 0 ? `${requests} friend request${requests === 1 ? '' : 's'} waiting` : 'Your friends'} data-testid="head-friends">
        <span class="dot-online" aria-hidden="true" />
        {online} {online === 1 ? 'friend' : 'friends'} online
        {requests > 0 && <span class="count">{requests}</span>}
      </a>
      <a href="#mail" class={`head-link ${s.mail.length ? 'hot' : ''}`} title="Unacknowledged mail" data-testid="head-mail">
        ✉ {s.mail.length}
      </a>
    </nav>
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

type LoginMode = 'guest' | 'account';

function Login({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const [mode, setMode] = useState<LoginMode>('guest');
  const ready = s.conn === 'connected' || s.conn === 'resumed' || s.conn === 'resynced';
  return (
    <main class="login">
      <div class="panel login-card">
        <div class="login-logo" aria-hidden="true">
          ◆
        </div>
        <h1>Welcome to Foyer</h1>
        <p class="muted">Find games, team up with friends in a party, or queue for a match.</p>
        {s.signedOut && !s.restoring && (
          <p class="note warn" role="status" data-testid="signed-out">
            {s.signedOut}
          </p>
        )}
        {s.restoring ? (
          <p class="note">Resuming your session…</p>
        ) : (
          <>
            <div class="tabs" role="tablist">
              <button type="button" role="tab" aria-selected={mode === 'guest'} class={`tab ${mode === 'guest' ? 'on' : ''}`} onClick={() => setMode('guest')}>
                Guest
              </button>
              <button type="button" role="tab" aria-selected={mode === 'account'} class={`tab ${mode === 'account' ? 'on' : ''}`} onClick={() => setMode('account')}>
                Account
              </button>
            </div>
            {mode === 'guest' ? <GuestLogin lobby={lobby} ready={ready} /> : <AccountLogin lobby={lobby} ready={ready} />}
          </>
        )}
      </div>
    </main>
  );
}

function GuestLogin({ lobby, ready }: { lobby: Lobby; ready: boolean }) {
  const [name, setName] = useState('');
  const remembered = savedGuest();
  return (
    <form
      class="login-form"
      onSubmit={(e) => {
        e.preventDefault();
        void lobby.loginGuest(name.trim());
      }}
    >
      {remembered && (
        <>
          <button type="button" class="btn primary big" disabled={!ready} onClick={() => void lobby.loginGuest(remembered.name, remembered)}>
            Continue as {remembered.name}
          </button>
          <p class="muted small">This browser remembers your guest (same id, friends and mail). Or start a new one:</p>
        </>
      )}
      <input
        class="big-input"
        placeholder="Your name"
        aria-label="Your name"
        maxLength={32}
        autoFocus
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
      />
      <button class={`btn big ${remembered ? 'ghost' : 'primary'}`} disabled={!name.trim() || !ready}>
        Play as guest
      </button>
    </form>
  );
}

function AccountLogin({ lobby, ready }: { lobby: Lobby; ready: boolean }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const ok = !!name.trim() && !!password && ready;
  return (
    <form
      class="login-form"
      onSubmit={(e) => {
        e.preventDefault();
        void lobby.loginAccount(name.trim(), password, false);
      }}
    >
      <input class="big-input" placeholder="Account name" aria-label="Account name" maxLength={32} autoFocus autoComplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <input
        class="big-input"
        type="password"
        placeholder="Password"
        aria-label="Password"
        maxLength={200}
        autoComplete="current-password"
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
      <button class="btn primary big" disabled={!ok}>
        Log in
      </button>
      <button
        type="button"
        class="btn ghost"
        disabled={!ok || password.length < 8}
        title={password.length < 8 ? 'A new account needs a password of at least 8 characters' : 'Create this account and log in'}
        onClick={() => void lobby.loginAccount(name.trim(), password, true)}
      >
        Create account
      </button>
      <p class="hint">New here? Pick a name and a password (8 characters or more) and create an account.</p>
    </form>
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
