import { describe, expect, it } from 'vitest';
import { applyGame, decideGame, viewOf, type GameCtx, type GameRules, type GameState } from '../../server/src/domain/game/index.js';

const rules: GameRules = { defaultTeamSize: 4, maxSpectators: 5, confirmTimeoutMs: 1000, maxDurationMs: 5000, serverAddress: 'gs:1' };
let n = 0;
const ctx: GameCtx = { now: 100, newId: () => `id${++n}`, newKey: () => `key${++n}` };
const p = (userId: string, rating: number) => ({ member: { userId, name: userId.toUpperCase() }, profile: { level: 1, rating } });

describe('createMatch', () => {
  it('creates a game already started, players seated by team, one key each', () => {
    const d = decideGame(undefined, { type: 'createMatch', gameId: 'm1', name: 'duel', gameType: 'duel', teams: [[p('a', 1000), p('b', 1010)], [p('c', 990), p('d', 1005)]] }, ctx, rules);
    if (!d.ok) throw new Error(d.message);
    let s: GameState | undefined;
    for (const e of d.events) s = applyGame(s, e);
    const view = viewOf(s!);
    expect(view).toMatchObject({ id: 'm1', inProgress: true, maxPlayers: 4, teamSize: 2, ownerId: 'a', confirmBy: 1100 });
    expect(view.players.map((x) => [x.userId, x.slot, x.teamIndex])).toEqual([['a', 1, 0], ['b', 2, 0], ['c', 3, 1], ['d', 4, 1]]);
    const keys = d.events.flatMap((e) => (e.ev === 'game.started' ? Object.values(e.keys) : []));
    expect(new Set(keys).size).toBe(4);
    expect(Object.keys(s!.sessionKeys).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(d.timers.map((t) => t.command.type).sort()).toEqual(['confirmDeadline', 'end']);
    // Nobody can join a match game.
    const j = decideGame(s, { type: 'join', by: { userId: 'e', name: 'E' }, spectate: false, profile: { level: 1, rating: 1000 }, friendOfOwner: false }, ctx, rules);
    expect(j.ok).toBe(false);
  });

  it('lets nobody kick the seated players or hand the game over; a player may still leave', () => {
    const d = decideGame(undefined, { type: 'createMatch', gameId: 'm3', name: 'duel', gameType: 'duel', teams: [[p('a', 1000)], [p('b', 1000)]] }, ctx, rules);
    if (!d.ok) throw new Error(d.message);
    let s: GameState | undefined;
    for (const e of d.events) s = applyGame(s, e);
    expect(viewOf(s!)).toMatchObject({ matchmade: true, ownerId: 'a' });
    const owner = { userId: 'a', name: 'A' };
    for (const cmd of [{ type: 'kick', by: owner, userId: 'b' }, { type: 'setOwner', by: owner, userId: 'b' }] as const) {
      const r = decideGame(s, cmd, ctx, rules);
      expect(r).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    // Someone not the owner still gets NOT_OWNER first.
    expect(decideGame(s, { type: 'kick', by: { userId: 'b', name: 'B' }, userId: 'a' }, ctx, rules)).toMatchObject({ ok: false, code: 'NOT_OWNER' });
    expect(decideGame(s, { type: 'leave', userId: 'b', reason: 'left' }, ctx, rules).ok).toBe(true);
  });

  it('refuses an empty match and an existing id', () => {
    expect(decideGame(undefined, { type: 'createMatch', gameId: 'm2', name: 'x', gameType: 'x', teams: [[], []] }, ctx, rules).ok).toBe(false);
  });
});
