import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { LocalBus, LocalHub } from '../../server/src/cluster/bus.js';
import { Liveness, memberValue } from '../../server/src/cluster/membership.js';

/*
 * The death rule of membership.ts, on a fake clock: node A's view while
 * polls succeed, fail, and the member set is lost and refilled.
 */

const TIMEOUT = 1000;
const TICK = 100;
const set = (...members: [string, boolean?][]) => new Map(members.map(([m, draining]) => [m, memberValue(!!draining)]));

/** A's view with B and C listed, after a full window of successful polls from t=0. */
function steadyView(): Liveness {
  const live = new Liveness('A', TIMEOUT);
  expect(live.read(0, 3, set(['A'], ['B'], ['C']))).toEqual({ joined: ['B', 'C'], gone: [] });
  for (let t = TICK; t <= TIMEOUT; t += TICK) expect(live.steady(t).gone).toEqual([]);
  return live;
}

describe('membership: who is alive', () => {
  it('a poll whose version is the one last read needs no read; a new version, or this node missing from the set, does', () => {
    const live = steadyView();
    expect(live.stale({ version: 3, added: false })).toBe(false);
    expect(live.stale({ version: 4, added: false })).toBe(true);
    expect(live.stale({ version: 3, added: true })).toBe(true);
    // A failed poll: the next answer is read in full whatever its version (Redis may have lost the set and counted anew to the same number).
    live.failed();
    expect(live.stale({ version: 3, added: false })).toBe(true);
  });

  it('a peer gone from the set (it stopped polling) is judged gone at the read that misses it', () => {
    const live = steadyView();
    expect(live.read(1100, 4, set(['A'], ['C']))).toEqual({ joined: [], gone: ['B'] });
    expect([...live.peers.keys()]).toEqual(['C']);
    expect(live.peers.get('C')!.lastSeen).toBe(1100);
  });

  it('after the set was lost, a peer missing from it is not judged before a full window of successful polls; one that adds itself again stays', () => {
    const live = steadyView();
    // Redis restarts empty: polls fail for a while.
    live.failed();
    live.failed();
    // The first successful poll finds the set with A alone (A just added itself): B and C are not judged yet.
    expect(live.read(5000, 1, set(['A']))).toEqual({ joined: [], gone: [] });
    expect(live.steady(5000 + TICK).gone).toEqual([]);
    // B adds itself again within a tick; C (killed during the outage) never does.
    expect(live.read(5000 + 2 * TICK, 2, set(['A'], ['B']))).toEqual({ joined: [], gone: [] });
    for (let t = 5000 + 3 * TICK; t < 5000 + TIMEOUT; t += TICK) expect(live.steady(t).gone, `at ${t}`).toEqual([]);
    // A full window of successful polls: C is gone, B stays.
    expect(live.steady(5000 + TIMEOUT).gone).toEqual(['C']);
    expect([...live.peers.keys()]).toEqual(['B']);
  });

  it('a failed poll starts the window again: nobody is judged on what could not be seen', () => {
    const live = steadyView();
    live.failed();
    expect(live.read(2000, 1, set(['A']))).toEqual({ joined: [], gone: [] });
    // Polls fail again (CLUSTERDOWN while the slots come back) just before the window is full.
    expect(live.steady(2000 + TIMEOUT - TICK).gone).toEqual([]);
    live.failed();
    expect(live.read(2000 + TIMEOUT + TICK, 2, set(['A'], ['B']))).toEqual({ joined: [], gone: [] });
    expect(live.steady(2000 + 2 * TIMEOUT).gone).toEqual([]);
    // A whole window since the last failure: C, still missing, is gone.
    expect(live.steady(2000 + 2 * TIMEOUT + TICK).gone).toEqual(['C']);
  });

  it('a peer whose entry changes is updated (draining); one new in the set joins', () => {
    const live = steadyView();
    expect(live.read(1100, 4, set(['A'], ['B', true], ['C'], ['D']))).toEqual({ joined: ['D'], gone: [] });
    expect(live.peers.get('B')!.draining).toBe(true);
    expect(live.peers.get('C')!.draining).toBe(false);
    expect(live.peers.get('D')).toEqual({ draining: false, lastSeen: 1100, listed: true });
  });

  it('news admits a node not known, a plain message does not; news updates draining at once', () => {
    const live = steadyView();
    expect(live.heard(1050, 'D')).toBe(false);
    expect(live.peers.has('D')).toBe(false);
    expect(live.heard(1050, 'D', false)).toBe(true);
    expect(live.heard(1060, 'B', true)).toBe(false);
    expect(live.peers.get('B')).toMatchObject({ draining: true, lastSeen: 1060 });
    // D shows in the set at the next read.
    expect(live.read(1100, 4, set(['A'], ['B', true], ['C'], ['D']))).toEqual({ joined: [], gone: [] });
  });
});

describe('membership: the in-process member set', () => {
  it('a poll answers the version, which changes when a member joins, changes its entry, expires or leaves', async () => {
    // The set's clock is Date.now: faked, so B expires exactly when the test says and not one poll early.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    onTestFinished(() => void vi.useRealTimers());
    const bus = new LocalBus(new LocalHub());
    const poll = (member: string, draining = false, ttl = 60_000) => bus.poll('s', 's:v', member, memberValue(draining), ttl);
    const a1 = await poll('A');
    expect(a1.added).toBe(true);
    expect(await poll('A')).toEqual({ version: a1.version, added: false });
    const b1 = await poll('B', false, 1000);
    expect(b1.version).not.toBe(a1.version);
    const drain = await poll('A', true);
    expect(drain.version).not.toBe(b1.version);
    vi.setSystemTime(Date.now() + 1000);
    const expired = await poll('A', true);
    expect(expired.version).not.toBe(drain.version);
    expect(await bus.roster('s', 's:v')).toEqual({ version: expired.version, members: set(['A', true]) });
    await bus.leave('s', 'A', 's:v');
    expect((await bus.roster('s', 's:v')).version).not.toBe(expired.version);
  });
});
