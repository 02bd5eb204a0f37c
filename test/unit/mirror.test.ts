import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHAT_KEEP, emptyGame, emptyGameList, emptyMirror, emptyParty, emptySocial, emptyTicket, eventNames, eventsOf,
  reduceGame, reduceGameList, reduceMirror, reduceParty, reduceSocial, reduceTicket,
} from '@foyer/client-sdk';
import type { EventData, EventName, Friend, GameMirror, Mail, MirrorInput, MirrorState, OpData, OpName, OpResult } from '@foyer/client-sdk';
import { events } from '@foyer/shared';
import type { GameSummary, GameView, PartyView, PlayerView, TicketUpdate } from '@foyer/shared';

// The client's state mirror: pure reducers fed fake events and replies.

const ev = <E extends EventName>(name: E, data: EventData<E>, at = 1000): MirrorInput => ({ ev: name, data, at }) as MirrorInput;
const reply = <O extends OpName>(op: O, data: OpData<O>, result: OpResult<O>, at = 1000, sentAt = at): MirrorInput =>
  ({ op, data, result, at, sentAt }) as MirrorInput;

const player = (userId: string, slot: number): PlayerView => ({ userId, name: userId, slot, teamIndex: 0, level: 1, rating: 1000, ready: false, connected: true }) as PlayerView;
const gameView = (id: string, version: number, players: PlayerView[] = [player('me', 1)]): GameView =>
  ({ id, name: `game ${id}`, ownerId: players[0]?.userId ?? 'me', version, players, spectators: [], inProgress: false }) as unknown as GameView;
const partyView = (id: string, version: number, members: string[] = ['me']): PartyView => ({
  id, leaderId: members[0]!, version, invites: [], permanent: members.length > 1, queue: null,
  members: members.map((userId) => ({ userId, name: userId, attributes: {}, joinedAt: 1 })),
});
const summary = (id: string, version: number, createdAt = 1): GameSummary => ({ id, name: id, version, createdAt }) as unknown as GameSummary;

describe('event names', () => {
  it('eventNames lists every event of the protocol once; eventsOf picks a group by its prefix', () => {
    expect([...eventNames].sort()).toEqual(Object.keys(events).sort());
    expect(new Set(eventNames).size).toBe(eventNames.length);
    expect(eventsOf('game')).toEqual(Object.keys(events).filter((e) => e.startsWith('game.')));
    expect(eventsOf('games')).toEqual(['games.added', 'games.updated', 'games.removed', 'games.snapshot']);
    expect(eventsOf('mm')).toEqual(['mm.status']);
  });
});

