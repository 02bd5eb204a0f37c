import { createHash } from 'node:crypto';
import { GameCreate } from '@foyer/shared';
import type { ErrorCode } from '@foyer/shared';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { applyGame, decideGame, gameOfKey, members, openState, ownerSecret, redactEvent, summaryOf, viewOf, withSecret } from '../../server/src/domain/game/index.js';
import type { GameCommand, GameCtx, GameDecision, GameEvent, GameRules, GameState, PlayerProfile } from '../../server/src/domain/game/index.js';

const rules: GameRules = { defaultTeamSize: 4, maxSpectators: 2, confirmTimeoutMs: 120_000, maxDurationMs: 3_600_000, serverAddress: 'play.example:7777' };
const T0 = 1_000_000;

const who = (userId: string) => ({ userId, name: `${userId[0]!.toUpperCase()}${userId.slice(1)}` });
type Ok = Extract<GameDecision, { ok: true }>;
/** Create settings as the protocol takes them, with the profile the server fills from storage. */
type Settings = Partial<Omit<z.input<typeof GameCreate>, 'profile'>> & { profile?: Partial<PlayerProfile> };
/** The profile the service builds: stored level and rating (a new account's unless given), the client's school. */
const stored = (p: Partial<PlayerProfile> = {}): PlayerProfile => ({ level: 1, rating: 1000, ...p });

/** One game driven through decide/apply with a fake clock and counter ids. */
class Harness {
  state: GameState | undefined;
  now = T0;
  private ids = 0;
  private keys = 0;
  readonly log: GameEvent[] = [];

  ctx(): GameCtx {
    return { now: this.now, newId: () => `id${++this.ids}`, newKey: () => `key${++this.keys}` };
  }

  get s(): GameState {
    if (!this.state) throw new Error('the game is gone');
    return this.state;
  }

  decide(cmd: GameCommand): GameDecision {
    return decideGame(this.state, cmd, this.ctx(), rules);
  }

  /** A command that must succeed: its events are applied, and its result must be the state they lead to. */
  ok(cmd: GameCommand): Ok {
    const before = this.state && structuredClone(this.state);
    const d = this.decide(cmd);
    if (!d.ok) throw new Error(`${cmd.type} refused: ${d.code}`);
    expect(this.state).toEqual(before); // decide does not mutate
    for (const e of d.events) this.state = applyGame(this.state, e);
    this.log.push(...d.events);
    expect(d.result).toEqual(this.state ? viewOf(this.state) : null);
    return d;
  }

  /** A game server's use of a key that must succeed: its events are applied; the result is the key's holder. */
  useKey(sessionKey: string): Ok {
    const d = this.decide({ type: 'useKey', sessionKey });
    if (!d.ok) throw new Error(`useKey refused: ${d.code}`);
    for (const e of d.events) this.state = applyGame(this.state, e);
    this.log.push(...d.events);
    return d;
  }

  refused(cmd: GameCommand): ErrorCode {
    const d = this.decide(cmd);
    if (d.ok) throw new Error(`${cmd.type} was not refused`);
    return d.code;
  }

  create(settings: Settings = {}, owner = 'ann'): Ok {
    const { profile, ...rest } = settings;
    return this.ok({ type: 'create', gameId: 'g1', by: who(owner), settings: { ...GameCreate.parse({ name: 'Room', gameType: 'PvE', ...rest }), profile: stored(profile) } });
  }

  join(userId: string, opts: Partial<Omit<Extract<GameCommand, { type: 'join' }>, 'type' | 'by' | 'profile'>> & { profile?: Partial<PlayerProfile> } = {}): GameCommand {
    return { type: 'join', by: who(userId), spectate: false, friendOfOwner: false, ...opts, profile: stored(opts.profile) };
  }

  player(userId: string) {
    return this.s.players.find((p) => p.userId === userId);
  }
}

function game(settings: Settings = {}, ...players: string[]): Harness {
  const h = new Harness();
  h.create(settings);
  for (const p of players) {
    h.now += 1000;
    h.ok(h.join(p));
  }
  return h;
}

const sha256hex = (text: string) => createHash('sha256').update(text).digest('hex');

