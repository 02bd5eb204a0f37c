import assert from 'node:assert/strict';
import fc from 'fast-check';
import { events as eventSpecs, GameCreate, GameSummary, GameView } from '@foyer/shared';
import { describe, expect, it } from 'vitest';
import { applyGame, decideGame, members, openState, redactEvent, summaryOf, viewOf } from '../../server/src/domain/game/index.js';
import type { GameCommand, GameCtx, GameEvent, GameRules, GameState } from '../../server/src/domain/game/index.js';

const rules: GameRules = { defaultTeamSize: 2, maxSpectators: 2, confirmTimeoutMs: 2_000, maxDurationMs: 10_000, serverAddress: 'play.example:7777' };
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];
const GAMES = ['g1', 'g2'];
const PASSWORDS = ['Pa55-secret-A', 'Pa55-secret-B'];

const who = (userId: string) => ({ userId, name: userId.toUpperCase() });

/** A step of the run: a command for one game (a confirm's key is picked from the state when it runs), or time passing. */
type Step =
  | { game: string; cmd: GameCommand; revive?: GameCommand }
  /** `server`: a game server uses the key (useKey) instead of the player confirming with it. */
  | { game: string; confirm: { user: string; key: 'own' | 'other' | 'junk'; server: boolean }; revive?: GameCommand }
  | { tick: number };

/** Roles are resolved against the game when the step runs, so owner ops, kicks and confirms often hit. */
const ROLES = ['@owner', '@other', '@last'];
const anyone = fc.constantFrom(...USERS);
const member = fc.constantFrom(...ROLES, ...ROLES, ...USERS);
const owner = fc.constantFrom('@owner', '@owner', '@owner', ...USERS);
const rarely = fc.constantFrom(false, false, false, true);
const gameId = fc.constantFrom(...GAMES);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Restrictive settings mostly absent, so that joins often succeed. */
const sometimes = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
const level = fc.integer({ min: 0, max: 6 });
const password = fc.constantFrom(PASSWORDS[0]!, PASSWORDS[0]!, PASSWORDS[1]!);

const settings = fc.record({
  maxPlayers: fc.integer({ min: 1, max: 5 }),
  teamSize: maybe(fc.integer({ min: 1, max: 3 })),
  password: sometimes(password),
  startMode: fc.constantFrom('manual' as const, 'auto' as const),
  friendsJoinOnly: rarely,
  locked: rarely,
  minLevel: sometimes(fc.integer({ min: 0, max: 3 })),
  maxLevel: sometimes(fc.integer({ min: 3, max: 6 })),
  school: sometimes(fc.constant('mage')),
  profile: fc.record({ level, school: maybe(fc.constant('mage')) }),
});

const changes = fc
  .record(
    {
      name: fc.constantFrom('Renamed', 'Other'),
      maxPlayers: fc.integer({ min: 1, max: 6 }),
      password: fc.option(password, { nil: null }),
      locked: rarely,
      closed: rarely,
      startMode: fc.constantFrom('manual' as const, 'auto' as const),
      minLevel: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
      maxLevel: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
    },
    { requiredKeys: [] },
  )
  .filter((c) => Object.keys(c).length > 0);

// The profile as the service builds it: the stored level (and rating), the school the client chose.
const stored = (level: number, school: string | undefined) => ({ level, rating: 0, ...(school !== undefined && { school }) });
const create = (game: string) =>
  fc.record({ u: anyone, s: settings }).map(({ u, s: { profile, ...s } }): GameCommand => ({ type: 'create', gameId: game, by: who(u), settings: { ...GameCreate.parse({ name: 'Room', gameType: 'PvE', ...s }), profile: stored(profile.level, profile.school) } }));
/**
 * Most steps carry a create to run first when their game is gone, or the
 * run would spend half its steps on GAME_NOT_FOUND (the unit tests cover that).
 */
const targeted = <T>(what: fc.Arbitrary<T>) =>
  gameId.chain((game) => fc.record({ game: fc.constant(game), what, revive: fc.option(create(game), { nil: undefined, freq: 5 }) }));
