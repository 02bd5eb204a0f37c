import type { MirrorInput, MirrorState } from '@foyer/client-sdk';
import type { Toast } from './model.js';

type Say = (kind: Toast['kind'], title: string, text: string) => void;

/**
 * What the page tells the person about a change of the mirror: the toasts for
 * being removed, a game or party ending, an invite gone, a friend request,
 * new mail, an operator's notice. `mailSince`: server time of the latest
 * login; mail sent before it is not announced.
 */
export function announce(next: MirrorState, prev: MirrorState, input: MirrorInput, say: Say, mailSince: number): void {
  if (!('ev' in input)) return;
  const me = next.me?.userId;
  switch (input.ev) {
    case 'server.notice':
      return say('notice', 'Server notice', input.data.text);
    case 'game.ended': {
      const g = prev.game.game;
      if (g && g.id === input.data.gameId) say('info', 'Game over', `“${g.name}” ended (${input.data.reason}).`);
      return;
    }
    case 'game.playerLeft': {
      const g = prev.game.game;
      const { userId, reason } = input.data;
      if (g && !next.game.game && userId === me && reason !== 'left' && reason !== 'joinedAnother') say('info', 'You left the game', `You were removed from “${g.name}” (${reason}).`);
      return;
    }
    case 'game.spectatorLeft': {
      const g = prev.game.game;
      if (g && !next.game.game && input.data.userId === me && input.data.reason === 'kicked') say('info', 'You stopped watching', `The owner removed you from “${g.name}”.`);
      return;
    }
    case 'party.inviteEnded': {
      const { userId, partyId, reason } = input.data;
      const had = prev.party.invites.find((i) => i.partyId === partyId);
      if (userId === me && had && (reason === 'expired' || reason === 'cancelled')) say('info', 'Invite gone', `${had.from.name}'s invite ${reason === 'expired' ? 'expired' : 'was cancelled'}.`);
      return;
    }
    case 'party.ended': {
      const p = prev.party.party;
      if (p && p.id === input.data.partyId && (p.members.length > 1 || input.data.reason !== 'expired')) say('info', 'Party over', `Your party ended (${input.data.reason}).`);
      return;
    }
    case 'party.memberLeft':
      if (prev.party.party && !next.party.party && input.data.userId === me && input.data.reason === 'kicked') say('info', 'Removed from the party', 'The leader removed you from the party.');
      return;
    case 'friends.changed': {
      const { friend: f, removed } = input.data;
      if (removed) return;
      if (f.state === 'requestReceived') say('info', 'Friend request', `${f.name} wants to be your friend.`);
      const old = prev.social.friends?.find((x) => x.userId === f.userId);
      if (old?.state === 'requestSent' && f.state === 'friend') say('info', 'New friend', `${f.name} accepted your friend request.`);
      return;
    }
    case 'mail.received': {
      const m = input.data.mail;
      if (next.social.mail !== prev.social.mail && m.sentAt >= mailSince) say('info', `Mail from ${m.fromName}`, m.body.length > 120 ? m.body.slice(0, 117) + '…' : m.body);
      return;
    }
  }
}