describe('create', () => {
  it('seats the creator as owner in slot 1, team 0, at version 1', () => {
    const h = new Harness();
    const d = h.create({ profile: { level: 7, school: 'mage', rating: 1200 }, maxPlayers: 6 });
    expect(d.events.map((e) => e.ev)).toEqual(['game.created']);
    expect(h.s).toMatchObject({ id: 'g1', ownerId: 'ann', version: 1, createdAt: T0, inProgress: false, startedAt: null, confirmBy: null, maxPlayers: 6 });
    expect(h.s.players).toEqual([
      { userId: 'ann', name: 'Ann', slot: 1, teamIndex: 0, level: 7, school: 'mage', rating: 1200, ready: false, connected: true, confirmed: false, joinedAt: T0 },
    ]);
    expect(d.result?.hasPassword).toBe(false);
  });

  it('stores the password as sha256(salt + password) with a fresh id as salt, and shows only hasPassword', () => {
    const h = new Harness();
    const d = h.create({ password: 'hunter2' });
    expect(h.s.passwordSalt).toBe('id1');
    expect(h.s.passwordHash).toBe(sha256hex('id1hunter2'));
    expect(d.result?.hasPassword).toBe(true);
    const [created] = d.events;
    expect(created).toMatchObject({ ev: 'game.created', secret: { passwordHash: sha256hex('id1hunter2'), passwordSalt: 'id1' } });
    expect(JSON.stringify(created!.data)).not.toMatch(/hunter2|passwordHash|passwordSalt/);
    expect(JSON.stringify(created!.data)).not.toContain(sha256hex('id1hunter2'));
  });

  it('other nodes than the owner get events and a state without the password hash, salt or session keys, and decide nothing on them', () => {
    const h = new Harness();
    h.create({ password: 'hunter2' });
    h.ok(h.join('bob', { password: 'hunter2' }));
    h.ok({ type: 'update', by: who('ann'), changes: { password: 'swordfish' } });
    h.ok({ type: 'start', by: who('ann') });
    const secrets = [h.s.passwordHash!, h.s.passwordSalt, ...Object.values(h.s.sessionKeys)];
    expect(secrets).toHaveLength(4);
    // A replica applying the redacted events ends where the owner's state, opened, is.
    let replica: GameState | undefined;
    for (const e of h.log.map(redactEvent)) replica = applyGame(replica, e);
    expect(replica).toEqual(openState(h.s));
    for (const text of [JSON.stringify(h.log.map(redactEvent)), JSON.stringify(replica)]) for (const x of secrets) expect(text).not.toContain(x);
    expect(viewOf(replica!)).toEqual(viewOf(h.s)); // what views show is the same: hasPassword included
    // The right password on the replica's copy matches nothing: only the owner checks.
    expect(decideGame(replica, h.join('cat', { spectate: true, password: 'swordfish' }), h.ctx(), rules)).toMatchObject({ ok: false, code: 'WRONG_PASSWORD' });
    // A new owner puts the stored secrets back: the same game as the old owner's.
    expect(withSecret(replica!, JSON.parse(JSON.stringify(ownerSecret(h.s))))).toEqual(h.s);
  });

  it('takes teamSize from the rules unless given', () => {
    expect(game().s.teamSize).toBe(4);
    expect(game({ teamSize: 2 }).s.teamSize).toBe(2);
  });

  it('refuses minLevel above maxLevel', () => {
    const h = new Harness();
    expect(h.refused({ type: 'create', gameId: 'g1', by: who('ann'), settings: GameCreate.parse({ name: 'R', gameType: 'PvE', minLevel: 5, maxLevel: 4 }) })).toBe('BAD_REQUEST');
  });

  it('refuses an id in use; every other command needs an existing game', () => {
    const h = game();
    expect(h.refused({ type: 'create', gameId: 'g1', by: who('bob'), settings: GameCreate.parse({ name: 'R', gameType: 'PvE' }) })).toBe('BAD_REQUEST');
    expect(new Harness().refused({ type: 'start', by: who('ann') })).toBe('GAME_NOT_FOUND');
  });
});