const on = (weight: number, cmd: fc.Arbitrary<GameCommand>) => ({
  weight,
  arbitrary: targeted(cmd).map(({ game, what, revive }): Step => (revive ? { game, cmd: what, revive } : { game, cmd: what })),
});

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: gameId.chain((game) => create(game).map((cmd): Step => ({ game, cmd }))) },
  on(
    16,
    fc
      .record({ u: anyone, spectate: rarely, pw: fc.constantFrom(undefined, 'wrong', PASSWORDS[0], PASSWORDS[0], ...PASSWORDS), level, school: maybe(fc.constant('mage')), friend: fc.boolean() })
      .map(({ u, spectate, pw, level, school, friend }) => ({ type: 'join', by: who(u), spectate, password: pw, profile: stored(level, school), friendOfOwner: friend })),
  ),
  on(4, fc.record({ u: fc.constantFrom('@other', '@last', ...USERS), reason: fc.constantFrom('left' as const, 'disconnected' as const, 'joinedAnother' as const) }).map(({ u, reason }) => ({ type: 'leave', userId: u, reason }))),
  on(3, fc.record({ u: owner, t: member }).map(({ u, t }) => ({ type: 'kick', by: who(u), userId: t }))),
  on(4, fc.record({ u: owner, c: changes }).map(({ u, c }) => ({ type: 'update', by: who(u), changes: c }))),
  on(4, fc.record({ u: member, t: fc.integer({ min: 0, max: 4 }) }).map(({ u, t }) => ({ type: 'setTeam', by: who(u), teamIndex: t }))),
  on(8, fc.record({ u: member, r: fc.boolean() }).map(({ u, r }) => ({ type: 'setReady', by: who(u), ready: r }))),
  on(2, fc.record({ u: owner, t: member }).map(({ u, t }) => ({ type: 'setOwner', by: who(u), userId: t }))),
  on(1, owner.map((u) => ({ type: 'start', by: who(u) }))),
  on(2, fc.record({ u: member, c: fc.boolean() }).map(({ u, c }) => ({ type: 'setConnected', userId: u, connected: c }))),
  on(1, fc.constant({ type: 'confirmDeadline' })),
  on(1, fc.constantFrom('ended' as const, 'maxDuration' as const).map((reason) => ({ type: 'end', reason }))),
  {
    weight: 5,
    arbitrary: targeted(fc.record({ user: fc.oneof({ weight: 4, arbitrary: fc.constant('@keyed') }, member), key: fc.constantFrom('own' as const, 'own' as const, 'own' as const, 'other' as const, 'junk' as const), server: fc.boolean() })).map(
      ({ game, what, revive }): Step => (revive ? { game, confirm: what, revive } : { game, confirm: what }),
    ),
  },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_500 }).map((tick) => ({ tick })) },
);

function role(u: string, state: GameState | undefined): string {
  if (u === '@owner') return state?.ownerId ?? 'u1';
  if (u === '@other') return (state && members(state).find((m) => m !== state.ownerId)) ?? 'u2';
  if (u === '@last') return (state && members(state).at(-1)) ?? 'u3';
  if (u === '@keyed') return Object.keys(state?.sessionKeys ?? {}).sort()[0] ?? 'u4';
  return u;
}

