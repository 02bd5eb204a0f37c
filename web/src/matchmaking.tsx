import type { TicketUpdate } from '@foyer/shared';
import { useState } from 'preact/hooks';
import type { Lobby } from './lobby.js';
import type { LobbyModel } from './model.js';
import { Badge, CopyButton, Countdown, Elapsed, Panel } from './ui.js';

/** The server's default queues; there is no op that lists queues, so any other name can be typed. */
const QUEUES = ['duel', 'team'];

const ENDED: Record<string, string> = {
  cancelled: 'Matchmaking was cancelled',
  timedOut: 'No match was found in time',
  failed: 'Matchmaking failed',
};

export function Matchmaking({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const t = s.ticket;
  return (
    <Panel title="Matchmaking" testid="matchmaking" class="mm">
      {t && (t.status === 'queued' || t.status === 'found' || t.status === 'ready') ? <Ticket lobby={lobby} s={s} t={t} /> : <QueueForm lobby={lobby} s={s} ended={t} />}
    </Panel>
  );
}

function QueueForm({ lobby, s, ended }: { lobby: Lobby; s: LobbyModel; ended: TicketUpdate | null }) {
  const [queue, setQueue] = useState(QUEUES[0]!);
  const party = s.party && s.party.members.length > 1 ? s.party : null;
  const leader = party?.leaderId === s.me?.userId;
  const go = () =>
    lobby.act(party ? 'Queue the party' : 'Find a match', async () => {
      await (party ? lobby.call('party.go', { queue: queue.trim() }) : lobby.call('mm.join', { queue: queue.trim() }));
    });
  return (
    <>
      {ended && (
        <p class="note" data-testid="mm-ended">
          {ENDED[ended.status] ?? ended.status}
          {ended.reason ? ` (${ended.reason})` : ''}.{' '}
          <button class="link" onClick={() => lobby.dismissTicket()}>
            Dismiss
          </button>
        </p>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <input aria-label="Queue" list="queues" placeholder="Queue name" maxLength={32} value={queue} onInput={(e) => setQueue(e.currentTarget.value)} />
        <datalist id="queues">
          {QUEUES.map((q) => (
            <option value={q} key={q} />
          ))}
        </datalist>
        <button class="btn primary" disabled={!queue.trim() || (!!party && !leader)} data-testid="mm-go">
          {party ? 'Queue party' : 'Find match'}
        </button>
      </form>
      <p class="hint">
        {party
          ? leader
            ? `Queues your whole party (${party.members.length} players) as one ticket.`
            : 'Your party leader queues the party.'
          : 'Queues: duel (1 vs 1) and team (3 vs 3), or type another queue name.'}
      </p>
    </>
  );
}

function Ticket({ lobby, s, t }: { lobby: Lobby; s: LobbyModel; t: TicketUpdate }) {
  const act = lobby.act.bind(lobby);
  if (t.status === 'queued') {
    return (
      <div class="ticket searching" data-testid="mm-status">
        <div class="pulse" aria-hidden="true" />
        <div class="grow">
          <div>
            Searching for a <strong>{t.queue}</strong> match…
          </div>
          <div class="muted small">
            waiting <Elapsed since={t.queuedAt} offset={s.clockOffset} />
          </div>
        </div>
        <button class="btn ghost" onClick={() => act('Cancel matchmaking', () => lobby.call('mm.cancel', {}))}>
          Cancel
        </button>
      </div>
    );
  }
  if (t.status === 'found' && t.match) {
    const m = t.match;
    return (
      <div class="ticket found" data-testid="mm-status">
        <h3>Match found!</h3>
        <Countdown until={m.acceptBy} offset={s.clockOffset} from={s.foundAt + s.clockOffset} label="accept within" testid="mm-countdown" />
        <div class="match-teams">
          {m.teams.map((team, i) => (
            <div key={i} class="match-team">
              <span class="muted small">{m.teams.length > 1 ? `Team ${i + 1}` : 'Players'}</span>
              {team.map((p) => (
                <span key={p.userId} class={`chip ${p.accepted ? 'ok' : 'waiting'}`} title={p.accepted ? 'accepted' : 'has not accepted yet'}>
                  <span class="state-dot" aria-hidden="true" />
                  {p.name}
                  {p.userId === s.me?.userId && <span class="muted"> (you)</span>}
                </span>
              ))}
            </div>
          ))}
        </div>
        {s.accepted ? (
          <p class="muted small">You accepted. Waiting for the others…</p>
        ) : (
          <div class="buttons">
            <button class="btn primary big" onClick={() => void lobby.act('Accept the match', () => lobby.call('mm.accept', {}))}>
              Accept
            </button>
            <button class="btn danger ghost" onClick={() => act('Decline the match', () => lobby.call('mm.decline', {}))}>
              Decline
            </button>
          </div>
        )}
      </div>
    );
  }
  return (
    <div class="ticket ready" data-testid="mm-status">
      <h3>
        <Badge kind="ok">ready</Badge> Your {t.queue} match is ready
      </h3>
      <dl class="kv">
        {t.gameId && (
          <>
            <dt>Game</dt>
            <dd>
              <code>{t.gameId}</code>
            </dd>
          </>
        )}
        {t.sessionKey && (
          <>
            <dt>Session key</dt>
            <dd>
              <code>{t.sessionKey}</code> <CopyButton text={t.sessionKey} />
            </dd>
          </>
        )}
        {t.serverAddress && (
          <>
            <dt>Server</dt>
            <dd>
              <code>{t.serverAddress}</code>
            </dd>
          </>
        )}
      </dl>
      <button class="link" onClick={() => lobby.dismissTicket()}>
        Dismiss
      </button>
    </div>
  );
}