describe('join', () => {
  it('takes the lowest free slot and the team with the fewest players (lowest index on ties)', () => {
    const h = game({ maxPlayers: 5, teamSize: 2 }, 'bob', 'cat', 'dan'); // 3 teams
    expect(h.s.players.map((p) => [p.userId, p.slot, p.teamIndex])).toEqual([['ann', 1, 0], ['bob', 2, 1], ['cat', 3, 2], ['dan', 4, 0]]);
    h.ok({ type: 'leave', userId: 'bob', reason: 'left' });
    h.now += 1000;
    const d = h.ok(h.join('eve'));
    expect(d.events).toEqual([{ ev: 'game.playerJoined', data: { gameId: 'g1', version: h.s.version, player: expect.objectContaining({ userId: 'eve', slot: 2, teamIndex: 1, joinedAt: h.now }) } }]);
  });

  it('is a no-op for a player already in the game, also when asking to spectate', () => {
    const h = game({}, 'bob');
    for (const spectate of [false, true]) {
      const d = h.ok(h.join('bob', { spectate }));
      expect(d.events).toEqual([]);
      expect(d.result).toEqual(viewOf(h.s));
    }
    expect(h.ok(h.join('cat', { spectate: true })).events).toHaveLength(1);
    expect(h.ok(h.join('cat', { spectate: true })).events).toEqual([]);
  });

  const refusals: [ErrorCode, Settings, Parameters<Harness['join']>[1]][] = [
    ['SCHOOL_REQUIRED', { school: 'mage' }, { profile: { school: 'rogue' } }],
    ['FRIENDS_ONLY', { friendsJoinOnly: true }, {}],
    ['WRONG_PASSWORD', { password: 'pw' }, { password: 'nope' }],
    ['LEVEL_TOO_LOW', { minLevel: 10 }, { profile: { level: 9 } }],
    ['LEVEL_TOO_HIGH', { maxLevel: 10 }, { profile: { level: 11 } }],
    ['GAME_FULL', { maxPlayers: 1 }, {}],
    ['GAME_LOCKED', { locked: true }, {}],
    ['GAME_CLOSED', { closed: true }, {}],
  ];

  it.each(refusals)('refuses with %s', (code, settings, opts) => {
    const h = game(settings);
    expect(h.refused(h.join('bob', opts))).toBe(code);
  });

  it('admits when each condition is met', () => {
    const h = game({ school: 'mage', friendsJoinOnly: true, password: 'pw', minLevel: 10, maxLevel: 10 });
    h.ok(h.join('bob', { profile: { school: 'mage', level: 10 }, friendOfOwner: true, password: 'pw' }));
    expect(h.player('bob')).toBeDefined();
  });

  it('refuses a missing password like a wrong one', () => {
    const h = game({ password: 'pw' });
    expect(h.refused(h.join('bob'))).toBe('WRONG_PASSWORD');
  });

  it('refuses a started game with GAME_IN_PROGRESS', () => {
    const h = game();
    h.ok({ type: 'start', by: who('ann') });
    expect(h.refused(h.join('bob'))).toBe('GAME_IN_PROGRESS');
  });

  // Each check, as a setting that makes it fail and the joiner's side of it.
  const checks: { code: ErrorCode; settings: Settings; started?: true }[] = [
    { code: 'SCHOOL_REQUIRED', settings: { school: 'mage' } },
    { code: 'FRIENDS_ONLY', settings: { friendsJoinOnly: true } },
    { code: 'WRONG_PASSWORD', settings: { password: 'pw' } },
    { code: 'LEVEL_TOO_LOW', settings: { minLevel: 20 } },
    { code: 'LEVEL_TOO_HIGH', settings: { maxLevel: 10 } },
    { code: 'GAME_FULL', settings: { maxPlayers: 1 } },
    { code: 'GAME_LOCKED', settings: { locked: true } },
    { code: 'GAME_CLOSED', settings: { closed: true } },
    { code: 'GAME_IN_PROGRESS', settings: {}, started: true },
  ];
  const pairs = checks.flatMap((a, i) => checks.slice(i + 1).map((b) => [a.code, b.code, a, b] as const));

  it.each(pairs)('checks %s before %s', (_first, _second, a, b) => {
    const settings = { ...a.settings, ...b.settings };
    if (settings.minLevel !== undefined && settings.maxLevel !== undefined) return; // no level is both too low and too high
    const h = game(settings);
    if (a.started || b.started) h.ok({ type: 'start', by: who('ann') });
    // A joiner of level 15 and school rogue, no friend, with a wrong password, fails every check set up.
    const joiner = h.join('bob', { profile: { level: 15, school: 'rogue' }, password: 'nope' });
    expect(h.refused(joiner)).toBe(a.code);
    const onlyB = game(b.settings);
    if (b.started) onlyB.ok({ type: 'start', by: who('ann') });
    expect(onlyB.refused(joiner)).toBe(b.code); // the later check does fail on its own
  });

  it('answers WRONG_PASSWORD, not GAME_FULL, for a full game with a password', () => {
    const h = game({ password: 'pw', maxPlayers: 1 });
    expect(h.refused(h.join('bob', { password: 'x' }))).toBe('WRONG_PASSWORD');
  });

  describe('as spectator', () => {
    it('needs the password, then stops at the spectator cap', () => {
      const h = game({ password: 'pw' });
      expect(h.refused(h.join('bob', { spectate: true }))).toBe('WRONG_PASSWORD');
      h.ok(h.join('bob', { spectate: true, password: 'pw' }));
      h.ok(h.join('cat', { spectate: true, password: 'pw' }));
      expect(h.refused(h.join('dan', { spectate: true, password: 'pw' }))).toBe('SPECTATORS_FULL');
      expect(h.refused(h.join('dan', { spectate: true, password: 'x' }))).toBe('WRONG_PASSWORD'); // password first
      expect(h.s.spectators).toEqual([who('bob'), who('cat')]);
    });

    it('of a friends-only game: a friend of the owner only, checked before the password', () => {
      const h = game({ friendsJoinOnly: true, password: 'pw' });
      expect(h.refused(h.join('bob', { spectate: true, password: 'pw' }))).toBe('FRIENDS_ONLY');
      expect(h.refused(h.join('bob', { spectate: true }))).toBe('FRIENDS_ONLY');
      expect(h.s.spectators).toEqual([]);
      h.ok(h.join('cat', { spectate: true, password: 'pw', friendOfOwner: true }));
      expect(h.s.spectators).toEqual([who('cat')]);
    });

    it('may watch a game in progress, a full, locked or closed one', () => {
      const h = game({ maxPlayers: 1, locked: true, closed: true });
      h.ok({ type: 'start', by: who('ann') });
      const d = h.ok(h.join('bob', { spectate: true }));
      expect(d.events).toEqual([{ ev: 'game.spectatorJoined', data: { gameId: 'g1', version: 3, spectator: who('bob') } }]);
    });

    it('stops spectating on taking a seat', () => {
      const h = game();
      h.ok(h.join('bob', { spectate: true }));
      const d = h.ok(h.join('bob'));
      expect(d.events.map((e) => [e.ev, 'version' in e.data && e.data.version])).toEqual([['game.spectatorLeft', 3], ['game.playerJoined', 4]]);
      expect(d.events[0]!.data).toMatchObject({ userId: 'bob', reason: 'left' });
      expect(h.s.spectators).toEqual([]);
      expect(h.player('bob')).toMatchObject({ slot: 2 });
    });

    it('stays a spectator when the seat is refused', () => {
      const h = game({ maxPlayers: 1 });
      h.ok(h.join('bob', { spectate: true }));
      expect(h.refused(h.join('bob'))).toBe('GAME_FULL');
      expect(members(h.s)).toEqual(['ann', 'bob']);
    });
  });
});

