import { describe, expect, it, vi } from 'vitest';
import { BusDown, LocalBus, LocalHub } from '../../server/src/cluster/bus.js';
import { TickReads } from '../../server/src/cluster/tickReads.js';

describe('TickReads', () => {
  it('reads what every caller asks for in one tick in one readAll, each key once, and answers each caller with its own', async () => {
    const bus = new LocalBus(new LocalHub());
    await bus.set('{user:u}:game', 'g1');
    await bus.setAdd('{user:u}:party:invites', 'p1');
    const reads = vi.spyOn(bus, 'readAll');
    const r = new TickReads(bus);

    // As three services do when a session opens: separate calls, one tick.
    const [game, party, invites, again, many] = await Promise.all([
      r.get('{user:u}:game'),
      r.get('{user:u}:party'),
      r.members('{user:u}:party:invites'),
      r.get('{user:u}:game'),
      r.getMany(['{user:u}:queue', '{user:u}:game']),
    ]);
    expect([game, party, invites, again, many]).toEqual(['g1', null, ['p1'], 'g1', [null, 'g1']]);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(reads.mock.calls[0]![0]).toEqual([{ key: '{user:u}:game' }, { key: '{user:u}:party' }, { key: '{user:u}:party:invites', members: true }, { key: '{user:u}:queue' }]);

    // The next tick is a read of its own.
    expect(await r.get('{user:u}:game')).toBe('g1');
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it("fails every caller of the tick when the read fails, and reads again at the next", async () => {
    const bus = new LocalBus(new LocalHub());
    const readAll = vi.spyOn(bus, 'readAll').mockRejectedValueOnce(new BusDown());
    const r = new TickReads(bus);
    const results = await Promise.allSettled([r.get('a'), r.members('b')]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(BusDown);
    expect(await r.get('a')).toBeNull();
    expect(readAll).toHaveBeenCalledTimes(2);
  });
});
