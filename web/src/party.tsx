import type { PartyView } from '@foyer/shared';
import { useState } from 'preact/hooks';
import { Chat } from './chat.js';
import { BefriendButton } from './friends.js';
import { setActivity, upgrade } from './actions.js';
import type { Lobby } from './lobby.js';
import type { Invite, LobbyModel } from './model.js';
import { Avatar, Badge, CopyButton, Countdown, CrownIcon, Empty, Panel, Rating } from './ui.js';

const CHARACTERS = ['Knight', 'Mage', 'Rogue', 'Ranger', 'Cleric', 'Bard'];

const KIND_TEXT = { guest: 'Playing as a guest', named: 'Named account', external: 'Signed in through your game' } as const;
const STATUS_TEXT = { online: 'online', inQueue: 'looking for a match', inGame: 'in a game' } as const;

export function YouCard({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const me = s.me!;
  const p = s.profile;
  const [editing, setEditing] = useState<'none' | 'upgrade' | 'status'>('none');
  // What the server tells friends follows what one does: queued first, then in a game.
  const queued = s.ticket?.status === 'queued' || s.ticket?.status === 'found';
  const status = queued ? 'inQueue' : s.game ? 'inGame' : 'online';
  return (
    <section class="panel you" data-testid="you">
      <div class="you-row">
        <Avatar name={me.name} />
        <div class="grow">
          <div class="you-name">{me.name}</div>
          <div class="muted small" data-testid="account-kind">
            {p ? KIND_TEXT[p.kind] : 'Loading your profile…'}
            {p && ` · level ${p.level} · `}
            {p && <Rating rating={p.rating} />}
          </div>
        </div>
        <button class="btn small ghost" onClick={() => void lobby.logout()}>
          Log out
        </button>
      </div>
      <div class="you-status">
        <span class={`presence-dot ${status}`} aria-hidden="true" />
        <span class="grow small" data-testid="my-presence">
          Friends see you {STATUS_TEXT[status]}
          {s.activity ? <> · <em>{s.activity}</em></> : ''}
        </span>
        <button class="link small" onClick={() => setEditing(editing === 'status' ? 'none' : 'status')}>
          {editing === 'status' ? 'Close' : 'Set status'}
        </button>
        {p?.kind === 'guest' && (
          <button class="link small" onClick={() => setEditing(editing === 'upgrade' ? 'none' : 'upgrade')}>
            {editing === 'upgrade' ? 'Close' : 'Save as account'}
          </button>
        )}
      </div>
      {editing === 'status' && <StatusForm lobby={lobby} s={s} onDone={() => setEditing('none')} />}
      {editing === 'upgrade' && <UpgradeForm lobby={lobby} name={me.name} onDone={() => setEditing('none')} />}
      <div class="you-id">
        <span class="label">Your user id — share it so friends can add and invite you</span>
        <div class="id-line">
          <code data-testid="my-user-id">{me.userId}</code>
          <CopyButton text={me.userId} />
        </div>
      </div>
    </section>
  );
}

function StatusForm({ lobby, s, onDone }: { lobby: Lobby; s: LobbyModel; onDone: () => void }) {
  const [text, setText] = useState(s.activity ?? '');
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void setActivity(lobby, text.trim() || null).then(onDone);
      }}
    >
      <input placeholder="What are you up to? (friends see it)" aria-label="Your status" maxLength={64} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button class="btn ghost">{text.trim() ? 'Set' : 'Clear'}</button>
    </form>
  );
}

function UpgradeForm({ lobby, name: guestName, onDone }: { lobby: Lobby; name: string; onDone: () => void }) {
  const [name, setName] = useState(guestName);
  const [password, setPassword] = useState('');
  return (
    <form
      class="stack-form"
      onSubmit={(e) => {
        e.preventDefault();
        void upgrade(lobby, name.trim(), password).then((ok) => ok && onDone());
      }}
    >
      <p class="muted small">Keep this guest's id, rating, friends and mail, and log in with a name and password from any browser.</p>
      <input placeholder="Account name" aria-label="New account name" maxLength={32} autoComplete="username" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <input
        type="password"
        placeholder="Password (8 characters or more)"
        aria-label="New password"
        minLength={8}
        maxLength={200}
        autoComplete="new-password"
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
      <button class="btn primary" disabled={!name.trim() || password.length < 8}>
        Save account
      </button>
    </form>
  );
}