describe('leave and kick', () => {
  it('removes a player and tells who owns the game afterwards', () => {
    const h = game({}, 'bob');
    const d = h.ok({ type: 'leave', userId: 'bob', reason: 'disconnected' });
    expect(d.events).toEqual([{ ev: 'game.playerLeft', data: { gameId: 'g1', version: 3, userId: 'bob', reason: 'disconnected', ownerId: 'ann' } }]);
    expect(members(h.s)).toEqual(['ann']);
  });

  it('hands ownership to the longest-present player, by slot on ties', () => {
    const h = game({}, 'bob', 'cat');
    h.ok({ type: 'leave', userId: 'bob', reason: 'left' });
    h.now += 1000;
    h.ok(h.join('dan')); // slot 2, but joined after cat (slot 3)
    expect(h.ok({ type: 'leave', userId: 'ann', reason: 'left' }).events[0]!.data).toMatchObject({ ownerId: 'cat' });
    expect(h.s.ownerId).toBe('cat');

    const t = game({});
    t.ok(t.join('bob'));
    t.ok(t.join('cat')); // same joinedAt as bob
    t.ok({ type: 'leave', userId: 'ann', reason: 'left' });
    expect(t.s.ownerId).toBe('bob');
  });

  it('ends the game when the last player leaves; its spectators are told by game.ended', () => {
    const h = game();
    h.ok(h.join('bob', { spectate: true }));
    const audience = members(h.s);
    const d = h.ok({ type: 'leave', userId: 'ann', reason: 'left' });
    expect(d.events).toEqual([{ ev: 'game.ended', data: { gameId: 'g1', reason: 'empty' } }]);
    expect(d.result).toBeNull();
    expect(h.state).toBeUndefined();
    expect(audience).toContain('bob');
  });

  it('removes a spectator', () => {
    const h = game();
    h.ok(h.join('bob', { spectate: true }));
    expect(h.ok({ type: 'leave', userId: 'bob', reason: 'left' }).events).toEqual([
      { ev: 'game.spectatorLeft', data: { gameId: 'g1', version: 3, userId: 'bob', reason: 'left' } },
    ]);
  });

  it('refuses a leave from a non-member', () => {
    expect(game().refused({ type: 'leave', userId: 'zed', reason: 'left' })).toBe('NOT_IN_GAME');
  });

  it('kick: owner only, not oneself, a member only; reason kicked', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    expect(h.refused({ type: 'kick', by: who('bob'), userId: 'ann' })).toBe('NOT_OWNER');
    expect(h.refused({ type: 'kick', by: who('cat'), userId: 'bob' })).toBe('NOT_OWNER');
    expect(h.refused({ type: 'kick', by: who('ann'), userId: 'ann' })).toBe('BAD_REQUEST');
    expect(h.refused({ type: 'kick', by: who('ann'), userId: 'zed' })).toBe('NOT_IN_GAME');
    expect(h.ok({ type: 'kick', by: who('ann'), userId: 'bob' }).events[0]).toMatchObject({ ev: 'game.playerLeft', data: { userId: 'bob', reason: 'kicked', ownerId: 'ann' } });
    expect(h.ok({ type: 'kick', by: who('ann'), userId: 'cat' }).events[0]).toMatchObject({ ev: 'game.spectatorLeft', data: { userId: 'cat', reason: 'kicked' } });
    expect(members(h.s)).toEqual(['ann']);
  });
});