function resolve(cmd: GameCommand, state: GameState | undefined): GameCommand {
  const c = { ...cmd };
  if ('by' in c) c.by = who(role(c.by.userId, state));
  if ('userId' in c) c.userId = role(c.userId, state);
  return c;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** One game id: its state on the owner, on a replica fed only the redacted events (as JSON, like the bus), and its pending timers. */
interface Slot {
  state: GameState | undefined;
  replica: GameState | undefined;
  timers: { due: number; command: GameCommand }[];
}

class World {
  now = 1_000_000;
  private counter = 0;
  readonly games = new Map(GAMES.map((g) => [g, { state: undefined, replica: undefined, timers: [] } as Slot]));
  /** Every password hash the run has seen: none may appear in event data. */
  readonly hashes = new Set<string>();
  /** How often each kind of event (leave and end by reason) happened: the generator's coverage. */
  readonly seen = new Map<string, number>();

  ctx(): GameCtx {
    return { now: this.now, newId: () => `id${++this.counter}`, newKey: () => `key${++this.counter}` };
  }

  run(s: Step): void {
    if ('tick' in s) return this.tick(s.tick);
    if (s.revive && !this.games.get(s.game)!.state) this.exec(s.game, s.revive);
    const { state } = this.games.get(s.game)!;
    this.exec(s.game, 'cmd' in s ? resolve(s.cmd, state) : this.confirm(state, s.confirm));
  }

  private confirm(state: GameState | undefined, c: { user: string; key: 'own' | 'other' | 'junk'; server: boolean }): GameCommand {
    const userId = role(c.user, state);
    const keys = state ? Object.entries(state.sessionKeys) : [];
    const own = keys.find(([u]) => u === userId)?.[1];
    const other = keys.find(([u]) => u !== userId)?.[1];
    const sessionKey = (c.key === 'own' ? own : c.key === 'other' ? other : undefined) ?? 'junk';
    return c.server ? { type: 'useKey', sessionKey } : { type: 'confirm', by: who(userId), sessionKey };
  }

  private tick(ms: number): void {
    this.now += ms;
    for (const [id, slot] of this.games) {
      while (slot.state) {
        const due = slot.timers.filter((t) => t.due <= this.now).sort((a, b) => a.due - b.due)[0];
        if (!due) break;
        slot.timers.splice(slot.timers.indexOf(due), 1);
        this.exec(id, due.command);
      }
    }
  }

  private exec(id: string, cmd: GameCommand): void {
    const slot = this.games.get(id)!;
    const before = deepFreeze(slot.state); // decide and apply must never mutate
    const d = decideGame(before, cmd, this.ctx(), rules);
    if (!d.ok) return;

    let state = before;
    let version = before?.version ?? 0;
    let previous: GameEvent | undefined;
    for (const e of d.events) {
      if (e.ev === 'game.created') {
        assert.equal(e.data.game.version, 1);
        version = 1;
      } else if (e.ev !== 'game.ended') {
        // One version per change; a start's per-recipient game.started events share theirs.
        const sameStart = e.ev === 'game.started' && previous?.ev === 'game.started';
        assert.equal(e.data.version, sameStart ? version : version + 1, `${e.ev} version`);
        version = e.data.version;
      }
      if ('secret' in e && e.secret?.passwordHash) this.hashes.add(e.secret.passwordHash);
      this.checkData(e);
      state = deepFreeze(applyGame(state, e));
      previous = e;
    }
    // A replica on another node starts from nothing at game.created and sees exactly the events without the owner's
    // secrets, as they arrive over the wire.
    for (const e of JSON.parse(JSON.stringify(d.events.map(redactEvent))) as GameEvent[]) slot.replica = applyGame(slot.replica, e);
    assert.deepEqual(slot.replica, state && openState(state), 'replica');
    for (const e of d.events) {
      const kind = e.ev === 'game.playerLeft' || e.ev === 'game.ended' ? `${e.ev}:${e.data.reason}` : e.ev;
      this.seen.set(kind, (this.seen.get(kind) ?? 0) + 1);
    }
    slot.state = state;
    if (cmd.type === 'useKey') {
      // A game server's use answers with the key's holder, now confirmed, whose key is spent.
      const holder = d.result as { userId: string; slot: number };
      const p = state?.players.find((q) => q.userId === holder.userId);
      assert.ok(p?.confirmed && p.slot === holder.slot && state!.keysUsed.includes(p.userId), 'useKey result');
    } else {
      assert.deepEqual(d.result, state ? viewOf(state) : null, 'result');
      // A routed command's caller makes this result from its replica (Entities, interest.answers).
      assert.deepEqual(slot.replica ? viewOf(slot.replica) : null, d.result, "the caller's result");
    }
    if (!state) slot.timers = [];
    for (const t of d.timers) slot.timers.push({ due: this.now + t.afterMs, command: t.command });
    if (state) {
      assert.equal(state.version, version);
      this.checkInvariants(state);
      assert.deepEqual(viewOf(slot.replica!), viewOf(state));
    }
  }

  /** What clients get: valid by the protocol's own schema, with no password and no hash in it. */
  private checkData(e: GameEvent): void {
    const text = JSON.stringify(e.data);
    for (const secret of [...PASSWORDS, ...this.hashes]) assert.ok(!text.includes(secret), `${e.ev} reveals a password or its hash`);
    assert.doesNotMatch(text, /passwordHash|passwordSalt|sessionKeys/);
    if (e.ev === 'game.created') assert.deepEqual(GameView.parse(e.data.game), e.data.game);
    else assert.deepEqual(eventSpecs[e.ev].data.parse(e.data), e.data, `${e.ev} data`);
  }

  private checkInvariants(s: GameState): void {
    const teams = Math.ceil(s.maxPlayers / s.teamSize);
    const ids = members(s);
    assert.equal(new Set(ids).size, ids.length, 'nobody both player and spectator, nor twice');
    assert.ok(s.players.length > 0, 'a live game has players');
    assert.ok(s.players.length <= s.maxPlayers, 'players <= maxPlayers');
    assert.ok(s.spectators.length <= rules.maxSpectators, 'spectator cap');
    assert.ok(s.players.some((p) => p.userId === s.ownerId), 'the owner is a player');
    const slots = s.players.map((p) => p.slot);
    assert.equal(new Set(slots).size, slots.length, 'slots unique');
    for (const p of s.players) {
      assert.ok(p.slot >= 1 && p.slot <= s.maxPlayers, 'slot in 1..maxPlayers');
      assert.ok(p.teamIndex < teams, 'team exists');
    }
    for (let t = 0; t < teams; t++) assert.ok(s.players.filter((p) => p.teamIndex === t).length <= s.teamSize, 'team size');
    // Keys: only for players; a key used by a game server belongs to a confirmed player.
    for (const u of Object.keys(s.sessionKeys)) assert.ok(s.players.some((p) => p.userId === u), 'keys only for players');
    for (const u of s.keysUsed) assert.ok(Object.hasOwn(s.sessionKeys, u) && s.players.find((p) => p.userId === u)?.confirmed, 'used keys are of confirmed players');
    if (!s.inProgress) assert.deepEqual(s.sessionKeys, {});
    if (s.passwordHash) this.hashes.add(s.passwordHash);
    const view = viewOf(s);
    assert.deepEqual(GameView.parse(view), view);
    assert.doesNotMatch(JSON.stringify(view), /key\d/);
    const summary = summaryOf(s);
    assert.deepEqual(GameSummary.parse(summary), summary);
    assert.equal(summary.freeSeats, s.maxPlayers - s.players.length);
  }
}

describe('game entity (property)', () => {
  it('keeps its invariants, versions and replicas over random command sequences', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 100, size: 'max' }), (steps) => {
        const world = new World();
        for (const s of steps) world.run(s);
        world.run({ tick: rules.maxDurationMs }); // let every timer run out
      }),
      { numRuns: 200 },
    );
  });

  it('reaches the interesting states (the generator is not vacuous)', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 100, size: 'max' }), (steps) => {
        const world = new World();
        for (const s of steps) world.run(s);
        world.run({ tick: rules.maxDurationMs }); // let every timer run out
        for (const [k, n] of world.seen) seen.set(k, (seen.get(k) ?? 0) + n);
      }),
      { numRuns: 200, seed: 20_240_611 }, // fixed: this measures the generator, it does not hunt for bugs
    );
    const kinds = ['game.created', 'game.playerJoined', 'game.spectatorJoined', 'game.spectatorLeft', 'game.updated', 'game.started', 'game.playerUpdated'];
    const reasons = ['left', 'kicked', 'disconnected', 'unconfirmed', 'joinedAnother'].map((r) => `game.playerLeft:${r}`);
    const ends = ['empty', 'unconfirmed', 'maxDuration', 'ended'].map((r) => `game.ended:${r}`);
    for (const k of [...kinds, ...reasons, ...ends]) expect(seen.get(k) ?? 0, k).toBeGreaterThanOrEqual(3);
  });
});