describe('game', () => {
  const inGame = (v = 3): GameMirror => reduceGame(emptyGame, reply('game.create', {} as OpData<'game.create'>, { game: gameView('g1', v) }), 'me');

  it('a reply enters the game; events with the next version apply, older ones are ignored', () => {
    let s = inGame();
    expect(s.game?.id).toBe('g1');
    s = reduceGame(s, ev('game.playerJoined', { gameId: 'g1', version: 4, player: player('bob', 2) }), 'me');
    expect(s.game?.players.map((p) => p.userId)).toEqual(['me', 'bob']);
    expect(s.stale).toBe(false);
    const same = reduceGame(s, ev('game.playerLeft', { gameId: 'g1', version: 4, userId: 'bob', reason: 'left', ownerId: 'me' }), 'me');
    expect(same).toBe(s);
  });

  it('a skipped version is applied and marks the game stale until a snapshot arrives', () => {
    let s = inGame();
    s = reduceGame(s, ev('game.playerJoined', { gameId: 'g1', version: 6, player: player('bob', 2) }), 'me');
    expect(s.stale).toBe(true);
    expect(s.game?.version).toBe(6);
    s = reduceGame(s, reply('game.current', {}, { game: gameView('g1', 7), spectating: false }), 'me');
    expect(s).toMatchObject({ stale: false, game: { version: 7 } });
  });

  it('an event for a game whose reply is still on its way waits and is applied on top of it', () => {
    let s = reduceGame(emptyGame, ev('game.playerJoined', { gameId: 'g1', version: 4, player: player('bob', 2) }, 1000), 'me');
    expect(s.game).toBeNull();
    expect(s.waiting).toHaveLength(1);
    s = reduceGame(s, reply('game.join', { gameId: 'g1' } as OpData<'game.join'>, { game: gameView('g1', 3) }, 1500), 'me');
    expect(s.game?.players.map((p) => p.userId)).toEqual(['me', 'bob']);
    expect(s.waiting).toEqual([]);
    // One that waited too long is dropped.
    s = reduceGame(emptyGame, ev('game.playerJoined', { gameId: 'g1', version: 4, player: player('bob', 2) }, 1000), 'me');
    s = reduceGame(s, reply('game.join', { gameId: 'g1' } as OpData<'game.join'>, { game: gameView('g1', 3) }, 20_000), 'me');
    expect(s.game?.players).toHaveLength(1);
  });

  it('a join reply says whether one plays or watches by the game it carries, not by what was asked for', () => {
    const played = gameView('g1', 3);
    const asked = { gameId: 'g1', spectate: true } as OpData<'game.join'>;
    // A player asking to watch their own game stays a player: the join changed nothing.
    expect(reduceGame(emptyGame, reply('game.join', asked, { game: played }), 'me')).toMatchObject({ game: { id: 'g1' }, spectating: false });
    const watched = { ...gameView('g1', 4, [player('bob', 1)]), spectators: [{ userId: 'me', name: 'me' }] };
    expect(reduceGame(emptyGame, reply('game.join', asked, { game: watched }), 'me')).toMatchObject({ spectating: true });
  });

  it('an older snapshot does not undo newer events', () => {
    let s = inGame(3);
    s = reduceGame(s, ev('game.playerJoined', { gameId: 'g1', version: 4, player: player('bob', 2) }), 'me');
    expect(reduceGame(s, reply('game.current', {}, { game: gameView('g1', 3), spectating: false }), 'me')).toBe(s);
  });

  it('being removed, the game ending or leaving clears the game and its start key', () => {
    let s = inGame();
    s = reduceGame(s, ev('game.started', { gameId: 'g1', version: 4, confirmBy: 9 }, 5000), 'me');
    expect(s.game).toMatchObject({ inProgress: true, startedAt: 5000, confirmBy: 9, version: 4 });
    expect(s.startKey).toBeNull();
    s = reduceGame(s, ev('game.sessionKey', { gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1', confirmBy: 9 }, 5001), 'me');
    expect(s.startKey).toEqual({ gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1' });
    expect(reduceGame(s, ev('game.playerLeft', { gameId: 'g1', version: 5, userId: 'me', reason: 'kicked', ownerId: 'x' }), 'me')).toMatchObject({ game: null, startKey: null });
    expect(reduceGame(s, ev('game.ended', { gameId: 'g1', reason: 'ended' } as EventData<'game.ended'>), 'me')).toMatchObject({ game: null, startKey: null });
    expect(reduceGame(s, reply('game.leave', {}, { gameId: 'g1' }), 'me')).toMatchObject({ game: null, startKey: null });
  });

  it('game.sessionKey gives the start key, whether it comes before or after the game itself (another stream)', () => {
    const key = ev('game.sessionKey', { gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1', confirmBy: 9 }, 900);
    // Before: the key is kept while the game's reply is on its way, and the reply of that game keeps it.
    let s = reduceGame(emptyGame, key, 'me');
    expect(s).toMatchObject({ game: null, startKey: { gameId: 'g1', sessionKey: 'k' } });
    s = reduceGame(s, reply('game.current', {}, { game: gameView('g1', 4), spectating: false }), 'me');
    expect(s).toMatchObject({ game: { id: 'g1' }, startKey: { gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1' } });
    // After: the game is shown, and game.started (same for everyone) does not touch the key.
    s = reduceGame(reduceGame(inGame(3), ev('game.started', { gameId: 'g1', version: 4, confirmBy: 9 }), 'me'), key, 'me');
    expect(s.startKey).toEqual({ gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1' });
    expect(reduceGame(s, ev('game.started', { gameId: 'g1', version: 4, confirmBy: 9 }), 'me')).toBe(s);
    // The game ending before its reply arrived still ends the key.
    expect(reduceGame(reduceGame(emptyGame, key, 'me'), ev('game.ended', { gameId: 'g1', reason: 'ended' } as EventData<'game.ended'>), 'me').startKey).toBeNull();
  });

  it('game.snapshot replaces the game (unless older than what is shown), clears stale, and applies what waited for it', () => {
    let s = reduceGame(inGame(3), ev('game.playerJoined', { gameId: 'g1', version: 6, player: player('bob', 2) }), 'me');
    expect(s.stale).toBe(true);
    s = reduceGame(s, ev('game.snapshot', { game: gameView('g1', 8, [player('me', 1), player('cy', 3)]) }), 'me');
    expect(s).toMatchObject({ stale: false, spectating: false, game: { version: 8 } });
    expect(s.game?.players.map((p) => p.userId)).toEqual(['me', 'cy']);
    expect(reduceGame(s, ev('game.snapshot', { game: gameView('g1', 7) }), 'me')).toBe(s);
    // A snapshot of another game (one's game changed while away) takes its place; one watches it when only a spectator.
    const watched = { ...gameView('g2', 2, [player('ann', 1)]), spectators: [{ userId: 'me', name: 'me' }] } as unknown as GameView;
    s = reduceGame(s, ev('game.playerJoined', { gameId: 'g2', version: 3, player: player('bob', 2) }, 1000), 'me');
    s = reduceGame(s, ev('game.snapshot', { game: watched }, 1200), 'me');
    expect(s).toMatchObject({ spectating: true, game: { id: 'g2', version: 3 }, waiting: [] });
    expect(s.game?.players.map((p) => p.userId)).toEqual(['ann', 'bob']);
  });

  it("the game's stream gone drops the game, its start key and what waited for it; another stream gone changes nothing", () => {
    let s = reduceGame(inGame(3), ev('game.sessionKey', { gameId: 'g1', sessionKey: 'k', serverAddress: 'a:1', confirmBy: 9 }), 'me');
    s = reduceGame(s, ev('game.playerJoined', { gameId: 'g9', version: 2, player: player('bob', 2) }), 'me');
    expect(reduceGame(s, { local: 'streamGone', stream: 'game:g1', at: 2000 }, 'me')).toMatchObject({ game: null, startKey: null, spectating: false, waiting: [{ ev: 'game.playerJoined' }] });
    expect(reduceGame(s, { local: 'streamGone', stream: 'game:g9', at: 2000 }, 'me')).toMatchObject({ game: { id: 'g1' }, startKey: { gameId: 'g1' }, waiting: [] });
    for (const stream of ['party:g1', 'games:g1', 'user:me', 'game:g7']) expect(reduceGame(s, { local: 'streamGone', stream, at: 2000 }, 'me')).toBe(s);
  });

  it('a ready match gives the start key and asks for the game', () => {
    const t = { ticketId: 't', queue: 'duel', status: 'ready', queuedAt: 1, gameId: 'g9', sessionKey: 'k9' } as TicketUpdate;
    expect(reduceGame(emptyGame, ev('mm.status', t), 'me')).toMatchObject({ startKey: { gameId: 'g9', sessionKey: 'k9' }, stale: true });
  });

  it('property: any order of the same events ends at the newest version, with every joined player seated', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }).chain((n) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n })), (order) => {
        let s = inGame(0);
        for (const i of order) s = reduceGame(s, ev('game.playerJoined', { gameId: 'g1', version: i + 1, player: player(`p${i}`, i + 2) }), 'me');
        // Out of order, an event may be skipped (its version was passed): the game is then stale, and game.current repairs it.
        expect(s.game?.version).toBe(order.length);
        if (!s.stale) expect(s.game?.players).toHaveLength(order.length + 1);
        // Stale exactly when some event was more than one version ahead of the game as it was then.
        let version = 0;
        let gap = false;
        for (const i of order) {
          if (i + 1 > version + 1) gap = true;
          version = Math.max(version, i + 1);
        }
        expect(s.stale).toBe(gap);
      }),
    );
  });
});

describe('party', () => {
  const inParty = () => reduceParty(emptyParty, reply('party.invite', { userId: 'bob' }, { party: partyView('p1', 2) }), 'me');

  it('invites to me are held; their end or an accept removes them', () => {
    let s = reduceParty(emptyParty, ev('party.invited', { partyId: 'p2', version: 1, userId: 'me', from: { userId: 'ann', name: 'ann' }, expiresAt: 60_000, party: partyView('p2', 1, ['ann']) }, 500), 'me');
    expect(s.invites).toMatchObject([{ partyId: 'p2', seenAt: 500 }]);
    expect(s.party).toBeNull();
    expect(reduceParty(s, ev('party.inviteEnded', { partyId: 'p2', version: 2, userId: 'me', reason: 'expired' }), 'me').invites).toEqual([]);
    s = reduceParty(s, reply('party.accept', { partyId: 'p2' }, { party: partyView('p2', 3, ['ann', 'me']) }), 'me');
    expect(s).toMatchObject({ invites: [], party: { id: 'p2', version: 3 } });
  });

  it('members join, change and leave; the leader is the one the event names', () => {
    let s = inParty();
    s = reduceParty(s, ev('party.memberJoined', { partyId: 'p1', version: 3, member: { userId: 'bob', name: 'bob', attributes: {}, joinedAt: 2 } }), 'me');
    expect(s.party).toMatchObject({ permanent: true, version: 3 });
    s = reduceParty(s, ev('party.memberUpdated', { partyId: 'p1', version: 4, userId: 'bob', attributes: { character: 'x' } }), 'me');
    expect(s.party?.members[1]?.attributes).toEqual({ character: 'x' });
    s = reduceParty(s, ev('party.memberLeft', { partyId: 'p1', version: 5, userId: 'me', reason: 'left', leaderId: 'bob' }), 'me');
    expect(s.party).toBeNull();
  });

  it('party.current keeps when an invite was first seen; a snapshot event replaces an older party', () => {
    let s = reduceParty(emptyParty, ev('party.invited', { partyId: 'p2', version: 1, userId: 'me', from: { userId: 'ann', name: 'ann' }, expiresAt: 60_000, party: partyView('p2', 1, ['ann']) }, 500), 'me');
    s = reduceParty(s, reply('party.current', {}, { party: null, invites: [{ partyId: 'p2', from: { userId: 'ann', name: 'ann' }, expiresAt: 60_000 }, { partyId: 'p3', from: { userId: 'cy', name: 'cy' }, expiresAt: 1 }] }, 900), 'me');
    expect(s.invites.map((i) => [i.partyId, i.seenAt])).toEqual([['p2', 500], ['p3', 900]]);
    s = reduceParty(inParty(), ev('party.snapshot', { party: partyView('p1', 9, ['me', 'bob']) }), 'me');
    expect(s.party?.version).toBe(9);
  });

  it("the party's stream gone drops the party; a user snapshot replaces the invites one holds", () => {
    const s = inParty();
    expect(reduceParty(s, { local: 'streamGone', stream: 'party:p1', at: 2000 }, 'me')).toMatchObject({ party: null, stale: false });
    expect(reduceParty(s, { local: 'streamGone', stream: 'party:p2', at: 2000 }, 'me')).toBe(s);
    expect(reduceParty(s, { local: 'streamGone', stream: 'game:p1', at: 2000 }, 'me')).toBe(s);
    let held = reduceParty(s, ev('party.invited', { partyId: 'p2', version: 1, userId: 'me', from: { userId: 'ann', name: 'ann' }, expiresAt: 60_000, party: partyView('p2', 1, ['ann']) }, 500), 'me');
    held = reduceParty(held, ev('party.invited', { partyId: 'p3', version: 1, userId: 'me', from: { userId: 'cy', name: 'cy' }, expiresAt: 60_000, party: partyView('p3', 1, ['cy']) }, 600), 'me');
    const snap = ev('user.snapshot', { friends: [], ticket: null, invites: [{ partyId: 'p2', from: { userId: 'ann', name: 'ann' }, expiresAt: 60_000 }, { partyId: 'p4', from: { userId: 'di', name: 'di' }, expiresAt: 70_000 }] }, 900);
    const next = reduceParty(held, snap, 'me');
    // p3 ended while away; p2 keeps when it was first seen and its party; p4 is new.
    expect(next.invites.map((i) => [i.partyId, i.seenAt, i.party?.id])).toEqual([['p2', 500, 'p2'], ['p4', 900, undefined]]);
    expect(next.party).toBe(held.party);
  });

  it('a gap marks the party stale; the end of another party waits for it', () => {
    let s = reduceParty(inParty(), ev('party.leaderChanged', { partyId: 'p1', version: 5, leaderId: 'bob' }), 'me');
    expect(s).toMatchObject({ stale: true, party: { leaderId: 'bob' } });
    s = reduceParty(s, ev('party.ended', { partyId: 'p7', reason: 'disbanded' }), 'me');
    expect(s.party?.id).toBe('p1');
    expect(s.waiting.map((w) => w.ev)).toEqual(['party.ended']);
  });
});

describe('game list', () => {
  it('a subscription lists newest first and follows its events; events of a subscription on its way wait for it', () => {
    let s = reduceGameList(emptyGameList, ev('games.added', { subscriptionId: 's1', game: summary('c', 1, 3) }));
    expect(s.games).toEqual([]);
    s = reduceGameList(s, reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 's1', games: [summary('a', 1, 1), summary('b', 1, 2)] } as OpResult<'games.subscribe'>));
    expect(s.games.map((g) => g.id)).toEqual(['c', 'b', 'a']);
    s = reduceGameList(s, ev('games.removed', { subscriptionId: 's1', gameId: 'b' }));
    s = reduceGameList(s, ev('games.updated', { subscriptionId: 's2', game: summary('z', 1, 9) }));
    expect(s.games.map((g) => g.id)).toEqual(['c', 'a']);
    // An older copy of a game does not replace a newer one.
    s = reduceGameList(s, ev('games.updated', { subscriptionId: 's1', game: summary('a', 5, 1) }));
    expect(reduceGameList(s, ev('games.updated', { subscriptionId: 's1', game: summary('a', 4, 1) }))).toBe(s);
    s = reduceGameList(s, reply('games.unsubscribe', { subscriptionId: 's1' }, {}));
    expect(s.subscriptionId).toBeNull();
  });

  it('a subscription ends with its session: a resume into a new session, a resync, a token login or its stream gone leaves none (nothing to unsubscribe)', () => {
    const s = reduceGameList(emptyGameList, reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 'games:k1', games: [summary('a', 1, 1)] } as OpResult<'games.subscribe'>));
    const resume = (resumed: boolean) => reply('session.resume', { token: 't', streams: [] }, { userId: 'me', name: 'me', expiresAt: 1, resumed, streams: [] } as OpResult<'session.resume'>);
    expect(reduceGameList(s, resume(true))).toBe(s);
    expect(reduceGameList(s, { local: 'streamGone', stream: 'games:k2', at: 1 })).toBe(s);
    expect(reduceGameList(s, { local: 'streamGone', stream: 'game:k1', at: 1 })).toBe(s);
    const ends: MirrorInput[] = [resume(false), { local: 'resynced', at: 1 }, { local: 'streamGone', stream: 'games:k1', at: 1 }, reply('auth.token', { token: 't' }, { userId: 'me', name: 'me', expiresAt: 1 } as OpResult<'auth.token'>)];
    for (const input of ends) {
      const next = reduceGameList(s, input);
      expect(next.subscriptionId).toBeNull();
      // What was listed stays on show until the new subscription's page replaces it.
      expect(next.games).toEqual(s.games);
    }
  });

  it('games.snapshot replaces the page of its own subscription; one for a subscription still on its way is older than its reply and is dropped', () => {
    const sub = (id: string, games: GameSummary[], at = 1000, sentAt = at) => reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: id, games } as OpResult<'games.subscribe'>, at, sentAt);
    let s = reduceGameList(emptyGameList, sub('games:k1', [summary('a', 1, 1), summary('b', 1, 2)]));
    s = reduceGameList(s, ev('games.snapshot', { subscriptionId: 'games:k1', games: [summary('c', 1, 3), summary('a', 4, 1)] }));
    expect(s.games.map((g) => [g.id, g.version])).toEqual([['c', 1], ['a', 4]]);
    // Later events apply on top of it.
    s = reduceGameList(s, ev('games.removed', { subscriptionId: 'games:k1', gameId: 'c' }));
    expect(s.games.map((g) => g.id)).toEqual(['a']);
    expect(reduceGameList(s, ev('games.snapshot', { subscriptionId: 'games:k2', games: [summary('z', 1, 9)] }))).toBe(s);
    let early = reduceGameList(emptyGameList, ev('games.snapshot', { subscriptionId: 'games:k3', games: [summary('old', 1, 9)] }, 900));
    early = reduceGameList(early, ev('games.added', { subscriptionId: 'games:k3', game: summary('new', 1, 8) }, 950));
    early = reduceGameList(early, sub('games:k3', [summary('x', 1, 1)], 1000, 940));
    expect(early.games.map((g) => g.id)).toEqual(['new', 'x']);
  });

  it('events of a list stream that came before the subscribe request went out belong to an earlier subscription to it, and are dropped', () => {
    const sub = reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 'games:k1', games: [summary('a', 1, 1)] } as OpResult<'games.subscribe'>, 1000, 800);
    let s = reduceGameList(emptyGameList, ev('games.added', { subscriptionId: 'games:k1', game: summary('gone', 1, 5) }, 700));
    s = reduceGameList(s, ev('games.added', { subscriptionId: 'games:k1', game: summary('fresh', 1, 6) }, 900));
    s = reduceGameList(s, sub);
    expect(s.games.map((g) => g.id)).toEqual(['fresh', 'a']);
    expect(s.waiting).toEqual([]);
  });

  it('the same filter subscribed again (the same stream) lists the new page', () => {
    const sub = (games: GameSummary[]) => reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 'games:k1', games } as OpResult<'games.subscribe'>);
    const s = reduceGameList(reduceGameList(emptyGameList, sub([summary('a', 1, 1)])), sub([summary('b', 1, 2)]));
    expect(s).toMatchObject({ subscriptionId: 'games:k1', games: [{ id: 'b' }] });
  });

  it('property: the list holds each game once, at its newest version, whatever the order of updates', () => {
    const update = fc.record({ id: fc.constantFrom('a', 'b', 'c'), version: fc.integer({ min: 1, max: 20 }), removed: fc.boolean() });
    fc.assert(
      fc.property(fc.array(update, { maxLength: 30 }), (updates) => {
        let s = reduceGameList(emptyGameList, reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 's', games: [] } as unknown as OpResult<'games.subscribe'>));
        for (const u of updates) {
          s = reduceGameList(s, u.removed ? ev('games.removed', { subscriptionId: 's', gameId: u.id }) : ev('games.updated', { subscriptionId: 's', game: summary(u.id, u.version) }));
        }
        const ids = s.games.map((g) => g.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const g of s.games) {
          const since = updates.slice(updates.findLastIndex((u) => u.id === g.id && u.removed) + 1).filter((u) => u.id === g.id);
          expect(g.version).toBe(Math.max(...since.map((u) => u.version)));
        }
      }),
    );
  });
});