describe('update', () => {
  it('is for the owner only', () => {
    expect(game({}, 'bob').refused({ type: 'update', by: who('bob'), changes: { name: 'Mine' } })).toBe('NOT_OWNER');
  });

  it('emits one game.updated with the whole game', () => {
    const h = game({}, 'bob');
    const d = h.ok({ type: 'update', by: who('ann'), changes: { name: 'New', locked: true, attributes: { map: 'dune' }, startMode: 'auto' } });
    expect(d.events).toEqual([{ ev: 'game.updated', data: { gameId: 'g1', version: 3, game: viewOf(h.s) } }]);
    expect(h.s).toMatchObject({ name: 'New', locked: true, attributes: { map: 'dune' }, startMode: 'auto', version: 3 });
  });

  it('refuses maxPlayers below the seated count, and minLevel above maxLevel', () => {
    const h = game({ maxLevel: 10 }, 'bob', 'cat');
    expect(h.refused({ type: 'update', by: who('ann'), changes: { maxPlayers: 2 } })).toBe('BAD_REQUEST');
    expect(h.refused({ type: 'update', by: who('ann'), changes: { minLevel: 11 } })).toBe('BAD_REQUEST');
    h.ok({ type: 'update', by: who('ann'), changes: { maxPlayers: 3, minLevel: 10 } });
  });

  it('moves players whose slot or team goes away when maxPlayers shrinks', () => {
    const h = game({ maxPlayers: 8, teamSize: 2 }, 'bob', 'cat', 'dan', 'eve');
    for (const u of ['bob', 'cat']) h.ok({ type: 'leave', userId: u, reason: 'left' });
    // Four teams of two: ann 1/0, dan 4/3, eve 5/0.
    expect(h.s.players.map((p) => [p.userId, p.slot, p.teamIndex])).toEqual([['ann', 1, 0], ['dan', 4, 3], ['eve', 5, 0]]);
    h.ok({ type: 'update', by: who('ann'), changes: { maxPlayers: 4 } }); // two teams: dan changes team, eve seat
    expect(h.s.players.map((p) => [p.userId, p.slot, p.teamIndex])).toEqual([['ann', 1, 0], ['eve', 2, 0], ['dan', 4, 1]]);
    h.ok({ type: 'update', by: who('ann'), changes: { maxPlayers: 3 } });
    expect(h.s.players.map((p) => [p.userId, p.slot, p.teamIndex])).toEqual([['ann', 1, 0], ['eve', 2, 0], ['dan', 3, 1]]);
    h.ok({ type: 'update', by: who('ann'), changes: { maxPlayers: 8 } });
    h.ok(h.join('fay'));
    expect(h.player('fay')).toMatchObject({ slot: 4, teamIndex: 2 });
  });

  it('sets, replaces and clears the password, carrying the hash only as secret', () => {
    const h = game({}, 'bob');
    const set = h.ok({ type: 'update', by: who('ann'), changes: { password: 'sesame' } });
    expect(set.events[0]).toMatchObject({ secret: { passwordHash: sha256hex('id1sesame'), passwordSalt: 'id1' } });
    expect(JSON.stringify(set.events[0]!.data)).not.toMatch(new RegExp(`sesame|${sha256hex('id1sesame')}`));
    expect(h.s.passwordHash).toBe(sha256hex('id1sesame'));
    expect(viewOf(h.s).hasPassword).toBe(true);
    expect(h.refused(h.join('cat', { password: 'x' }))).toBe('WRONG_PASSWORD');

    const other = h.ok({ type: 'update', by: who('ann'), changes: { name: 'Other' } });
    expect(other.events[0]).not.toHaveProperty('secret');
    expect(h.s.passwordHash).toBe(sha256hex('id1sesame'));

    const cleared = h.ok({ type: 'update', by: who('ann'), changes: { password: null } });
    expect(cleared.events[0]).toMatchObject({ secret: { passwordHash: null } });
    expect(viewOf(h.s).hasPassword).toBe(false);
    h.ok(h.join('cat'));
  });

  it('starts an auto game made full by shrinking it while everyone is ready', () => {
    const h = game({ maxPlayers: 3, startMode: 'auto' }, 'bob');
    for (const u of ['ann', 'bob']) h.ok({ type: 'setReady', by: who(u), ready: true });
    const d = h.ok({ type: 'update', by: who('ann'), changes: { maxPlayers: 2 } });
    expect(d.events.map((e) => e.ev)).toEqual(['game.updated', 'game.started']);
    expect(h.s.inProgress).toBe(true);
  });
});

describe('setTeam', () => {
  it('checks membership, team range and capacity; the same team is a no-op', () => {
    const h = game({ maxPlayers: 4, teamSize: 2 }, 'bob', 'cat'); // ann 0, bob 1, cat 0
    expect(h.refused({ type: 'setTeam', by: who('zed'), teamIndex: 0 })).toBe('NOT_IN_GAME');
    expect(h.refused({ type: 'setTeam', by: who('bob'), teamIndex: 2 })).toBe('BAD_REQUEST');
    expect(h.refused({ type: 'setTeam', by: who('bob'), teamIndex: 0 })).toBe('TEAM_FULL');
    expect(h.ok({ type: 'setTeam', by: who('bob'), teamIndex: 1 }).events).toEqual([]);
    const d = h.ok({ type: 'setTeam', by: who('cat'), teamIndex: 1 });
    expect(d.events).toEqual([{ ev: 'game.playerUpdated', data: { gameId: 'g1', version: 4, player: h.player('cat') } }]);
    expect(h.player('cat')?.teamIndex).toBe(1);
  });
});

