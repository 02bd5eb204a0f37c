import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LobbyClient, WebSocketConstructor } from '@foyer/client-sdk';
import { Inbox } from '../helpers/events.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** The measured client connects from its own loopback address, so its connection is the only one from there. */
const SOURCE = '127.0.0.2';
class FromSource extends WebSocket {
  constructor(url: string) {
    super(url, { localAddress: SOURCE });
  }
}

/**
 * TCP data segments the node has sent on its connection to SOURCE, as the
 * kernel counts them (ss, from iproute2). The node's sockets have Nagle off
 * (TCP_NODELAY), so each write of a small frame is one segment: requests
 * made one at a time show how many writes each one's frames took.
 */
function segmentsTo(port: number): number {
  let out: string;
  try {
    out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`, 'dst', SOURCE], { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`this test reads the kernel's TCP counters with ss (Debian package iproute2): ${String(err)}`);
  }
  const counts = [...out.matchAll(/data_segs_out:(\d+)/g)].map((m) => Number(m[1]));
  // One connection, which has sent something (its login reply at least).
  expect(counts).toHaveLength(1);
  return counts[0]!;
}

// Frames due to one socket in the same turn leave in one write: a chat line's sender gets the reply and its own
// copy of the line together. Removing the corking (ws: publish()'s cork of each subscriber's socket; uws: the
// sender's copy sent into its cork instead of left to uWS's topic drain) makes this fail with two segments each.
describe('corking: one write per socket per turn', () => {
  let t: TestNode;
  let sender: LobbyClient;
  let inbox: Inbox;

  beforeAll(async () => {
    // No heartbeat ping during the test: it would be a segment of its own.
    t = await startTestNode({ logLevel: 'warn', chatBurst: 100, chatPerSec: 100, heartbeatIntervalMs: 120_000, heartbeatTimeoutMs: 240_000 });
    sender = await t.guest('Corked', { WebSocket: FromSource as unknown as WebSocketConstructor });
    inbox = new Inbox(sender, ['chat.message', 'game.playerJoined']);
    const other = await t.guest('Other');
    const { game } = await sender.call('game.create', { name: 'Cork', gameType: 'cork' });
    // Two subscribers on the game's stream, as in any real game: uWS's topic drain then writes each one's copy apart.
    await other.call('game.join', { gameId: game.id });
    await inbox.next('game.playerJoined');
  });
  afterAll(() => t?.stop());

  it("a chat line's reply and the sender's own copy of it leave in one write", async () => {
    const lines = 10;
    const before = segmentsTo(t.node.port);
    for (let i = 0; i < lines; i++) {
      const text = `line ${i}`;
      await Promise.all([sender.call('chat.send', { channel: 'game', text }), inbox.next('chat.message', (d) => d.text === text)]);
    }
    expect(segmentsTo(t.node.port) - before).toBe(lines);
  });
});
