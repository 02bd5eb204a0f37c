import type { LobbyClient } from '@foyer/client-sdk';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/events.js';
import { eventually, useCluster, within, type TestNode } from '../helpers/cluster.js';

const cluster = useCluster();

interface QueueDetail {
  name: string;
  ownerNode: string | null;
  tickets: number;
  list: { id: string; players: { userId: string }[] }[];
}

async function queuesSeenBy(node: TestNode): Promise<QueueDetail[]> {
  const res = await node.admin('GET', '/admin/queues');
  expect(res.status).toBe(200);
  return (res.body as { detail: QueueDetail[] }).detail;
}

async function metricsOf(node: TestNode): Promise<string> {
  const res = await fetch(`${node.http}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Queue traffic a node received from the others: queue and ticket messages, and personal events (its sessions' mm.status). */
function queueMessages(metrics: string): number {
  let n = 0;
  for (const m of metrics.matchAll(/^foyer_cluster_messages_total\{kind="([^"]+)"\} (\d+)$/gm)) if (/^(queue\.|mm\.|user\.event$)/.test(m[1]!)) n += Number(m[2]);
  return n;
}

const current = async (c: LobbyClient) => (await c.call('mm.current', {})).ticket;

describe('cluster: a queue is held by its owner alone', () => {
  it("an idle node gets no queue traffic while players queue through another node; mm.current and mm.status work off the owner, and after it drains", async () => {
    const c = cluster();
    // Which node owns the duel queue: every node's admin view names the same one.
    const duelOwner = (await queuesSeenBy(c.nodes[0]!)).find((q) => q.name === 'duel')!.ownerNode;
    expect(duelOwner).toBeTruthy();
    const o = c.nodes.findIndex((n) => n.id === duelOwner);
    const home = c.nodes[(o + 1) % 3]!;
    const idle = c.nodes[(o + 2) % 3]!;
    for (const n of c.nodes) expect((await queuesSeenBy(n)).find((q) => q.name === 'duel')!.ownerNode).toBe(duelOwner);

    const before = queueMessages(await metricsOf(idle));
    const d = await c.guest(home.index, 'Dan');
    const e = await c.guest(home.index, 'Eve');
    const id = new Inbox(d, ['mm.status']);
    const ie = new Inbox(e, ['mm.status']);

    // Queued through a node that does not own the queue: the reply, mm.current and mm.status all reach it.
    const td = await d.call('mm.join', { queue: 'duel' });
    expect(td.status).toBe('queued');
    expect(await current(d)).toMatchObject({ ticketId: td.ticketId, queue: 'duel', status: 'queued' });
    const te = await e.call('mm.join', { queue: 'duel' });
    const foundD = await within(id.next('mm.status', (s) => s.status === 'found'), 10_000, 'Dan gets a match');
    await within(ie.next('mm.status', (s) => s.status === 'found'), 10_000, 'Eve gets a match');
    expect(await current(d)).toMatchObject({ ticketId: td.ticketId, status: 'found', match: { matchId: foundD.match!.matchId } });

    // Dan cancels: his ticket ends, Eve's goes back to the queue.
    await d.call('mm.cancel', {});
    await within(id.next('mm.status', (s) => s.status === 'cancelled'), 5000, 'Dan cancelled');
    await within(ie.next('mm.status', (s) => s.status === 'queued' && s.ticketId === te.ticketId), 5000, 'Eve requeued');
    expect(await current(d)).toBeNull();
    expect(await current(e)).toMatchObject({ ticketId: te.ticketId, status: 'queued' });

    // The idle node heard none of it, holds no queue, and still sees the whole cluster's queues in its admin view.
    expect(queueMessages(await metricsOf(idle))).toBe(before);
    expect(await metricsOf(idle)).not.toMatch(/^foyer_mm_queued_players\{queue="duel"\}/m);
    expect(await metricsOf(c.nodes[o]!)).toMatch(/^foyer_mm_queued_players\{queue="duel"\} 1$/m);
    const seenIdle = (await queuesSeenBy(idle)).find((q) => q.name === 'duel')!;
    expect(seenIdle.ownerNode).toBe(duelOwner);
    expect(seenIdle.list.map((t) => t.id)).toEqual([te.ticketId]);
    // The stats count the owner's players too (asked without the ticket list).
    expect((await idle.admin('GET', '/admin/stats')).body).toMatchObject({ queues: { duel: 1 }, inMatchmaking: 1 });
    const userView = await idle.admin('GET', `/admin/users/${encodeURIComponent(e.userId!)}`);
    expect(userView.body).toMatchObject({ queue: 'duel', ticket: { ticketId: te.ticketId, queue: 'duel' } });

    // The owner drains: its successor rebuilds the queue from the stored snapshot, and Eve's ticket is still there.
    expect(await c.nodes[o]!.drain()).toBe(202);
    await eventually(async () => {
      const q = (await queuesSeenBy(home)).find((x) => x.name === 'duel')!;
      return q.ownerNode !== null && q.ownerNode !== duelOwner;
    }, 10_000, 'another node owns the duel queue');
    expect(await current(e)).toMatchObject({ ticketId: te.ticketId, status: 'queued' });
    expect((await queuesSeenBy(home)).find((q) => q.name === 'duel')!.list.map((t) => t.id)).toEqual([te.ticketId]);

    // Queueing again goes to the new owner; both are matched, accept, and get their game.
    const again = await d.call('mm.join', { queue: 'duel' });
    expect(again.status).toMatch(/^(queued|found)$/);
    await within(id.next('mm.status', (s) => s.status === 'found' && s.ticketId === again.ticketId), 10_000, 'Dan matched again');
    await within(ie.next('mm.status', (s) => s.status === 'found'), 10_000, 'Eve matched again');
    await Promise.all([d.call('mm.accept', {}), e.call('mm.accept', {})]);
    const readyD = await within(id.next('mm.status', (s) => s.status === 'ready'), 10_000, 'Dan ready');
    const readyE = await within(ie.next('mm.status', (s) => s.status === 'ready'), 10_000, 'Eve ready');
    expect(readyD.gameId).toBeTruthy();
    expect(readyE.gameId).toBe(readyD.gameId);
    expect(await current(d)).toBeNull();
    await c.checkInvariants();
  });
});
