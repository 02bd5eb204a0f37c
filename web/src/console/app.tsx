import { useMemo, useState } from 'preact/hooks';
import { AdminApi } from './api.js';
import { Audit } from './audit.js';
import { ClusterView } from './cluster.js';
import { Games } from './games.js';
import { Api } from './hooks.js';
import { Metrics } from './metrics.js';
import { Players } from './players.js';
import { Queues } from './queues.js';

const KEY = 'foyer-console-token';
const TABS = { cluster: 'Cluster', games: 'Games', queues: 'Queues', players: 'Players', audit: 'Audit', metrics: 'Metrics' } as const;
type Tab = keyof typeof TABS;

/** Logged out: only the login form. Logged in: the views, each live. The token lives in this tab's session storage only. */
export function Console() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(KEY));
  const [error, setError] = useState<string>();
  const logOut = (why?: string) => {
    sessionStorage.removeItem(KEY);
    setToken(null);
    setError(why);
  };
  const api = useMemo(() => token && new AdminApi(token, () => logOut('The node refused the token.')), [token]);
  if (!api) return <Login error={error} onToken={(t) => (sessionStorage.setItem(KEY, t), setError(undefined), setToken(t))} onError={setError} />;
  return (
    <Api.Provider value={api}>
      <Views onLogOut={() => logOut()} />
    </Api.Provider>
  );
}

function Login(props: { error: string | undefined; onToken: (t: string) => void; onError: (e: string) => void }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    // The token is checked against the node before anything is shown.
    const res = await fetch('/admin/cluster', { headers: { authorization: `Bearer ${value.trim()}` } }).catch(() => undefined);
    setBusy(false);
    if (res?.ok) props.onToken(value.trim());
    else props.onError(res?.status === 401 ? 'The node refused the token.' : res?.status === 404 ? 'The admin API is off on this node (FOYER_ADMIN_TOKEN is unset).' : 'The node did not answer.');
  };
  return (
    <main class="login">
      <form class="card" onSubmit={submit} data-testid="login">
        <h1>Foyer console</h1>
        <label>
          Admin token
          <input type="password" autocomplete="current-password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || !value.trim()}>
          Log in
        </button>
        {props.error && (
          <p class="bad" role="alert" data-testid="login-error">
            {props.error}
          </p>
        )}
      </form>
    </main>
  );
}

function Views(props: { onLogOut: () => void }) {
  const [tab, setTab] = useState<Tab>('cluster');
  const [player, setPlayer] = useState<string | null>(null);
  const showPlayer = (userId: string) => {
    setPlayer(userId);
    setTab('players');
  };
  return (
    <div class="console">
      <header class="top">
        <h1>Foyer console</h1>
        <nav>
          {(Object.keys(TABS) as Tab[]).map((t) => (
            <button key={t} class={t === tab ? 'tab on' : 'tab'} aria-pressed={t === tab} onClick={() => setTab(t)}>
              {TABS[t]}
            </button>
          ))}
        </nav>
        <button class="ghost" onClick={props.onLogOut}>
          Log out
        </button>
      </header>
      <main>
        {tab === 'cluster' && <ClusterView />}
        {tab === 'games' && <Games onPlayer={showPlayer} />}
        {tab === 'queues' && <Queues onPlayer={showPlayer} />}
        {tab === 'players' && <Players selected={player} onSelect={setPlayer} />}
        {tab === 'audit' && <Audit />}
        {tab === 'metrics' && <Metrics />}
      </main>
    </div>
  );
}