describe('setReady', () => {
  it('emits playerUpdated; unchanged is a no-op', () => {
    const h = game({}, 'bob');
    expect(h.refused({ type: 'setReady', by: who('zed'), ready: true })).toBe('NOT_IN_GAME');
    expect(h.ok({ type: 'setReady', by: who('bob'), ready: true }).events).toEqual([
      { ev: 'game.playerUpdated', data: { gameId: 'g1', version: 3, player: { ...h.player('bob')!, ready: true } } },
    ]);
    expect(h.ok({ type: 'setReady', by: who('bob'), ready: true }).events).toEqual([]);
  });

  it('auto: starts in the same decision once the game is full and everyone is ready', () => {
    const h = game({ maxPlayers: 2, startMode: 'auto' }, 'bob');
    h.ok({ type: 'setReady', by: who('ann'), ready: true });
    expect(h.s.inProgress).toBe(false);
    h.now += 5000;
    const d = h.ok({ type: 'setReady', by: who('bob'), ready: true });
    expect(d.events.map((e) => e.ev)).toEqual(['game.playerUpdated', 'game.started']);
    expect(d.timers).toEqual([
      { afterMs: rules.confirmTimeoutMs, command: { type: 'confirmDeadline' } },
      { afterMs: rules.maxDurationMs, command: { type: 'end', reason: 'maxDuration' } },
    ]);
    expect(h.s).toMatchObject({ inProgress: true, startedAt: h.now, confirmBy: h.now + rules.confirmTimeoutMs });
  });

  it('does not start a manual game, nor an auto game that is not full', () => {
    for (const settings of [{ maxPlayers: 2 }, { maxPlayers: 3, startMode: 'auto' as const }]) {
      const h = game(settings, 'bob');
      for (const u of ['ann', 'bob']) h.ok({ type: 'setReady', by: who(u), ready: true });
      expect(h.s.inProgress).toBe(false);
    }
  });
});

describe('setOwner', () => {
  it('hands ownership to another player, by the owner only', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    expect(h.refused({ type: 'setOwner', by: who('bob'), userId: 'bob' })).toBe('NOT_OWNER');
    expect(h.refused({ type: 'setOwner', by: who('ann'), userId: 'cat' })).toBe('NOT_IN_GAME');
    expect(h.refused({ type: 'setOwner', by: who('ann'), userId: 'zed' })).toBe('NOT_IN_GAME');
    const d = h.ok({ type: 'setOwner', by: who('ann'), userId: 'bob' });
    expect(d.events).toEqual([{ ev: 'game.updated', data: { gameId: 'g1', version: 4, game: viewOf(h.s) } }]);
    expect(h.s.ownerId).toBe('bob');
    expect(h.refused({ type: 'update', by: who('ann'), changes: { name: 'X' } })).toBe('NOT_OWNER');
    expect(h.refused({ type: 'start', by: who('ann') })).toBe('NOT_OWNER');
  });
});

describe('start', () => {
  it('is for the owner only, once', () => {
    const h = game({}, 'bob');
    expect(h.refused({ type: 'start', by: who('bob') })).toBe('NOT_OWNER');
    h.ok({ type: 'start', by: who('ann') });
    expect(h.refused({ type: 'start', by: who('ann') })).toBe('GAME_IN_PROGRESS');
  });

  it('one game.started for everyone with no key in its data; every player\'s own key and the server address ride along for the replicas', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    h.ok(h.join('dan', { spectate: true }));
    h.now += 10_000;
    const d = h.ok({ type: 'start', by: who('ann') });
    const confirmBy = h.now + rules.confirmTimeoutMs;
    const common = { gameId: 'g1', version: 5, confirmBy };
    expect(d.events).toEqual([
      { ev: 'game.started', startedAt: h.now, data: common, keys: { ann: 'g1.key1', bob: 'g1.key2' }, serverAddress: rules.serverAddress },
    ]);
    expect(d.timers).toEqual([
      { afterMs: rules.confirmTimeoutMs, command: { type: 'confirmDeadline' } },
      { afterMs: rules.maxDurationMs, command: { type: 'end', reason: 'maxDuration' } },
    ]);
    expect(d.result).toMatchObject({ inProgress: true, startedAt: h.now, confirmBy, version: 5 });
    expect(h.s.sessionKeys).toEqual({ ann: 'g1.key1', bob: 'g1.key2' });
    expect(viewOf(h.s)).not.toHaveProperty('sessionKeys');
  });

  it('keys only the players, not the spectators', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    const [started] = h.ok({ type: 'start', by: who('ann') }).events;
    expect(started?.ev === 'game.started' && Object.keys(started.keys)).toEqual(['ann', 'bob']);
  });
});