export function Invites({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  if (!s.invites.length) return null;
  return (
    <Panel title={`Party invites (${s.invites.length})`} class="invites" testid="invites">
      <ul class="invite-list">
        {s.invites.map((i) => (
          <InviteCard key={i.partyId} i={i} lobby={lobby} s={s} />
        ))}
      </ul>
    </Panel>
  );
}

function InviteCard({ i, lobby, s }: { i: Invite; lobby: Lobby; s: LobbyModel }) {
  const mine = i.party?.invites.find((x) => x.userId === s.me?.userId);
  const members = i.party?.members ?? [];
  return (
    <li class="invite" data-testid="invite">
      <div class="invite-head">
        <Avatar name={i.from.name} />
        <div class="grow">
          <strong>{i.from.name}</strong> invites you to their party
          {members.length > 0 && <div class="muted small">Members: {members.map((m) => m.name).join(', ')}</div>}
        </div>
      </div>
      <Countdown until={i.expiresAt} offset={s.clockOffset} from={mine?.invitedAt ?? i.seenAt + s.clockOffset} label="expires in" testid="invite-countdown" />
      <div class="buttons">
        <button
          class="btn primary"
          onClick={() =>
            lobby.act('Accept the invite', async () => {
              await lobby.call('party.accept', { partyId: i.partyId });
            })
          }
        >
          Accept
        </button>
        <button
          class="btn ghost"
          onClick={() =>
            lobby.act('Decline the invite', async () => {
              await lobby.call('party.decline', { partyId: i.partyId });
            })
          }
        >
          Decline
        </button>
      </div>
    </li>
  );
}

function InviteForm({ lobby }: { lobby: Lobby }) {
  const [userId, setUserId] = useState('');
  const invite = () =>
    lobby.act('Invite to the party', async () => {
      await lobby.call('party.invite', { userId: userId.trim() });
      setUserId('');
    });
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void invite();
      }}
    >
      <input placeholder="Friend's user id" aria-label="User id to invite" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
      <button class="btn primary" disabled={!userId.trim()}>
        Invite
      </button>
    </form>
  );
}

export function PartyPanel({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const party = s.party;
  if (!party) {
    return (
      <Panel title="Party" testid="party">
        <Empty>You are not in a party. Invite an online friend from your friends list, or anyone by their user id, to start one.</Empty>
        <InviteForm lobby={lobby} />
      </Panel>
    );
  }
  return <PartyView_ lobby={lobby} s={s} party={party} />;
}

function PartyView_({ lobby, s, party }: { lobby: Lobby; s: LobbyModel; party: PartyView }) {
  const me = s.me!.userId;
  const leader = party.leaderId === me;
  const self = party.members.find((m) => m.userId === me);
  const [character, setCharacter] = useState(String(self?.attributes.character ?? ''));
  const act = lobby.act.bind(lobby);
  return (
    <Panel
      title={
        <>
          Party <span class="muted small">{party.members.length} member{party.members.length === 1 ? '' : 's'}</span>
        </>
      }
      testid="party"
      actions={
        <button class="btn small danger ghost" onClick={() => act('Leave the party', () => lobby.call('party.leave', {}))}>
          Leave
        </button>
      }
    >
      {party.queue && (
        <p class="note">
          <Badge kind="live">queued</Badge> The party is in the <strong>{party.queue}</strong> queue.
        </p>
      )}
      {!party.permanent && <p class="muted small">Waiting for someone to accept: the party starts when they do.</p>}
      <ul class="members">
        {party.members.map((m) => (
          <li key={m.userId} class="member" data-testid="party-member" data-user-id={m.userId}>
            <Avatar name={m.name} />
            <div class="grow">
              <span class="player-name">
                {m.name}
                {m.userId === me && <span class="muted"> (you)</span>}
              </span>
              {party.leaderId === m.userId && <CrownIcon />}
              <BefriendButton lobby={lobby} s={s} user={m} />
              <div class="attrs">
                {Object.entries(m.attributes).map(([k, v]) => (
                  <span class="chip" key={k}>
                    {k}: <strong>{String(v)}</strong>
                  </span>
                ))}
              </div>
            </div>
            {leader && m.userId !== me && (
              <span class="player-actions">
                <button class="btn tiny ghost" onClick={() => act(`Promote ${m.name}`, () => lobby.call('party.promote', { userId: m.userId }))}>
                  Promote
                </button>
                <button class="btn tiny danger ghost" onClick={() => act(`Kick ${m.name}`, () => lobby.call('party.kick', { userId: m.userId }))}>
                  Kick
                </button>
              </span>
            )}
          </li>
        ))}
        {party.invites.map((i) => (
          <li key={i.userId} class="member pending">
            <Avatar name={i.name} />
            <div class="grow">
              <span class="player-name">{i.name}</span> <span class="muted small">invited</span>
              <Countdown until={i.expiresAt} offset={s.clockOffset} from={i.invitedAt} label="expires in" />
            </div>
            {leader && (
              <button class="btn tiny ghost" onClick={() => act(`Cancel ${i.name}'s invite`, () => lobby.call('party.kick', { userId: i.userId }))}>
                Cancel
              </button>
            )}
          </li>
        ))}
      </ul>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act('Set your character', () => lobby.call('party.setAttributes', { attributes: { character: character.trim() || null } }));
        }}
      >
        <input placeholder="Your character" aria-label="Your character" list="characters" maxLength={128} value={character} onInput={(e) => setCharacter(e.currentTarget.value)} />
        <datalist id="characters">
          {CHARACTERS.map((c) => (
            <option value={c} key={c} />
          ))}
        </datalist>
        <button class="btn ghost">Set character</button>
      </form>
      {leader && <InviteForm lobby={lobby} />}
      <Chat lobby={lobby} channel="party" chat={s.partyChat.roomId === party.id ? s.partyChat.lines : []} me={me} placeholder="Message the party…" />
    </Panel>
  );
}
