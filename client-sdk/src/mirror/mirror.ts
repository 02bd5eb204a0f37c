import { eventNames } from '@foyer/shared';
import type { EventFrame, EventName, OpName, OpResult } from '@foyer/shared';
import type { LobbyClient } from '../client.js';
import type { CallArgs } from '../types.js';
import { emptyChat, reduceChat, type ChatMirror } from './chat.js';
import { emptyGame, reduceGame, type GameMirror } from './game.js';
import { emptyGameList, reduceGameList, type GameListMirror } from './gameList.js';
import { isEvent, isReply, type MirrorInput, type ReceivedReply } from './input.js';
import { emptyParty, reduceParty, type PartyMirror } from './party.js';
import { emptySocial, reduceSocial, type SocialMirror } from './social.js';
import { emptyTicket, reduceTicket, type TicketMirror } from './ticket.js';

/**
 * The client's mirror of its part of the lobby: who it is, its game, party,
 * subscribed game list, friends and mail, matchmaking ticket and chats, kept
 * up to date from the events and replies it receives.
 */
export interface MirrorState {
  me: { userId: string; name: string } | null;
  game: GameMirror;
  party: PartyMirror;
  gameList: GameListMirror;
  social: SocialMirror;
  ticket: TicketMirror;
  chat: ChatMirror;
}

export const emptyMirror: MirrorState = {
  me: null,
  game: emptyGame,
  party: emptyParty,
  gameList: emptyGameList,
  social: emptySocial,
  ticket: emptyTicket,
  chat: emptyChat,
};

/** Logins that start a new account's session: nothing of the mirror before them is this user's. */
const FRESH_LOGINS = ['auth.guest', 'auth.register', 'auth.login'] as const;

/** The mirror after one event or reply: each feature's reducer takes what concerns it and ignores the rest. */
export function reduceMirror(s: MirrorState, input: MirrorInput): MirrorState {
  // A chat line concerns the chat alone (every other reducer passes it by): the busiest event runs one reducer.
  if (isEvent(input, 'chat.message')) return { ...s, chat: reduceChat(s.chat, input, s.game.game?.id, s.party.party?.id) };
  const start = isReply(input, ...FRESH_LOGINS) ? emptyMirror : s;
  const me = reduceMe(start.me, input);
  const userId = me?.userId;
  const game = reduceGame(start.game, input, userId);
  const party = reduceParty(start.party, input, userId);
  const gameList = reduceGameList(start.gameList, input);
  const social = reduceSocial(start.social, input);
  const ticket = reduceTicket(start.ticket, input, userId);
  const chat = reduceChat(start.chat, input, game.game?.id, party.party?.id);
  if (start === s && me === s.me && game === s.game && party === s.party && gameList === s.gameList && social === s.social && ticket === s.ticket && chat === s.chat) return s;
  return { me, game, party, gameList, social, ticket, chat };
}

function reduceMe(me: MirrorState['me'], input: MirrorInput): MirrorState['me'] {
  if (isReply(input, ...FRESH_LOGINS, 'auth.upgrade', 'auth.token', 'session.resume')) return { userId: input.result.userId, name: input.result.name };
  if (isReply(input, 'profile.get', 'profile.update') && me && input.result.profile.name !== me.name) return { ...me, name: input.result.profile.name };
  return me;
}

export type MirrorListener = (state: MirrorState, previous: MirrorState, input: MirrorInput) => void;

export interface LobbyMirrorOptions {
  /** Where to start: say, what a page saved before a reload. Default: empty. */
  initial?: MirrorState;
  /** Events this returns false for are not applied (say, those of a stream the app handles itself). Default: all are. */
  accept?: (frame: EventFrame) => boolean;
}

/**
 * A LobbyClient's events fed through reduceMirror, and its calls too when
 * made through `call`, its reconnects into a new session, and the streams
 * a resume reports gone: `state` is what the client knows of the lobby, and
 * listeners hear of every input with the state before and after it. What a
 * feature's `stale` flag asks for (a fresh game.current or party.current) is
 * the app's to fetch, through `call`.
 */
export class LobbyMirror {
  #state: MirrorState;
  readonly #listeners = new Set<MirrorListener>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(
    readonly client: LobbyClient,
    options: LobbyMirrorOptions = {},
  ) {
    this.#state = options.initial ?? emptyMirror;
    const accept = options.accept ?? (() => true);
    // The streams the last session.resume named as received (resumed or resynced), told before its state.
    let held = new Set<string>();
    // A stream the session no longer receives (session.resume said `gone`): what came on it is over. A `resynced` stream
    // needs nothing here: its snapshot event follows and replaces what the mirror holds.
    this.#unsubscribe.push(
      client.onStream((stream, state) => (state === 'gone' ? this.apply({ local: 'streamGone', stream, at: Date.now() }) : held.add(stream))),
    );
    // Before the app's own state listeners (when made before them): what they fetch again finds the old session's things gone.
    this.#unsubscribe.push(
      client.onState((state) => {
        if (state === 'resynced') this.apply({ local: 'resynced', at: Date.now() });
        if (state === 'resumed' || state === 'resynced') this.#dropUnheld(held);
        held = new Set();
      }),
    );
    for (const ev of eventNames) {
      this.#unsubscribe.push(
        client.on(ev as EventName, (data, frame) => {
          if (accept(frame)) this.apply({ ev, data, at: Date.now() } as MirrorInput);
        }),
      );
    }
  }

  /**
   * session.resume names every stream the session receives. A game, party or
   * list shown whose stream it did not name is over for this session, though
   * the client could not list it as gone: no event of it had come (a game
   * created alone, then left or ended while the connection was down; the
   * old session's game after a new one started).
   */
  #dropUnheld(held: ReadonlySet<string>): void {
    const s = this.#state;
    const shown = [s.game.game && `game:${s.game.game.id}`, s.party.party && `party:${s.party.party.id}`, s.gameList.subscriptionId];
    for (const stream of shown) if (stream && !held.has(stream)) this.apply({ local: 'streamGone', stream, at: Date.now() });
  }

  get state(): MirrorState {
    return this.#state;
  }

  /** Feeds one input (an event, a reply made elsewhere, a dismissal); listeners are told even when nothing changed. */
  apply(input: MirrorInput): void {
    const previous = this.#state;
    this.#state = reduceMirror(previous, input);
    for (const listener of [...this.#listeners]) listener(this.#state, previous, input);
  }

  /** client.call, and its reply fed to the mirror before the promise resolves. */
  async call<O extends OpName>(op: O, ...args: CallArgs<O>): Promise<OpResult<O>> {
    const sentAt = Date.now();
    const result = await this.client.call(op, ...args);
    this.apply({ op, data: args[0] ?? {}, result, at: Date.now(), sentAt } as ReceivedReply & { at: number; sentAt: number });
    return result;
  }

  /** Calls `listener` after every input. Returns the unsubscribe function. */
  subscribe(listener: MirrorListener): () => void {
    const entry: MirrorListener = (s, p, i) => listener(s, p, i);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  /** Stops listening to the client's events and states. */
  detach(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }
}