describe('social', () => {
  const friend = (userId: string, state: Friend['state'] = 'friend'): Friend => ({ userId, name: userId, state, since: 1 });
  const mail = (id: string, sentAt: number): Mail => ({ id, from: 'p:x', fromName: 'x', body: 'hi', sentAt, expiresAt: 1e12 });

  it('friend events wait for friends.list, and those that crossed its answer are applied again on top of it', () => {
    let s = reduceSocial(emptySocial, ev('friends.changed', { friend: friend('bob'), removed: false }, 100));
    expect(s.friends).toBeNull();
    s = reduceSocial(s, ev('presence.changed', { userId: 'bob', name: 'Bobby', presence: { status: 'online', activity: null } }, 300));
    s = reduceSocial(s, reply('friends.list', {}, { friends: [friend('cy'), friend('bob')] }, 400, 200));
    // The presence change came after the request went out: it is newer than the list.
    expect(s.friends?.map((f) => [f.userId, f.name])).toEqual([['bob', 'Bobby'], ['cy', 'cy']]);
    s = reduceSocial(s, ev('friends.changed', { friend: friend('cy'), removed: true }, 500));
    s = reduceSocial(s, reply('friends.request', { userId: 'ann' }, { friend: friend('ann', 'requestSent') }));
    expect(s.friends?.map((f) => f.userId)).toEqual(['ann', 'bob']);
    s = reduceSocial(s, reply('friends.unblock', { userId: 'ann' }, {}));
    expect(s.friends?.map((f) => f.userId)).toEqual(['bob']);
  });

  it('user.snapshot replaces the friends; friend events after it apply on top', () => {
    let s = reduceSocial(emptySocial, reply('friends.list', {}, { friends: [friend('bob'), friend('cy')] }));
    s = reduceSocial(s, ev('friends.changed', { friend: friend('cy'), removed: true }, 1100));
    s = reduceSocial(s, ev('user.snapshot', { friends: [friend('dee'), friend('ann', 'requestReceived')], invites: [], ticket: null }, 2000));
    expect(s.friends?.map((f) => [f.userId, f.state])).toEqual([['ann', 'requestReceived'], ['dee', 'friend']]);
    s = reduceSocial(s, ev('presence.changed', { userId: 'dee', name: 'Dee', presence: { status: 'online', activity: null } }, 2100));
    expect(s.friends?.map((f) => f.name)).toEqual(['ann', 'Dee']);
    // Before any friends.list, the snapshot alone brings the list.
    expect(reduceSocial(emptySocial, ev('user.snapshot', { friends: [friend('bob')], invites: [], ticket: null })).friends?.map((f) => f.userId)).toEqual(['bob']);
  });

  it('mail: one copy of each, oldest first; acknowledged mail never comes back', () => {
    let s = reduceSocial(emptySocial, ev('mail.received', { mail: mail('m2', 20) }));
    s = reduceSocial(s, reply('mail.list', { limit: 200 }, { mail: [mail('m1', 10), mail('m2', 20)] }));
    expect(s.mail.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(s.mailLoaded).toBe(true);
    expect(reduceSocial(s, ev('mail.received', { mail: mail('m1', 10) }))).toBe(s);
    s = reduceSocial(s, reply('mail.ack', { ids: ['m1'] }, { deleted: 1 }));
    expect(s.mail.map((m) => m.id)).toEqual(['m2']);
    expect(reduceSocial(s, ev('mail.received', { mail: mail('m1', 10) }))).toBe(s);
    expect(reduceSocial(s, reply('mail.list', { limit: 200 }, { mail: [mail('m1', 10)] })).mail.map((m) => m.id)).toEqual(['m2']);
  });

  it('property: mail received in any order, any number of times, is listed once each, oldest first', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 40 }), (ids) => {
        let s = emptySocial;
        for (const i of ids) s = reduceSocial(s, ev('mail.received', { mail: mail(`m${i}`, 100 - i) }));
        expect(s.mail.map((m) => m.id)).toEqual([...new Set(ids)].sort((a, b) => b - a).map((i) => `m${i}`));
      }),
    );
  });

  it('presence.set sets one own activity', () => {
    expect(reduceSocial(emptySocial, reply('presence.set', { activity: 'afk' }, { presence: { status: 'online', activity: 'afk' } })).activity).toBe('afk');
  });
});

