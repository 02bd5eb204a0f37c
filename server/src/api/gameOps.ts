import type { OpRegistry } from '../gateway/registry.js';
import { viewOf } from '../domain/game/index.js';
import type { Member } from '../domain/kit.js';
import type { GameService } from '../services/gameService.js';

/** The session's user as the member who issues a command. */
export const memberOf = (s: { userId: string; name: string }): Member => ({ userId: s.userId, name: s.name });

/** game.* and games.*: protocol ops → the game service. */
export function registerGameOps(registry: OpRegistry, games: GameService): void {
  // Level and rating come from the stored profile: the protocol does not let the client send them.
  registry.register('game.create', async (data, { session }) => ({ game: await games.create(session.userId, session.name, { ...data, profile: await games.profileOf(session.userId, data.profile.school) }) }));

  registry.register('game.join', async (data, { session }) => {
    const game = await games.arrival(data.gameId);
    if (data.withParty) return { game: await games.joinWithParty(data.gameId, memberOf(session), data.profile.school) };
    return {
      game: await games.join(data.gameId, {
        type: 'join',
        by: memberOf(session),
        password: data.password,
        spectate: data.spectate,
        profile: await games.profileOf(session.userId, data.profile.school),
        friendOfOwner: !!game && games.isFriend(game.ownerId, session.userId),
      }),
    };
  });

  registry.register('game.current', async (_data, { session }) => {
    const w = await games.find(session.userId);
    return w ? { game: viewOf(w.game), spectating: w.spectating } : { game: null, spectating: false };
  });

  registry.register('game.leave', async (_data, { session }) => ({ gameId: await games.leave(session.userId) }));

  registry.register('game.kick', async (data, { session }) => {
    await games.inCurrent(session.userId, { type: 'kick', by: memberOf(session), userId: data.userId });
    return {};
  });

  registry.register('game.update', async (data, { session }) => ({ game: await games.update(memberOf(session), data) }));

  registry.register('game.setTeam', async (data, { session }) => {
    await games.inCurrent(session.userId, { type: 'setTeam', by: memberOf(session), teamIndex: data.teamIndex });
    return {};
  });

  registry.register('game.setReady', async (data, { session }) => {
    await games.inCurrent(session.userId, { type: 'setReady', by: memberOf(session), ready: data.ready });
    return {};
  });

  registry.register('game.setOwner', async (data, { session }) => {
    await games.inCurrent(session.userId, { type: 'setOwner', by: memberOf(session), userId: data.userId });
    return {};
  });

  registry.register('game.start', async (_data, { session }) => ({ confirmBy: await games.start(memberOf(session)) }));

  registry.register('game.confirm', async (data, { session }) => {
    await games.inCurrent(session.userId, { type: 'confirm', by: memberOf(session), sessionKey: data.sessionKey });
    return {};
  });

  registry.register('games.list', (data) => games.listings.query(data));

  registry.register('games.subscribe', (data, { session }) => games.listings.subscribe(session.userId, data));

  registry.register('games.unsubscribe', (data, { session }) => {
    games.listings.unsubscribeOf(session.userId, data.subscriptionId);
    return {};
  });

  registry.register('games.quickJoin', async (data, { session }) => games.quickJoin(memberOf(session), data.gameType, await games.profileOf(session.userId, data.profile.school), data.create));
}
