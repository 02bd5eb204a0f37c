import { GameServerApi, GameServerApiError, type LobbyClient } from '@foyer/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const SERVER_SECRET = 'test-game-server-secret-0123456789';
/** Short, so the deadline test waits for it; long enough for the other tests to use keys well before it. */
const CONFIRM_TIMEOUT_MS = 4000;

/** The refusal `p` ends in: status and code. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string | undefined }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GameServerApiError) return { status: err.status, code: err.code };
    throw err;
  }
  throw new Error('not refused');
}

describe('game-server API: session keys (GameServerApi against a live node)', () => {
  let t: TestNode;
  let api: GameServerApi;
  beforeAll(async () => {
    t = await startTestNode({ serverSecret: SERVER_SECRET, confirmTimeoutMs: CONFIRM_TIMEOUT_MS });
    api = new GameServerApi({ url: t.httpUrl, secret: SERVER_SECRET });
  });
  afterAll(() => t.stop());

  /** A started game of `names.length` players, the first the owner; each player's key from game.sessionKey. */
  async function started(names: string[]): Promise<{ gameId: string; players: { c: LobbyClient; inbox: Inbox; key: string }[] }> {
    const clients = await Promise.all(names.map((n) => t.guest(n)));
    const inboxes = clients.map((c) => new Inbox(c, ['game.sessionKey', 'game.playerUpdated', 'game.playerLeft']));
    const { game } = await clients[0]!.call('game.create', { name: `${names[0]} room`, gameType: 'gsapi', maxPlayers: 4, teamSize: 2 });
    for (const c of clients.slice(1)) await c.call('game.join', { gameId: game.id });
    await clients[0]!.call('game.start', {});
    const keys = await Promise.all(inboxes.map((i) => i.next('game.sessionKey')));
    return { gameId: game.id, players: clients.map((c, i) => ({ c, inbox: inboxes[i]!, key: keys[i]!.sessionKey })) };
  }

  it('a key is used once: the answer names the player, game, team and slot; the player is confirmed; a second use is refused', async () => {
    const { gameId, players } = await started(['KeyAnn', 'KeyBob']);
    const [ann, bob] = players;
    const holder = await api.useSessionKey(bob!.key);
    expect(holder).toEqual({
      userId: bob!.c.userId,
      name: 'KeyBob',
      gameId,
      gameName: 'KeyAnn room',
      gameType: 'gsapi',
      teamIndex: expect.any(Number),
      slot: 2,
      confirmBy: expect.any(Number),
    });
    const seen = await ann!.inbox.next('game.playerUpdated', (d) => d.player.userId === bob!.c.userId && d.player.confirmed);
    expect(seen.player.teamIndex).toBe(holder.teamIndex);
    expect(await refusal(api.useSessionKey(bob!.key))).toEqual({ status: 409, code: 'SESSION_KEY_USED' });
    // Two game servers racing for one key: exactly one wins.
    const both = await Promise.allSettled([api.useSessionKey(ann!.key), api.useSessionKey(ann!.key)]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    // The player's own confirm in the lobby still answers (nothing to change).
    expect(await bob!.c.call('game.confirm', { sessionKey: bob!.key })).toEqual({});
    // The keys went nowhere but to their players: not into the node's log.
    expect(t.logs.join('')).not.toContain(bob!.key.split('.').pop()!);
  });

  it('refuses wrong keys (404), bodies that are not one (400), and callers without the secret (401)', async () => {
    const { players } = await started(['WrongAnn', 'WrongBob']);
    const key = players[0]!.key;
    const secretPart = key.slice(key.lastIndexOf('.') + 1);
    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    for (const wrong of [flipped, `${key}x`, secretPart, `no-such-game.${secretPart}`, players[1]!.key.slice(0, key.lastIndexOf('.') + 1)]) {
      expect(await refusal(api.useSessionKey(wrong))).toEqual({ status: 404, code: 'WRONG_SESSION_KEY' });
    }
    expect(await refusal(api.useSessionKey(''))).toEqual({ status: 400, code: undefined });
    expect(await refusal(api.useSessionKey('a\u0000b'))).toEqual({ status: 400, code: undefined });
    expect(await refusal(new GameServerApi({ url: t.httpUrl, secret: 'not-the-secret-0123456789abcdef' }).useSessionKey(key))).toEqual({ status: 401, code: undefined });
    const res = await fetch(`${t.httpUrl}/v1/session-keys/use`, { method: 'POST', body: JSON.stringify({ sessionKey: key }) });
    expect(res.status).toBe(401);
    // None of it spent the key.
    expect((await api.useSessionKey(key)).userId).toBe(players[0]!.c.userId);
  });

  it('refuses a key past the confirm deadline (410) though its player confirmed in the lobby and stays', async () => {
    const { players } = await started(['LateAnn', 'LateBob', 'LateCid']);
    const [ann, bob, cid] = players;
    await ann!.c.call('game.confirm', { sessionKey: ann!.key });
    await bob!.c.call('game.confirm', { sessionKey: bob!.key });
    // Cid never confirms: the deadline removes Cid, and that event tells us the deadline has passed.
    const left = await ann!.inbox.next('game.playerLeft', (d) => d.userId === cid!.c.userId);
    expect(left.reason).toBe('unconfirmed');
    expect(await refusal(api.useSessionKey(ann!.key))).toEqual({ status: 410, code: 'SESSION_KEY_EXPIRED' });
    expect(await refusal(api.useSessionKey(cid!.key))).toEqual({ status: 404, code: 'WRONG_SESSION_KEY' });
    expect((await ann!.c.call('game.current', {})).game?.players.map((p) => p.userId)).toEqual([ann!.c.userId, bob!.c.userId]);
  }, 20_000);

  it('reportResults and endGame through the same helper', async () => {
    const { gameId, players } = await started(['EndAnn', 'EndBob']);
    const ids = players.map((p) => p.c.userId!);
    const r = await api.reportResults(`m-${gameId}`, { gameType: 'gsapi', teams: [{ rank: 1, players: [ids[0]!] }, { rank: 2, players: [ids[1]!] }] });
    expect(r).toMatchObject({ matchId: `m-${gameId}`, replayed: false });
    const winner = r.players.find((p) => p.userId === ids[0])!;
    expect(winner.ratingAfter.mu).toBeGreaterThan(winner.ratingBefore.mu);
    const ended = new Inbox(players[1]!.c, ['game.ended']);
    await api.endGame(gameId);
    expect((await ended.next('game.ended', (d) => d.gameId === gameId)).reason).toBe('ended');
    expect(await refusal(api.endGame(gameId))).toEqual({ status: 404, code: undefined });
  });
});