describe('confirm', () => {
  it('checks start, membership, then the key; the key stays for the game server, a second confirm changes nothing', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    expect(h.refused({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' })).toBe('GAME_NOT_STARTED');
    h.ok({ type: 'start', by: who('ann') });
    expect(h.refused({ type: 'confirm', by: who('cat'), sessionKey: 'g1.key2' })).toBe('NOT_IN_GAME');
    expect(h.refused({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key1' })).toBe('WRONG_SESSION_KEY'); // ann's
    expect(h.refused({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2x' })).toBe('WRONG_SESSION_KEY');
    const d = h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' });
    expect(d.events).toEqual([{ ev: 'game.playerUpdated', data: { gameId: 'g1', version: 5, player: { ...h.player('bob')!, confirmed: true } } }]);
    expect(h.player('bob')?.confirmed).toBe(true);
    expect(h.s.sessionKeys).toEqual({ ann: 'g1.key1', bob: 'g1.key2' });
    expect(h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' }).events).toEqual([]);
    expect(h.refused({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key1' })).toBe('WRONG_SESSION_KEY');
  });

  it('is safe for user ids that name Object.prototype members', () => {
    const h = game();
    h.ok(h.join('constructor'));
    h.ok({ type: 'start', by: who('ann') });
    h.ok({ type: 'confirm', by: who('ann'), sessionKey: 'g1.key1' });
    h.useKey('g1.key2');
    h.ok({ type: 'leave', userId: 'constructor', reason: 'left' });
    expect(h.s.sessionKeys).toEqual({ ann: 'g1.key1' });
    expect(h.s.keysUsed).toEqual([]);
    expect(h.refused({ type: 'useKey', sessionKey: 'g1.key2' })).toBe('WRONG_SESSION_KEY');
  });
});

describe('useKey (a game server uses a session key)', () => {
  it('answers who holds the key (game, team, slot), confirms the player, and spends the key', () => {
    const h = game({ teamSize: 1 }, 'bob');
    h.ok({ type: 'start', by: who('ann') });
    const confirmBy = h.s.confirmBy!;
    const bob = h.player('bob')!;
    const d = h.useKey('g1.key2');
    expect(d.result).toEqual({ userId: 'bob', name: 'Bob', gameId: 'g1', gameName: 'Room', gameType: 'PvE', teamIndex: 1, slot: 2, confirmBy });
    expect(d.events).toEqual([{ ev: 'game.playerUpdated', data: { gameId: 'g1', version: h.s.version, player: { ...bob, confirmed: true } }, keyUsed: true }]);
    expect(h.player('bob')?.confirmed).toBe(true);
    expect(h.s.keysUsed).toEqual(['bob']);
    expect(viewOf(h.s)).not.toHaveProperty('keysUsed');
    // Once only; the player's own confirm in the lobby still works and changes nothing.
    expect(h.refused({ type: 'useKey', sessionKey: 'g1.key2' })).toBe('SESSION_KEY_USED');
    expect(h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' }).events).toEqual([]);
  });

  it('works after the player confirmed in the lobby, and is refused for wrong keys and games not started', () => {
    const h = game({}, 'bob');
    expect(h.refused({ type: 'useKey', sessionKey: 'g1.key1' })).toBe('WRONG_SESSION_KEY');
    h.ok({ type: 'start', by: who('ann') });
    h.ok({ type: 'confirm', by: who('ann'), sessionKey: 'g1.key1' });
    for (const wrong of ['g1.key3', 'g1.key1x', 'key1', '', 'g1.']) expect(h.refused({ type: 'useKey', sessionKey: wrong })).toBe('WRONG_SESSION_KEY');
    expect(h.decide({ type: 'useKey', sessionKey: 'g1.key1' })).toMatchObject({ ok: true, result: { userId: 'ann', slot: 1 } });
  });

  it('is refused once the confirm deadline has passed, though the player stays', () => {
    const h = game({}, 'bob', 'cat');
    h.ok({ type: 'start', by: who('ann') });
    h.ok({ type: 'confirm', by: who('ann'), sessionKey: 'g1.key1' });
    h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' });
    h.now += rules.confirmTimeoutMs;
    expect(h.decide({ type: 'useKey', sessionKey: 'g1.key1' })).toMatchObject({ ok: true }); // the deadline itself still counts
    h.now += 1;
    h.ok({ type: 'confirmDeadline' });
    expect(h.s.players.map((p) => p.userId)).toEqual(['ann', 'bob']);
    expect(h.refused({ type: 'useKey', sessionKey: 'g1.key2' })).toBe('SESSION_KEY_EXPIRED');
    expect(h.refused({ type: 'useKey', sessionKey: 'g1.key3' })).toBe('WRONG_SESSION_KEY'); // cat was removed with the key
  });

  it('names its game: gameOfKey is everything before the last dot', () => {
    expect(gameOfKey('2b1c-uuid.abc_DEF-123')).toBe('2b1c-uuid');
    expect(gameOfKey('a.b.c')).toBe('a.b');
    expect(gameOfKey('nodot')).toBe('');
  });
});

describe('confirm deadline', () => {
  it('removes every unconfirmed player as unconfirmed, handing ownership on', () => {
    const h = game({}, 'bob', 'cat');
    h.ok({ type: 'start', by: who('ann') });
    h.ok({ type: 'confirm', by: who('cat'), sessionKey: 'g1.key3' });
    h.now += rules.confirmTimeoutMs;
    const d = h.ok({ type: 'confirmDeadline' });
    expect(d.events).toEqual([
      { ev: 'game.playerLeft', data: { gameId: 'g1', version: 6, userId: 'ann', reason: 'unconfirmed', ownerId: 'bob' } },
      { ev: 'game.playerLeft', data: { gameId: 'g1', version: 7, userId: 'bob', reason: 'unconfirmed', ownerId: 'cat' } },
    ]);
    expect(h.s.players.map((p) => p.userId)).toEqual(['cat']);
    expect(h.s.sessionKeys).toEqual({ cat: 'g1.key3' });
  });

  it('ends the game when nobody confirmed', () => {
    const h = game({}, 'bob');
    h.ok({ type: 'start', by: who('ann') });
    expect(h.ok({ type: 'confirmDeadline' }).events).toEqual([{ ev: 'game.ended', data: { gameId: 'g1', reason: 'unconfirmed' } }]);
    expect(h.state).toBeUndefined();
  });

  it('is a no-op for a game not awaiting confirmation', () => {
    const h = game({}, 'bob');
    expect(h.ok({ type: 'confirmDeadline' }).events).toEqual([]);
    h.ok({ type: 'start', by: who('ann') });
    h.ok({ type: 'confirm', by: who('ann'), sessionKey: 'g1.key1' });
    h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' });
    expect(h.ok({ type: 'confirmDeadline' }).events).toEqual([]);
  });
});

describe('setConnected', () => {
  it('emits playerUpdated on a change only, for players only', () => {
    const h = game({}, 'bob');
    h.ok(h.join('cat', { spectate: true }));
    expect(h.ok({ type: 'setConnected', userId: 'bob', connected: true }).events).toEqual([]);
    expect(h.ok({ type: 'setConnected', userId: 'cat', connected: false }).events).toEqual([]);
    expect(h.ok({ type: 'setConnected', userId: 'zed', connected: false }).events).toEqual([]);
    const d = h.ok({ type: 'setConnected', userId: 'bob', connected: false });
    expect(d.events).toEqual([{ ev: 'game.playerUpdated', data: { gameId: 'g1', version: 4, player: { ...h.player('bob')!, connected: false } } }]);
    expect(h.player('bob')?.connected).toBe(false);
  });
});

describe('end', () => {
  it.each(['ended', 'maxDuration'] as const)('ends the game with reason %s', (reason) => {
    const h = game({}, 'bob');
    h.ok({ type: 'start', by: who('ann') });
    expect(h.ok({ type: 'end', reason }).events).toEqual([{ ev: 'game.ended', data: { gameId: 'g1', reason } }]);
    expect(h.state).toBeUndefined();
    expect(h.refused({ type: 'end', reason })).toBe('GAME_NOT_FOUND');
  });
});

describe('views', () => {
  it('viewOf shows neither password nor keys; summaryOf names the owner and averages the seated players', () => {
    const h = new Harness();
    h.create({ password: 'pw', profile: { level: 10, rating: 1000 }, attributes: { map: 'dune' } });
    h.ok(h.join('bob', { password: 'pw', profile: { level: 20, rating: 1500 } }));
    h.ok(h.join('cat', { spectate: true, password: 'pw' }));
    h.ok({ type: 'start', by: who('ann') });
    const view = JSON.stringify(viewOf(h.s));
    expect(view).not.toMatch(/passwordHash|passwordSalt|sessionKeys|key1/);
    expect(view).not.toContain(h.s.passwordHash!);
    expect(summaryOf(h.s)).toEqual({
      id: 'g1', name: 'Room', gameType: 'PvE', ownerId: 'ann', ownerName: 'Ann', players: 2, maxPlayers: 8, freeSeats: 6, spectators: 1,
      hasPassword: true, locked: false, closed: false, inProgress: true, friendsJoinOnly: false, startMode: 'manual',
      minLevel: null, maxLevel: null, school: null, attributes: { map: 'dune' }, meanLevel: 15, meanRating: 1250, createdAt: T0, version: h.s.version,
    });
    expect(summaryOf({ ...h.s, players: [] })).toMatchObject({ meanLevel: 0, meanRating: 0 });
    expect(members(h.s)).toEqual(['ann', 'bob', 'cat']);
  });

  it('hands out views that share nothing mutable with the state', () => {
    const h = game({}, 'bob');
    const v = viewOf(h.s);
    v.players[0]!.name = 'Mallory';
    v.attributes['x'] = 1;
    expect(h.s.players[0]!.name).toBe('Ann');
    expect(h.s.attributes).toEqual({});
  });
});

describe('replicas', () => {
  it('reach the same state from the same events, also after a JSON round trip', () => {
    const h = game({ password: 'pw', maxPlayers: 3, startMode: 'auto' });
    h.ok(h.join('bob', { password: 'pw' }));
    h.ok(h.join('cat', { password: 'pw', spectate: true }));
    h.ok({ type: 'update', by: who('ann'), changes: { name: 'Renamed', maxPlayers: 2 } });
    for (const u of ['ann', 'bob']) h.ok({ type: 'setReady', by: who(u), ready: true });
    h.ok({ type: 'confirm', by: who('bob'), sessionKey: 'g1.key2' });
    h.useKey('g1.key1');
    const replica = (JSON.parse(JSON.stringify(h.log)) as GameEvent[]).reduce<GameState | undefined>(applyGame, undefined);
    expect(replica).toEqual(h.state);
    expect(replica?.sessionKeys).toEqual({ ann: 'g1.key1', bob: 'g1.key2' });
    expect(replica?.keysUsed).toEqual(['ann']);
  });
});
