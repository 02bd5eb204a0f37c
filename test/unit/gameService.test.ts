import { ops, type OpName } from '@foyer/shared';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalBus } from '../../server/src/cluster/bus.js';
import { Cluster } from '../../server/src/cluster/cluster.js';
import { loadConfig } from '../../server/src/config.js';
import type { Gateway, SessionListener } from '../../server/src/gateway/gateway.js';
import { OpRegistry } from '../../server/src/gateway/registry.js';
import type { Session } from '../../server/src/gateway/session.js';
import { summaryOf } from '../../server/src/domain/game/index.js';
import { registerGameOps } from '../../server/src/api/gameOps.js';
import { listEventData } from '../../server/src/services/gameListStreams.js';
import { GameService } from '../../server/src/services/gameService.js';

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];
const PASSWORDS = ['pw-alpha-1', 'pw-beta-2'];

/**
 * The game service with everything but its I/O real: ops go through the
 * registry with validated data, deliveries land in a list.
 */
function harness() {
  // `to`: the stream an event was published on, or the users a personal one went to.
  const delivered: { to: readonly string[]; ev: string; data: unknown }[] = [];
  const listeners: SessionListener[] = [];
  const gateway = {
    publish: (stream: string, ev: string, data: unknown) => delivered.push({ to: [stream], ev, data }),
    publishEncoded: (stream: string, ev: string, encoded: string) => delivered.push({ to: [stream], ev, data: JSON.parse(encoded) }),
    toUsersHere: (users: readonly string[], ev: string, data: unknown) => delivered.push({ to: users, ev, data }),
    subscribe: () => {},
    unsubscribe: () => {},
    snapshotter: () => {},
    hub: { onDropped: () => {} },
    onSession: (l: SessionListener) => listeners.push(l),
  } as unknown as Gateway;
  const registry = new OpRegistry();
  const log = pino({ level: 'silent' });
  // A node alone on the in-process bus: every game is its own.
  const cluster = new Cluster(new LocalBus(), { nodeId: 'n1', prefix: 'test', heartbeatMs: 1000, timeoutMs: 3000, callTimeoutMs: 1000 }, log);
  const service = new GameService({ config: loadConfig([], {}), log, gateway, cluster, standingOf: async () => ({ level: 1, rating: 0 }) });
  registerGameOps(registry, service);
  const call = async (userId: string, op: OpName, data: unknown) => {
    const session = { userId, name: userId.toUpperCase() } as Session;
    try {
      return { ok: true, value: await registry.get(op)!(ops[op].data.parse(data) as never, { session, now: Date.now() }) };
    } catch (err) {
      return { ok: false, value: err };
    }
  };
  return { service, call, delivered, listeners };
}

const user = fc.constantFrom(...USERS);
const command = fc.oneof(
  fc.record({ op: fc.constant('game.create' as const), user, maxPlayers: fc.integer({ min: 1, max: 4 }), password: fc.option(fc.constantFrom(...PASSWORDS), { nil: undefined }), hidden: fc.boolean(), teamSize: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('game.join' as const), user, pick: fc.nat(), spectate: fc.boolean(), password: fc.option(fc.constantFrom(...PASSWORDS), { nil: undefined }) }),
  fc.record({ op: fc.constant('games.quickJoin' as const), user, create: fc.boolean() }),
  fc.record({ op: fc.constant('game.leave' as const), user }),
  fc.record({ op: fc.constant('game.kick' as const), user, target: user }),
  fc.record({ op: fc.constant('game.setOwner' as const), user, target: user }),
  fc.record({ op: fc.constant('game.setTeam' as const), user, teamIndex: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('game.setReady' as const), user, ready: fc.boolean() }),
  fc.record({ op: fc.constant('game.update' as const), user, maxPlayers: fc.integer({ min: 1, max: 4 }), locked: fc.boolean(), password: fc.option(fc.constantFrom(...PASSWORDS), { nil: null }) }),
  fc.record({ op: fc.constant('game.start' as const), user }),
  fc.record({ op: fc.constant('session' as const), user, what: fc.constantFrom('lost', 'back', 'ended') as fc.Arbitrary<'lost' | 'back' | 'ended'> }),
);

