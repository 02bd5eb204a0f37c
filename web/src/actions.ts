import type { Friend } from '@foyer/client-sdk';
import type { Lobby } from './lobby.js';
import type { MailTarget } from './model.js';
import { saveGuest, savedGuest } from './session.js';

// What a person does about themselves, their friends and their mail. The
// replies go through the mirror, which updates what the page shows.

// ---- you

/** Turns the guest one plays as into a named account (auth.upgrade), keeping id, rating and friends. */
export async function upgrade(lobby: Lobby, name: string, password: string): Promise<boolean> {
  const r = await lobby.act('Save your account', async () => {
    const r = await lobby.call('auth.upgrade', { name, password });
    await lobby.handTokenToSdk(r.token);
    return r;
  });
  if (!r) return false;
  if (savedGuest()?.userId === r.userId) saveGuest(undefined);
  lobby.toast('info', 'Account saved', `From now on log in as “${r.name}” with your password.`);
  void lobby.refetchProfile();
  return true;
}

export async function setActivity(lobby: Lobby, activity: string | null): Promise<void> {
  await lobby.act('Set your status', () => lobby.call('presence.set', { activity }));
}

// ---- friends

export async function requestFriend(lobby: Lobby, userId: string): Promise<boolean> {
  if (userId === lobby.state.me?.userId) {
    lobby.toast('error', 'Send a friend request', 'That is your own user id.');
    return false;
  }
  const r = await lobby.act('Send a friend request', () => lobby.call('friends.request', { userId }));
  if (!r) return false;
  const f = r.friend;
  lobby.toast('info', f.state === 'friend' ? 'New friend' : 'Friend request sent', f.state === 'friend' ? `You and ${f.name} are friends now.` : `${f.name} sees your request.`);
  return true;
}

export async function acceptFriend(lobby: Lobby, f: Friend): Promise<void> {
  await lobby.act(`Accept ${f.name}'s request`, () => lobby.call('friends.accept', { userId: f.userId }));
}

/** Ops that answer `{}`: the friends.changed event that follows updates the list (friends.unblock's reply does). */
export async function friendOp(lobby: Lobby, op: 'friends.decline' | 'friends.remove' | 'friends.block' | 'friends.unblock', f: Friend, what: string): Promise<void> {
  await lobby.act(what, () => lobby.call(op, { userId: f.userId }));
}

export async function inviteToParty(lobby: Lobby, user: { userId: string; name: string }): Promise<void> {
  await lobby.act(`Invite ${user.name} to your party`, async () => {
    const r = await lobby.call('party.invite', { userId: user.userId });
    const inv = r.party.invites.find((i) => i.userId === user.userId);
    lobby.toast('info', 'Party invite sent', inv ? `${user.name} has ${Math.round((inv.expiresAt - lobby.now()) / 1000)} s to accept.` : `${user.name} is invited.`);
  });
}

// ---- mail

export async function ackMail(lobby: Lobby, all: string[]): Promise<void> {
  const ids = all.slice(0, 200); // the most one mail.ack takes
  if (!ids.length) return;
  await lobby.act(ids.length > 1 ? 'Acknowledge the mail' : 'Acknowledge the message', () => lobby.call('mail.ack', { ids }));
}

/** Why mail.send refused a recipient (its `failed[].code`), in words. */
const MAIL_REFUSALS: Readonly<Record<string, string>> = {
  USER_NOT_FOUND: 'there is no such player',
  BLOCKED: 'one of you blocked the other',
  INBOX_FULL: 'their inbox is full until they read some mail',
};

/**
 * Sends one message. `clientMsgId` makes a retry after a dropped connection
 * safe: 'error' means the send may not have happened (try again with the
 * same id); 'refused' that the server refused it for this recipient.
 */
export async function sendMail(lobby: Lobby, to: MailTarget, body: string, clientMsgId: string): Promise<'sent' | 'refused' | 'error'> {
  const r = await lobby.act(`Mail ${to.name}`, () => lobby.call('mail.send', { to: [to.userId], body, clientMsgId }));
  if (!r) return 'error';
  const failed = r.failed.find((f) => f.to === to.userId);
  if (failed) {
    lobby.toast('error', `Mail to ${to.name} was not sent`, `${failed.code}: ${MAIL_REFUSALS[failed.code] ?? 'the server refused it'}`);
    return 'refused';
  }
  lobby.toast('info', 'Mail sent', `${to.name} gets it now if online, or at their next login.`);
  return 'sent';
}
