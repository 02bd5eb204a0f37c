import { useState } from 'preact/hooks';
import { acceptFriend, friendOp, inviteToParty, requestFriend } from './actions.js';
import type { Lobby } from './lobby.js';
import type { Friend, LobbyModel, Presence } from './model.js';
import { Avatar, Badge, Empty, Panel } from './ui.js';

const PRESENCE_TEXT: Record<Presence['status'], string> = {
  online: 'Online',
  inGame: 'In a game',
  inQueue: 'Looking for a match',
  offline: 'Offline',
};
/** Online friends first (playing, then queued, then idle), offline ones last. */
const PRESENCE_ORDER: Record<Presence['status'], number> = { online: 0, inQueue: 1, inGame: 2, offline: 3 };

const statusOf = (f: Friend): Presence['status'] => f.presence?.status ?? 'offline';

export function FriendsPanel({ lobby, s }: { lobby: Lobby; s: LobbyModel }) {
  const list = s.friends;
  const friends = (list ?? []).filter((f) => f.state === 'friend').sort((a, b) => PRESENCE_ORDER[statusOf(a)] - PRESENCE_ORDER[statusOf(b)]);
  const received = (list ?? []).filter((f) => f.state === 'requestReceived');
  const sent = (list ?? []).filter((f) => f.state === 'requestSent');
  const blocked = (list ?? []).filter((f) => f.state === 'blocked');
  const online = friends.filter((f) => statusOf(f) !== 'offline').length;
  return (
    <Panel
      id="friends"
      testid="friends"
      class="friends"
      title={
        <>
          Friends
          {list && (
            <span class="muted small" data-testid="friends-online">
              {online} of {friends.length} online
            </span>
          )}
          {received.length > 0 && <Badge kind="warn">{received.length} new</Badge>}
        </>
      }
    >
      {list === null ? (
        <Empty>
          Loading your friends…{' '}
          <button class="link" onClick={() => void lobby.refetch('friends.list', 'Could not load your friends')}>
            Retry
          </button>
        </Empty>
      ) : (
        <>
          {received.length > 0 && (
            <div class="friend-group" data-testid="friend-requests">
              <h3 class="group-title">Friend requests</h3>
              <ul class="members">
                {received.map((f) => (
                  <RequestRow key={f.userId} f={f} lobby={lobby} />
                ))}
              </ul>
            </div>
          )}
          {friends.length === 0 ? (
            <Empty>No friends yet. Add someone by their user id, or from a game or your party.</Empty>
          ) : (
            <ul class="members" data-testid="friend-list">
              {friends.map((f) => (
                <FriendRow key={f.userId} f={f} lobby={lobby} s={s} />
              ))}
            </ul>
          )}
          {sent.length > 0 && (
            <div class="friend-group">
              <h3 class="group-title">Waiting for an answer</h3>
              <ul class="members">
                {sent.map((f) => (
                  <li key={f.userId} class="member pending" data-testid="friend" data-user-id={f.userId} data-state={f.state}>
                    <Avatar name={f.name} />
                    <div class="grow">
                      <span class="player-name">{f.name}</span> <span class="muted small">request sent</span>
                    </div>
                    <button class="btn tiny ghost" onClick={() => void friendOp(lobby, 'friends.decline', f, `Withdraw your request to ${f.name}`)}>
                      Withdraw
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {blocked.length > 0 && (
            <details class="friend-group blocked">
              <summary class="group-title">Blocked ({blocked.length})</summary>
              <ul class="members">
                {blocked.map((f) => (
                  <li key={f.userId} class="member" data-testid="friend" data-user-id={f.userId} data-state={f.state}>
                    <Avatar name={f.name} />
                    <div class="grow">
                      <span class="player-name">{f.name}</span> <span class="muted small">cannot request, mail or invite you</span>
                    </div>
                    <button class="btn tiny ghost" onClick={() => void friendOp(lobby, 'friends.unblock', f, `Unblock ${f.name}`)}>
                      Unblock
                    </button>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
      <AddFriend lobby={lobby} />
    </Panel>
  );
}

function RequestRow({ f, lobby }: { f: Friend; lobby: Lobby }) {
  return (
    <li class="member request" data-testid="friend" data-user-id={f.userId} data-state={f.state}>
      <Avatar name={f.name} />
      <div class="grow">
        <span class="player-name">{f.name}</span> <span class="muted small">wants to be your friend</span>
      </div>
      <span class="player-actions">
        <button class="btn tiny primary" onClick={() => void acceptFriend(lobby, f)}>
          Accept
        </button>
        <button class="btn tiny ghost" onClick={() => void friendOp(lobby, 'friends.decline', f, `Decline ${f.name}'s request`)}>
          Decline
        </button>
        <button class="btn tiny danger ghost" title={`Block ${f.name}: no more requests, mail or invites`} onClick={() => void friendOp(lobby, 'friends.block', f, `Block ${f.name}`)}>
          Block
        </button>
      </span>
    </li>
  );
}

function FriendRow({ f, lobby, s }: { f: Friend; lobby: Lobby; s: LobbyModel }) {
  const [more, setMore] = useState(false);
  const status = statusOf(f);
  const me = s.me?.userId;
  const party = s.party;
  const inParty = !!party?.members.some((m) => m.userId === f.userId);
  const invited = !!party?.invites.some((i) => i.userId === f.userId);
  const notLeader = !!party && party.leaderId !== me;
  const why = status === 'offline' ? `${f.name} is offline` : notLeader ? 'Only your party leader can invite' : `Invite ${f.name} to your party`;
  return (
    <li class={`member friend ${status}`} data-testid="friend" data-user-id={f.userId} data-state={f.state} data-presence={status}>
      <span class="presence-avatar">
        <Avatar name={f.name} />
        <span class={`presence-dot ${status}`} aria-hidden="true" />
      </span>
      <div class="grow">
        <span class="player-name">{f.name}</span>
        <span class={`presence-text ${status}`} data-testid="presence">
          {PRESENCE_TEXT[status]}
          {f.presence?.activity ? ` · ${f.presence.activity}` : ''}
        </span>
      </div>
      <span class="player-actions">
        {inParty ? (
          <Badge kind="ok">in your party</Badge>
        ) : invited ? (
          <Badge>invited</Badge>
        ) : (
          <button class="btn tiny primary" disabled={status === 'offline' || notLeader} title={why} onClick={() => void inviteToParty(lobby, f)}>
            Invite to party
          </button>
        )}
        <button
          class="btn tiny ghost"
          title={`Write to ${f.name}`}
          onClick={() => {
            lobby.set({ mailTo: { userId: f.userId, name: f.name } });
            document.getElementById('mail')?.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
          }}
        >
          Mail
        </button>
        <button class="btn tiny ghost" aria-label={`More for ${f.name}`} aria-expanded={more} onClick={() => setMore(!more)}>
          ⋯
        </button>
      </span>
      {more && (
        <div class="friend-more">
          <span class="muted small grow">
            id <code>{f.userId}</code>
          </span>
          <button class="btn tiny danger ghost" onClick={() => void friendOp(lobby, 'friends.remove', f, `Remove ${f.name} from your friends`)}>
            Remove friend
          </button>
          <button class="btn tiny danger ghost" onClick={() => void friendOp(lobby, 'friends.block', f, `Block ${f.name}`)}>
            Block
          </button>
        </div>
      )}
    </li>
  );
}

function AddFriend({ lobby }: { lobby: Lobby }) {
  const [userId, setUserId] = useState('');
  return (
    <form
      class="inline-form"
      data-testid="add-friend"
      onSubmit={(e) => {
        e.preventDefault();
        void requestFriend(lobby, userId.trim()).then((ok) => ok && setUserId(''));
      }}
    >
      <input placeholder="User id of a player" aria-label="User id to add as a friend" maxLength={128} value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
      <button class="btn primary" disabled={!userId.trim()}>
        Add friend
      </button>
    </form>
  );
}

/** "Add friend" next to a player one meets in a game or a party; nothing for oneself or someone already listed. */
export function BefriendButton({ lobby, s, user }: { lobby: Lobby; s: LobbyModel; user: { userId: string; name: string } }) {
  if (!s.friends || user.userId === s.me?.userId) return null;
  const entry = s.friends.find((f) => f.userId === user.userId);
  if (entry?.state === 'requestSent') return <Badge title="Your friend request waits for an answer">requested</Badge>;
  if (entry) return null;
  return (
    <button class="btn tiny ghost" title={`Send ${user.name} a friend request`} onClick={() => void requestFriend(lobby, user.userId)}>
      + Friend
    </button>
  );
}