describe('matchmaking ticket', () => {
  const ticket = (status: TicketUpdate['status'], matchId?: string, acceptedBy: string[] = []): TicketUpdate => ({
    ticketId: 't1', queue: 'duel', status, queuedAt: 1,
    ...(matchId && { match: { matchId, acceptBy: 99, teams: [[{ userId: 'me', name: 'me', accepted: acceptedBy.includes('me') }], [{ userId: 'bob', name: 'bob', accepted: acceptedBy.includes('bob') }]] } }),
  });

  it('joining, a found match, accepting, and a dismissed finished ticket', () => {
    let s = reduceTicket(emptyTicket, reply('mm.join', { queue: 'duel' } as OpData<'mm.join'>, ticket('queued')), 'me');
    expect(s).toMatchObject({ ticket: { status: 'queued' }, accepted: false });
    s = reduceTicket(s, ev('mm.status', ticket('found', 'm1'), 2000), 'me');
    expect(s).toMatchObject({ accepted: false, foundAt: 2000 });
    s = reduceTicket(s, reply('mm.accept', {}, {}), 'me');
    expect(s.accepted).toBe(true);
    // The same match again (bob accepted too): still accepted, the same countdown.
    s = reduceTicket(s, ev('mm.status', ticket('found', 'm1', ['bob']), 3000), 'me');
    expect(s).toMatchObject({ accepted: true, foundAt: 2000 });
    // Another match: not accepted yet, unless the server says so.
    expect(reduceTicket(s, ev('mm.status', ticket('found', 'm2'), 4000), 'me')).toMatchObject({ accepted: false, foundAt: 4000 });
    expect(reduceTicket(s, ev('mm.status', ticket('found', 'm2', ['me']), 4000), 'me').accepted).toBe(true);
    s = reduceTicket(s, ev('mm.status', ticket('cancelled')), 'me');
    // A finished ticket stays on show through mm.current until dismissed.
    expect(reduceTicket(s, reply('mm.current', {}, { ticket: null }), 'me')).toBe(s);
    expect(reduceTicket(s, { local: 'dismissTicket', at: 1 }, 'me')).toMatchObject({ ticket: null, accepted: false });
  });

  it('user.snapshot tells the ticket like mm.status, and a finished ticket on show stays when there is none', () => {
    let s = reduceTicket(emptyTicket, ev('mm.status', ticket('found', 'm1'), 2000), 'me');
    s = reduceTicket(s, reply('mm.accept', {}, {}), 'me');
    const snap = (t: TicketUpdate | null, at = 3000) => ev('user.snapshot', { friends: [], invites: [], ticket: t }, at);
    // The same match: still accepted, the same countdown.
    expect(reduceTicket(s, snap(ticket('found', 'm1', ['bob'])), 'me')).toMatchObject({ accepted: true, foundAt: 2000 });
    // No ticket any more: a found match is over.
    expect(reduceTicket(s, snap(null), 'me')).toEqual(emptyTicket);
    const cancelled = reduceTicket(s, ev('mm.status', ticket('cancelled')), 'me');
    expect(reduceTicket(cancelled, snap(null), 'me')).toBe(cancelled);
  });

  it('a ready match (its game and session key) is over once its game is over for this player', () => {
    const ready = { ...ticket('ready', 'm1', ['me', 'bob']), gameId: 'g1', sessionKey: 'key-1' };
    const s = reduceTicket(reduceTicket(emptyTicket, ev('mm.status', ticket('found', 'm1'), 2000), 'me'), ev('mm.status', ready, 3000), 'me');
    expect(s).toMatchObject({ ticket: { status: 'ready', sessionKey: 'key-1' }, readyAt: 3000 });
    const gone = (input: MirrorInput) => expect(reduceTicket(s, input, 'me')).toEqual(emptyTicket);
    const kept = (input: MirrorInput) => expect(reduceTicket(s, input, 'me')).toBe(s);
    gone(ev('game.ended', { gameId: 'g1', reason: 'ended' } as EventData<'game.ended'>));
    gone({ local: 'streamGone', stream: 'game:g1', at: 4000 });
    kept({ local: 'streamGone', stream: 'game:g2', at: 4000 });
    kept(ev('game.ended', { gameId: 'g2', reason: 'ended' } as EventData<'game.ended'>));
    gone(ev('game.playerLeft', { gameId: 'g1', userId: 'me', reason: 'left' } as EventData<'game.playerLeft'>));
    kept(ev('game.playerLeft', { gameId: 'g1', userId: 'bob', reason: 'left' } as EventData<'game.playerLeft'>));
    gone(reply('game.leave', {}, { gameId: 'g1' }));
    gone(reply('game.create', {} as OpData<'game.create'>, { game: gameView('g2', 1) }));
    // A fresh snapshot without the game (after a restart, or a resync): over.
    gone(reply('game.current', {}, { game: null, spectating: false } as OpResult<'game.current'>, 4000, 3500));
    kept(reply('game.current', {}, { game: gameView('g1', 2), spectating: false } as OpResult<'game.current'>, 4000, 3500));
    // A snapshot asked for before the match was ready says nothing about it.
    kept(reply('game.current', {}, { game: null, spectating: false } as OpResult<'game.current'>, 3100, 2500));
  });
});

