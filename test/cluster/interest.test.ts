import { LobbyMirror, type EventName, type LobbyClient } from '@foyer/client-sdk';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { RawClient } from '../helpers/raw.js';
import { TEST_ENV, eventually, listedEverywhere, nextState, retrying, useCluster, within, type TestCluster } from '../helpers/cluster.js';

const cluster = useCluster();

const PARTY_EVENTS: EventName[] = ['party.invited', 'party.inviteEnded', 'party.snapshot', 'party.memberJoined', 'party.memberLeft', 'party.memberUpdated', 'party.ended'];

/** The Redis servers the nodes share: the one, or every master of the Redis Cluster. */
function servers(c: TestCluster): Redis[] {
  if (!c.redisCluster) return [new Redis(c.redisUrl)];
  return c.redisCluster.split(',').map((seed) => {
    const [host, port] = seed.split(':');
    return new Redis({ host: host!, port: Number(port) });
  });
}

async function onServers<T>(c: TestCluster, fn: (r: Redis) => Promise<T>): Promise<T[]> {
  const rs = servers(c);
  try {
    return await Promise.all(rs.map(fn));
  } finally {
    for (const r of rs) r.disconnect();
  }
}

/** How many nodes listen on an entity's own channel now (classic pub/sub on one Redis; sharded, summed over the masters, on a Redis Cluster). */
async function listeners(c: TestCluster, entity: string): Promise<number> {
  const channel = `${c.prefix}:{${entity}}`;
  const counts = await onServers(c, async (r) => {
    const res = (await r.call('PUBSUB', c.redisCluster ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as [string, number];
    return Number(res[1]);
  });
  return counts.reduce((a, b) => a + b, 0);
}

/** Cuts a node's subscriber connections (on a Redis Cluster: only the one to the master serving `entity`); how many were cut. */
async function cutSubscriber(c: TestCluster, nodeId: string, entity: string): Promise<number> {
  const name = `${c.prefix}:${nodeId}:sub`;
  const channel = `${c.prefix}:{${entity}}`;
  const cut = await onServers(c, async (r) => {
    // On a Redis Cluster, only the master that has the entity's channel: one shard's connection drops alone.
    if (c.redisCluster && Number(((await r.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]) === 0) return 0;
    const ids = ((await r.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /^id=(\d+)/.exec(line)![1]!);
    for (const id of ids) await r.call('CLIENT', 'KILL', 'ID', id);
    return ids.length;
  });
  return cut.reduce((a, b) => a + b, 0);
}

/** The pub/sub messages a node's subscriber connection(s) received from Redis (foyer_bus_messages_total). */
async function receivedMessages(c: TestCluster, node: number): Promise<number> {
  const text = await (await fetch(`${c.nodes[node]!.http}/metrics`)).text();
  return Number(/^foyer_bus_messages_total\{direction="received"\} (\d+)$/m.exec(text)![1]);
}

describe('cluster: by interest', () => {
  it('a node with nothing of a game receives no pub/sub message while its players play it elsewhere, nor any to stay in the cluster', async () => {
    const c = cluster();
    const n3 = c.nodes[2];
    const a = await c.guest(0, 'Ada');
    const b = await c.guest(0, 'Ben');
    const ib = new Inbox(b, ['chat.message', 'game.playerUpdated']);
    const { game } = await a.call('game.create', { name: 'Busy on n1', gameType: 'idle-n3', maxPlayers: 2 });
    await b.call('game.join', { gameId: game.id });
    // The listing reaches n3 (every node lists every game); from here on nothing n3 needs changes.
    await listedEverywhere([await c.guest(2, 'Cyd')], game.id);
    const before = await receivedMessages(c, 2);
    for (let i = 0; i < 5; i++) {
      await a.call('chat.send', { channel: 'game', text: `line ${i}` });
      await within(ib.next('chat.message', (e) => e.text === `line ${i}`), 5000, `B gets line ${i}`);
      await b.call('game.setReady', { ready: i % 2 === 0 });
      await within(ib.next('game.playerUpdated', (e) => e.player.userId === b.userId), 5000, `B's ready toggle ${i}`);
    }
    // n3 stays in the cluster through several heartbeats (250 ms in tests): its entry in the member set, whose
    // expiry each poll moves on (Redis time), is refreshed a second later. Read from Redis itself: asking a node
    // through its admin API would send it messages.
    const expiryOfN3 = async () => {
      const raw = await onServers(c, (r) => r.hget(`${c.prefix}:{nodes}`, n3!.id).catch(() => null));
      return Number(raw.find((v) => v !== null)?.split('|')[0] ?? 0);
    };
    const [t] = await onServers(c, (r) => r.time());
    const redisNow = Number(t![0]) * 1000 + Math.floor(Number(t![1]) / 1000);
    await eventually(async () => (await expiryOfN3()) > redisNow + 1000 + Number(TEST_ENV.FOYER_NODE_TIMEOUT_MS), 10_000, 'n3 to poll the member set a second later');
    // ... without a single message from Redis's pub/sub meanwhile.
    expect(await receivedMessages(c, 2)).toBe(before);
  });

  it("a routed command's answer, made on the caller's node from its replica, is the game as its owner has it", async () => {
    const c = cluster();
    const a = await c.guest(0, 'Ada'); // n1 owns the game
    const b = await c.guest(1, 'Ben'); // n2 routes B's commands to n1 and hears their batches
    const { game } = await a.call('game.create', { name: 'Answered on n2', gameType: 'answer', maxPlayers: 2, password: 'open sesame' });
    const joined = await b.call('game.join', { gameId: game.id, password: 'open sesame' });
    expect(joined.game).toEqual((await a.call('game.current', {})).game);
    expect(joined.game).toMatchObject({ hasPassword: true, players: [{ userId: a.userId }, { userId: b.userId }] });
    for (const ready of [true, false]) {
      await b.call('game.setReady', { ready });
      // Answered once n2's replica has the change: what B reads next (from n2) has it, as n1 has it.
      const { game: there } = await b.call('game.current', {});
      expect(there!.players.find((p) => p.userId === b.userId)!.ready).toBe(ready);
      expect(there).toEqual((await a.call('game.current', {})).game);
    }
  });

  it('a node listens on a party\'s channel only while a session there needs it; the owner does not need to', async () => {
    const c = cluster();
    const a = await c.guest(0, 'Ida'); // n1: invites, so n1 owns the party
    const b = await c.guest(1, 'Ivo'); // n2
    const cc = await c.guest(2, 'Ina'); // n3
    const ib = new Inbox(b, PARTY_EVENTS);
    const ic = new Inbox(cc, PARTY_EVENTS);
    const invite = (to: LobbyClient) => retrying(() => a.call('party.invite', { userId: to.userId! }), 5000, ['USER_OFFLINE']);

    const { party } = await invite(b);
    const entity = `party:${party.id}`;
    await within(ib.next('party.invited', (e) => e.partyId === party.id), 5000, 'B invited');
    // n2 holds it for its invitee; n3 has nobody in it and hears none of its batches; n1 owns it and needs no channel.
    await eventually(async () => (await listeners(c, entity)) === 1, 5000, 'only n2 listens');
    await b.call('party.accept', { partyId: party.id });
    expect(await listeners(c, entity)).toBe(1);

    await invite(cc);
    await within(ic.next('party.invited', (e) => e.partyId === party.id), 5000, 'C invited');
    // The invite is there on C's own node when C acts on it.
    expect((await cc.call('party.current', {})).invites.map((i) => i.partyId)).toEqual([party.id]);
    await cc.call('party.accept', { partyId: party.id });
    expect(await listeners(c, entity)).toBe(2);

    // The last session on n3 that needed it leaves: n3 stops listening (after a short linger).
    await cc.call('party.leave', {});
    await eventually(async () => (await listeners(c, entity)) === 1, 10_000, 'n3 stops listening');
    await b.call('party.leave', {});
    await eventually(async () => (await listeners(c, entity)) === 0, 10_000, 'n2 stops listening');
    await c.checkInvariants();
  });

  it('an invitee whose session moves to a node that never held the party finds the invite there: snapshot, party.current, accept', async () => {
    const c = cluster();
    const a = await c.guest(0, 'Ada'); // n1 invites: owns the party
    const b = await c.guest(1, 'Bea', { reconnect: false }); // n2 holds it for B's invite (and does not come back when replaced)
    const ib = new Inbox(b, PARTY_EVENTS);
    const { party } = await retrying(() => a.call('party.invite', { userId: b.userId! }), 5000, ['USER_OFFLINE']);
    await within(ib.next('party.invited', (e) => e.partyId === party.id), 5000, 'B invited on n2');
    expect(await listeners(c, `party:${party.id}`)).toBe(1);

    // B's session resumes on n3 (a reload there, say): new on n3, so every stream of it is resynced.
    const moved = c.client(2, 'Bea on n3', { url: c.nodes[2]!.url, token: b.token!, positions: b.positions(), reconnect: false });
    const mirror = new LobbyMirror(moved);
    const resumed = nextState(moved, 'resynced', 'resumed', 'connected', 'closed');
    await moved.connect();
    expect((await within(resumed, 5000, 'B resumes on n3')).state).toBe('resynced');
    // The user snapshot shows the invite, as does party.current: n3 read B's invite record and holds the party.
    await eventually(() => mirror.state.party.invites.some((i) => i.partyId === party.id), 5000, 'the invite in B\'s mirror on n3');
    expect((await moved.call('party.current', {})).invites.map((i) => i.partyId)).toEqual([party.id]);
    await moved.call('party.accept', { partyId: party.id });
    expect((await a.call('party.current', {})).party?.members.map((m) => m.userId)).toEqual([a.userId, b.userId]);
    // B leaves: a party of its leader alone, with no invites, ends.
    await moved.call('party.leave', {});
  });

  it('a node listens on a game\'s channel only while a player or spectator there needs it, and the list still shows it everywhere', async () => {
    const c = cluster();
    const watchers = await c.watchers();
    const a = await c.guest(0, 'Gus'); // n1 creates: owns the game
    const b = await c.guest(1, 'Gil'); // n2 joins
    const cc = await c.guest(2, 'Gia'); // n3 watches, then leaves
    const { game } = await a.call('game.create', { name: 'Interest', gameType: 'interest', maxPlayers: 4 });
    const entity = `game:${game.id}`;
    await listedEverywhere(watchers, game.id);
    // Listed on every node, held by none but its owner.
    expect(await listeners(c, entity)).toBe(0);
    await b.call('game.join', { gameId: game.id });
    expect(await listeners(c, entity)).toBe(1);
    await cc.call('game.join', { gameId: game.id, spectate: true });
    expect(await listeners(c, entity)).toBe(2);
    // Ready toggles reach the spectator on n3 through the game's own channel.
    const ic = new Inbox(cc, ['game.playerUpdated']);
    await b.call('game.setReady', { ready: true });
    await within(ic.next('game.playerUpdated', (e) => e.player.userId === b.userId && e.player.ready), 5000, 'the spectator on n3 sees B ready');
    await cc.call('game.leave', {});
    await eventually(async () => (await listeners(c, entity)) === 1, 10_000, 'n3 stops listening');
    await b.call('game.leave', {});
    await eventually(async () => (await listeners(c, entity)) === 0, 10_000, 'n2 stops listening');
    await a.call('game.leave', {});
    await c.checkInvariants();
  });

  it('a subscriber connection cut under traffic: the member there ends with the owner\'s party, every gap noticed', async () => {
    const c = cluster();
    const [, n2] = c.nodes;
    const a = await c.guest(0, 'Kai'); // n1 owns the party
    const b = await c.guest(1, 'Kim'); // n2: its subscriber is cut
    const mirror = new LobbyMirror(b);
    const ib = new Inbox(b, PARTY_EVENTS);
    const { party } = await retrying(() => a.call('party.invite', { userId: b.userId! }), 5000, ['USER_OFFLINE']);
    await within(ib.next('party.invited', (e) => e.partyId === party.id), 5000, 'invited');
    await mirror.call('party.accept', { partyId: party.id });

    let cut = 0;
    for (let i = 0; i < 60; i++) {
      await a.call('party.setAttributes', { attributes: { round: i } });
      if (i === 15) cut = await cutSubscriber(c, n2!.id, `party:${party.id}`);
    }
    expect(cut).toBeGreaterThan(0);
    const owner = (await a.call('party.current', {})).party!;
    expect(owner.members.find((m) => m.userId === a.userId)?.attributes).toEqual({ round: 59 });
    await eventually(() => mirror.state.party.party?.version === owner.version && !mirror.state.party.stale, 15_000, 'B\'s mirror reaches the owner\'s version');
    expect(mirror.state.party.party).toEqual(owner);
    await c.checkInvariants();
  });

  it('a session that just moved to another node and joins another game there at once leaves its old game first', async () => {
    const c = cluster();
    // G1 is held on n1 (its owner), where X plays; n2 owns G2 and knows nothing of G1.
    const w = await c.guest(0, 'Wes');
    const x = c.client(0, 'Xia');
    await x.connect();
    const name = `Xia-${Date.now().toString(36)}`;
    await x.call('auth.register', { name, password: 'moving house' });
    const y = await c.guest(1, 'Yan');
    const { game: g1 } = await w.call('game.create', { name: 'Old', gameType: 'moved', maxPlayers: 4 });
    await x.call('game.join', { gameId: g1.id });
    const { game: g2 } = await y.call('game.create', { name: 'New', gameType: 'moved', maxPlayers: 4 });
    const iw = new Inbox(w, ['game.playerLeft']);

    // X's session moves to n2 (a login there takes it over) and its first request, in the same breath, joins G2:
    // n2 has not read X's game record yet, and must before it seats X elsewhere. Sent without waiting for the
    // login's answer (the SDK waits for it; a client need not), so the join runs the moment the login is done; a
    // password login reads the account, so the join needs no storage call either (the level and rating come with it).
    const raw = new RawClient(`${c.nodes[1]!.url}?v=2`);
    try {
      raw.send({ id: 1, op: 'auth.login', data: { name, password: 'moving house' } });
      raw.send({ id: 2, op: 'game.join', data: { gameId: g2.id } });
      expect((await raw.next((f) => f.re === 1)).error).toBeUndefined();
      const joined = await raw.next((f) => f.re === 2);
      expect(joined.error).toBeUndefined();
      expect(joined.data.game.players.map((p: { userId: string }) => p.userId)).toEqual([y.userId, x.userId]);
      // Left G1 before the join answered: never seated in two games.
      expect((await w.call('game.current', {})).game!.players.map((p) => p.userId)).toEqual([w.userId]);
      expect(await within(iw.next('game.playerLeft', (e) => e.userId === x.userId), 5000, 'W to see X leave')).toMatchObject({ reason: 'joinedAnother' });
    } finally {
      raw.close();
    }
  });

  it('failover right after an answered join: the successor rebuilds the game and the party with the newcomer', async () => {
    const c = cluster();
    const [n1] = c.nodes;
    const a = await c.guest(0, 'Lea'); // n1: owns the game and the party
    const b = await c.guest(1, 'Lou'); // n2
    const { game } = await a.call('game.create', { name: 'Brink', gameType: 'brink', maxPlayers: 4 });
    const { party } = await retrying(() => a.call('party.invite', { userId: b.userId! }), 5000, ['USER_OFFLINE']);
    await retrying(() => b.call('party.accept', { partyId: party.id }), 5000, ['INVITE_NOT_FOUND']);
    const aBack = nextState(a, 'resynced', 'resumed', 'connected', 'closed');
    const joined = await b.call('game.join', { gameId: game.id });
    expect(joined.game.players.map((p) => p.userId)).toContain(b.userId);
    // Answered: the owner dies at once, before anything else could happen.
    await n1!.kill('SIGKILL');
    await within(aBack, 15_000, 'A back on another node');

    for (const x of [a, b]) {
      const cur = await retrying(() => x.call('game.current', {}), 15_000);
      expect(cur.game?.players.map((p) => p.userId).sort(), `game.current of ${x.userId}`).toEqual([a.userId, b.userId].sort());
      const p = await retrying(() => x.call('party.current', {}), 15_000);
      expect(p.party?.members.map((m) => m.userId), `party.current of ${x.userId}`).toEqual([a.userId, b.userId]);
    }
    // The successor owns them: they take commands again.
    await retrying(() => b.call('game.setReady', { ready: true }), 15_000);
    await retrying(() => b.call('party.setAttributes', { attributes: { after: 1 } }), 15_000);
  });
});
