import type { ChatLine, Friend, Invite, LobbyState, Mail, MirrorState, OpResult, StartKey } from '@foyer/client-sdk';
import type { GameSummary, GameView, PartyView, TicketUpdate } from '@foyer/shared';

export type { ChatLine, Friend, Invite, Mail, StartKey };

export interface Toast {
  id: number;
  kind: 'error' | 'notice' | 'info';
  title: string;
  text: string;
}

export interface ListFilter {
  gameType: string;
  nameContains: string;
  freeSeats: boolean;
  noPassword: boolean;
  status: 'any' | 'open' | 'inProgress';
}

export const DEFAULT_FILTER: ListFilter = { gameType: '', nameContains: '', freeSeats: false, noPassword: false, status: 'any' };

export type ConnLabel = LobbyState | 'idle';

export type Presence = NonNullable<Friend['presence']>;
export type Profile = OpResult<'profile.get'>['profile'];
/** Whom the mail form writes to: a friend, or the sender of a message being answered. */
export interface MailTarget {
  userId: string;
  name: string;
}

/** What the page shows: the SDK's mirror of the lobby (flattened for the components), and the page's own state. */
export interface LobbyModel {
  // ---- the page's own
  conn: ConnLabel;
  /** Why the connection is in that state (close reason, next retry), in words. */
  connDetail: string;
  /** Set while a stored session is being resumed at page load. */
  restoring: boolean;
  /** Why the page went back to its login screen by itself (the server refused the stored session), in words. */
  signedOut: string | null;
  /** One's own profile (account kind, level, rating), fetched after login. */
  profile: Profile | null;
  filter: ListFilter;
  listLoading: boolean;
  /** Set by a friend's "Mail" or a message's "Reply": the mail form writes to them. */
  mailTo: MailTarget | null;
  toasts: Toast[];
  /** Server clock minus local clock (ms), from session.ping: countdowns use server time. */
  clockOffset: number;

  // ---- from the mirror (fromMirror)
  me: { userId: string; name: string } | null;
  /** The activity text one's friends see (presence.set). */
  activity: string | null;
  game: GameView | null;
  spectating: boolean;
  startKey: StartKey | null;
  gameChat: { roomId: string | null; lines: ChatLine[] };
  party: PartyView | null;
  partyChat: { roomId: string | null; lines: ChatLine[] };
  invites: Invite[];
  ticket: TicketUpdate | null;
  /** Whether this player pressed accept on the found match. */
  accepted: boolean;
  /** When this page first saw the found match (local clock), for the countdown bar. */
  foundAt: number;
  subscriptionId: string | null;
  games: GameSummary[];
  /** Friends, requests both ways and blocked users; null until friends.list answered. */
  friends: Friend[] | null;
  /** Unacknowledged mail, as listed and received (deduplicated by id). */
  mail: Mail[];
  mailLoaded: boolean;
}

/** The mirror's fields as the components read them. */
export function fromMirror(m: MirrorState): Pick<LobbyModel, 'me' | 'activity' | 'game' | 'spectating' | 'startKey' | 'gameChat' | 'party' | 'partyChat' | 'invites' | 'ticket' | 'accepted' | 'foundAt' | 'subscriptionId' | 'games' | 'friends' | 'mail' | 'mailLoaded'> {
  return {
    me: m.me,
    activity: m.social.activity,
    game: m.game.game,
    spectating: m.game.spectating,
    startKey: m.game.startKey,
    gameChat: m.chat.game,
    party: m.party.party,
    partyChat: m.chat.party,
    invites: m.party.invites,
    ticket: m.ticket.ticket,
    accepted: m.ticket.accepted,
    foundAt: m.ticket.foundAt,
    subscriptionId: m.gameList.subscriptionId,
    games: m.gameList.games,
    friends: m.social.friends,
    mail: m.social.mail,
    mailLoaded: m.social.mailLoaded,
  };
}

/** The sender's user id of a message from a player (`<project>:<userId>`); undefined for operators' mail (`system:…`). */
export function senderId(m: Mail): string | undefined {
  if (m.from.startsWith('system:')) return undefined;
  const i = m.from.indexOf(':');
  return i > 0 ? m.from.slice(i + 1) : undefined;
}