describe('the whole mirror', () => {
  const login = (userId: string): MirrorInput => reply('auth.guest', { name: userId } as OpData<'auth.guest'>, { userId, name: userId, token: 't', expiresAt: 1 } as OpResult<'auth.guest'>);

  it('a login starts afresh; a chat line goes to its room, and a new game starts its room anew', () => {
    let s: MirrorState = reduceMirror(emptyMirror, login('me'));
    expect(s.me).toEqual({ userId: 'me', name: 'me' });
    s = reduceMirror(s, reply('game.create', {} as OpData<'game.create'>, { game: gameView('g1', 1) }));
    expect(s.chat.game.roomId).toBe('g1');
    s = reduceMirror(s, ev('chat.message', { channel: 'game', gameId: 'g1', from: { userId: 'bob', name: 'bob' }, text: 'hi', at: 5 }));
    s = reduceMirror(s, ev('chat.message', { channel: 'game', gameId: 'g1', from: { userId: 'bob', name: 'bob' }, text: 'again', at: 6 }));
    expect(s.chat.game.lines.map((l) => l.text)).toEqual(['hi', 'again']);
    expect(new Set(s.chat.game.lines.map((l) => l.id)).size).toBe(2);
    s = reduceMirror(s, reply('game.leave', {}, { gameId: 'g1' }));
    s = reduceMirror(s, reply('game.create', {} as OpData<'game.create'>, { game: gameView('g2', 1) }));
    expect(s.chat.game).toEqual({ roomId: 'g2', lines: [] });
    const other = reduceMirror(s, login('you'));
    expect(other).toMatchObject({ me: { userId: 'you' }, game: { game: null }, chat: { game: { roomId: null } } });
  });

  it('a chat line changes the chat only, keeping the latest CHAT_KEEP lines of its room', () => {
    let s: MirrorState = reduceMirror(emptyMirror, login('me'));
    s = reduceMirror(s, reply('game.create', {} as OpData<'game.create'>, { game: gameView('g1', 1) }));
    const before = s;
    for (let i = 0; i < CHAT_KEEP + 5; i++) s = reduceMirror(s, ev('chat.message', { channel: 'game', gameId: 'g1', from: { userId: 'bob', name: 'bob' }, text: `l${i}`, at: i }));
    // Every other part is the very same object: nothing else was recomputed or copied.
    for (const k of Object.keys(before) as (keyof MirrorState)[]) if (k !== 'chat') expect(s[k]).toBe(before[k]);
    expect(s.chat.game.lines.map((l) => l.text)).toEqual(Array.from({ length: CHAT_KEEP }, (_, i) => `l${i + 5}`));
    // The state before is left as it was (a new lines array each time).
    expect(before.chat.game.lines).toEqual([]);
  });

  it('a ready ticket in a user snapshot gives the start key, since game.sessionKey is not sent again', () => {
    const ready = { ticketId: 't', queue: 'duel', status: 'ready', queuedAt: 1, gameId: 'g9', sessionKey: 'k9', serverAddress: 'a:9' } as TicketUpdate;
    const s = reduceMirror(reduceMirror(emptyMirror, login('me')), ev('user.snapshot', { friends: [], invites: [], ticket: ready }));
    expect(s.game.startKey).toEqual({ gameId: 'g9', sessionKey: 'k9', serverAddress: 'a:9' });
    expect(s.ticket.ticket?.status).toBe('ready');
  });

  it('a resync into a new session drops the list subscription; streams gone drop the game and party, chats keep their lines', () => {
    let s = reduceMirror(emptyMirror, login('me'));
    s = reduceMirror(s, reply('game.create', {} as OpData<'game.create'>, { game: gameView('g1', 1) }));
    s = reduceMirror(s, reply('party.invite', { userId: 'bob' }, { party: partyView('p1', 2) }));
    s = reduceMirror(s, reply('games.subscribe', { filter: {}, limit: 50 } as OpData<'games.subscribe'>, { subscriptionId: 'games:k1', games: [] } as unknown as OpResult<'games.subscribe'>));
    s = reduceMirror(s, ev('chat.message', { channel: 'game', gameId: 'g1', from: { userId: 'bob', name: 'bob' }, text: 'hi', at: 5 }));
    const resynced = reduceMirror(s, { local: 'resynced', at: 2000 });
    expect(resynced).toMatchObject({ me: { userId: 'me' }, gameList: { subscriptionId: null }, game: { game: { id: 'g1' } }, party: { party: { id: 'p1' } } });
    s = reduceMirror(s, { local: 'streamGone', stream: 'game:g1', at: 2000 });
    s = reduceMirror(s, { local: 'streamGone', stream: 'party:p1', at: 2000 });
    expect(s).toMatchObject({ game: { game: null }, party: { party: null }, gameList: { subscriptionId: 'games:k1' } });
    expect(s.chat.game.lines.map((l) => l.text)).toEqual(['hi']);
  });

  it('an input no feature takes leaves the very same state', () => {
    const s = reduceMirror(emptyMirror, login('me'));
    expect(reduceMirror(s, ev('server.notice', { text: 'hello', at: 1 }))).toBe(s);
    expect(reduceMirror(s, reply('session.ping', {}, { serverTime: 1 }))).toBe(s);
    expect(reduceMirror(s, { local: 'streamGone', stream: 'user:me', at: 1 })).toBe(s);
    expect(reduceMirror(s, { local: 'streamGone', stream: 'game:nothing', at: 1 })).toBe(s);
  });
});