describe('GameService invariants (property)', () => {
  it('random sequences never seat a user twice, overfill a game or team, orphan ownership, or leak a password', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), async (commands) => {
        const { service, call, delivered, listeners } = harness();
        for (const c of commands) {
          const ids = [...service.all.keys()];
          switch (c.op) {
            case 'game.create':
              await call(c.user, c.op, { name: 'G', gameType: 'prop', maxPlayers: c.maxPlayers, password: c.password, hidden: c.hidden, teamSize: c.teamSize, startMode: 'auto' });
              break;
            case 'game.join':
              await call(c.user, c.op, { gameId: ids.length ? ids[c.pick % ids.length] : 'none', spectate: c.spectate, password: c.password });
              break;
            case 'games.quickJoin':
              await call(c.user, c.op, { gameType: 'prop', create: c.create ? { name: 'Q', maxPlayers: 2 } : undefined });
              break;
            case 'game.kick':
            case 'game.setOwner':
              await call(c.user, c.op, { userId: c.target });
              break;
            case 'game.setTeam':
              await call(c.user, c.op, { teamIndex: c.teamIndex });
              break;
            case 'game.setReady':
              await call(c.user, c.op, { ready: c.ready });
              break;
            case 'game.update':
              await call(c.user, c.op, { maxPlayers: c.maxPlayers, locked: c.locked, password: c.password });
              break;
            case 'session':
              for (const l of listeners) l[c.what]?.(c.user);
              break;
            default:
              await call(c.user, c.op, {});
          }

          // The owner lists its games once the turn is done: as the next request would see it.
          service.feed.flush();
          // A user is in at most one game, as player or spectator.
          const seen = new Map<string, string>();
          for (const g of service.all.values()) {
            expect(g.players.length).toBeLessThanOrEqual(g.maxPlayers);
            expect(g.players.length).toBeGreaterThan(0);
            expect(g.players.some((p) => p.userId === g.ownerId)).toBe(true);
            const teams = new Map<number, number>();
            for (const p of g.players) teams.set(p.teamIndex, (teams.get(p.teamIndex) ?? 0) + 1);
            for (const n of teams.values()) expect(n).toBeLessThanOrEqual(g.teamSize);
            for (const id of [...g.players.map((p) => p.userId), ...g.spectators.map((s) => s.userId)]) {
              expect(seen.get(id), `${id} is in ${seen.get(id)} and ${g.id}`).toBeUndefined();
              seen.set(id, g.id);
            }
            // The list shows exactly the listed games, as they are.
            const listed = service.listings.list.get(g.id);
            if (g.hidden) expect(listed).toBeUndefined();
            else expect({ ...listed, version: 0 }).toEqual({ ...summaryOf(g), version: 0 });
          }
          expect(service.listings.list.size).toBe([...service.all.values()].filter((g) => !g.hidden).length);
          // game.current agrees with the games.
          for (const u of USERS) {
            const r = await call(u, 'game.current', {});
            expect((r.value as { game: { id: string } | null }).game?.id).toBe(seen.get(u));
          }
        }
        const wire = JSON.stringify(delivered);
        for (const pw of PASSWORDS) expect(wire).not.toContain(pw);
      }),
      { numRuns: 150 },
    );
  });
});

describe('listEventData', () => {
  it('writes exactly what JSON.stringify writes for {subscriptionId, game} and {subscriptionId, gameId}', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.jsonValue(), (subscriptionId, value) => {
        expect(listEventData(subscriptionId, 'game', JSON.stringify(value))).toBe(JSON.stringify({ subscriptionId, game: value }));
        expect(listEventData(subscriptionId, 'gameId', JSON.stringify(value))).toBe(JSON.stringify({ subscriptionId, gameId: value }));
      }),
    );
  });
});
