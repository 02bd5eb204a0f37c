import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../server/src/gateway/connection.js';
import type { Gateway } from '../../server/src/gateway/gateway.js';
import { TokenBucket } from '../../server/src/gateway/rateLimit.js';
import type { Conn } from '../../server/src/transport/index.js';
import { Session } from '../../server/src/gateway/session.js';
import { SLOW_CHECK_MS, Stream, StreamHub } from '../../server/src/gateway/streams.js';

describe('TokenBucket', () => {
  it('allows the burst at once, then refills at the rate', () => {
    const b = new TokenBucket(3, 2, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(400)).toBe(false); // 0.8 of a token
    expect(b.take(500)).toBe(true); // 1.0
    expect(b.take(10_000)).toBe(true);
    expect([b.take(10_000), b.take(10_000), b.take(10_000)]).toEqual([true, true, false]); // never above capacity
  });
});

/** The epoch of the stream `published` made last. */
let E1 = '';

/** A stream that published `frames` (offsets 1..n), keeping at most `maxFrames` / `maxBytes` of them. */
function published(frames: string[], maxFrames: number, maxBytes: number): Stream {
  const st = new Stream('user:u');
  E1 = st.epoch;
  for (const f of frames) {
    st.offset++;
    st.remember(f, maxFrames, maxBytes);
  }
  return st;
}

describe('Stream history', () => {
  it('replays what came after a position of its epoch', () => {
    const st = published(['f1', 'f2', 'f3', 'f4', 'f5'], 10, 1000);
    expect(st.covers(E1, 2)).toBe(true);
    expect(st.since(2)).toEqual(['f3', 'f4', 'f5']);
    expect(st.since(5)).toEqual([]);
    expect(st.covers(E1, 0)).toBe(true);
    expect(st.since(0)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
  });

  it('does not cover another epoch, a position ahead of it, or one whose frames were evicted', () => {
    const st = published(['f1', 'f2', 'f3', 'f4', 'f5'], 3, 1000);
    expect(st.covers(new Stream('user:u').epoch, 4)).toBe(false);
    expect(st.covers(E1, 6)).toBe(false);
    expect(st.covers(E1, 1)).toBe(false);
    expect(st.covers(E1, 2)).toBe(true);
    expect(st.since(2)).toEqual(['f3', 'f4', 'f5']);
  });

  it('is bounded by bytes as well as by count, and keeps no array while empty', () => {
    const st = published(['aaaa', 'bbbb', 'cccc'], 100, 10);
    expect(st.kept).toBe(2);
    expect(st.since(1)).toEqual(['bbbb', 'cccc']);
    expect(st.covers(E1, 0)).toBe(false);
    expect(new Stream('user:v').kept).toBe(0);
  });

  it('forgets its history at the second age() without a frame in between, keeping its position', () => {
    const st = published(['f1', 'f2'], 10, 1000);
    st.age(); // published on since the last call: kept
    expect(st.kept).toBe(2);
    st.offset++;
    st.remember('f3', 10, 1000);
    st.age();
    expect(st.since(0)).toEqual(['f1', 'f2', 'f3']);
    st.age(); // quiet for a whole period: forgotten
    expect(st.kept).toBe(0);
    expect(st.covers(E1, 3)).toBe(true); // a client that saw everything needs nothing
    expect(st.since(3)).toEqual([]);
    expect(st.covers(E1, 2)).toBe(false); // one that missed a frame resyncs
    st.offset++;
    st.remember('f4', 10, 1000);
    expect(st.covers(E1, 3)).toBe(true);
    expect(st.since(3)).toEqual(['f4']);
  });

  it('never replays a gap: what it covers it replays completely (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 5, max: 200 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 300 }), fc.nat({ max: 320 }), (maxFrames, maxBytes, frames, from) => {
        const st = published(frames.map((f, i) => `${i + 1}:${f}`), maxFrames, maxBytes);
        if (!st.covers(E1, from)) return;
        const out = st.since(from);
        expect(out.length).toBe(frames.length - from);
        out.forEach((f, i) => expect(f.startsWith(`${from + i + 1}:`)).toBe(true));
      }),
    );
  });
});

describe('StreamHub: a quiet user stream put away', () => {
  afterEach(() => void vi.useRealTimers());
  /** A hub with one session here, receiving its own stream and a game's; `frames`: what reaches the session's socket. */
  function hub() {
    const sessions = new Map<string, Session>();
    const h = new StreamHub({ events: 100, bytes: 1_000_000 }, () => {}, sessions);
    const frames: string[] = [];
    const s = new Session('u1', 'Ann');
    s.link = { subscribed: () => {}, unsubscribed: () => {}, deliver: (f) => void frames.push(f) };
    sessions.set('u1', s);
    h.subscribe(s, 'user:u1');
    h.subscribe(s, 'game:g1');
    return { h, s, frames };
  }
  const offsetOf = (frame: string) => JSON.parse(frame).offset as number;

  it('goes on as it was when taken out again: same epoch, the next offset, no history; games stay', () => {
    vi.useFakeTimers();
    const { h, s, frames } = hub();
    const user = h.get('user:u1')!;
    const epoch = user.epoch;
    h.publishEncoded('user:u1', 'server.notice', '{"text":"a"}');
    h.publishEncoded('user:u1', 'server.notice', '{"text":"b"}');
    vi.advanceTimersByTime(SLOW_CHECK_MS); // its slow-reader check is done
    h.forgetQuiet(); // published on since the last call: kept
    expect(h.get('user:u1')).toBe(user);
    h.forgetQuiet(); // quiet: history forgotten, the stream put away
    h.forgetQuiet();
    expect(h.size).toBe(1); // the game's stream only
    expect(s.streams).toEqual(['user:u1', 'game:g1']);
    expect(h.positions(s)).toEqual([
      { stream: 'user:u1', offset: 2, epoch },
      { stream: 'game:g1', offset: 0, epoch: h.get('game:g1')!.epoch },
    ]);
    const again = h.get('user:u1')!;
    expect(again).not.toBe(user);
    expect(again.covers(epoch, 2)).toBe(true);
    expect(again.covers(epoch, 1)).toBe(false); // what a forgotten history could not replay either
    h.forgetQuiet();
    h.publishEncoded('user:u1', 'server.notice', '{"text":"c"}');
    expect(frames.map(offsetOf)).toEqual([1, 2, 3]);
    expect(JSON.parse(frames[2]!).epoch).toBe(epoch);
  });

  it('is not made again for a session that is gone, nor for a user without one here', () => {
    const { h, s } = hub();
    h.forgetQuiet();
    expect(h.size).toBe(1);
    h.unsubscribeAll(s);
    expect(h.get('user:u1')).toBeUndefined();
    expect(h.get('user:u2')).toBeUndefined();
    h.publishEncoded('user:u2', 'server.notice', '{"text":"x"}');
    expect(h.size).toBe(0);
  });
});

describe('Connection at rest', () => {
  /** A connection on a stand-in gateway (only its config is read) and a socket that does nothing. */
  function connection(): Connection {
    const gw = { deps: { config: { rateLimitBurst: 3, rateLimitPerSec: 1, rateLimitStrikes: 2, heartbeatIntervalMs: 1000, authTimeoutMs: 1000 } } } as unknown as Gateway;
    const conn: Conn = { ip: '127.0.0.1', send: () => true, deliver: () => {}, bufferedAmount: () => 0, cork: (fn) => fn(), subscribe: () => {}, unsubscribe: () => {}, ping: () => {}, close: () => {} };
    return new Connection(gw, conn);
  }

  it('keeps a rate limit that is not full again, and lets a full one go: the same as a fresh one', () => {
    const c = connection();
    expect([c.take(0), c.take(0), c.take(0), c.take(0)]).toEqual([true, true, true, false]);
    c.rest(500); // half a token back: kept
    expect(c.take(500)).toBe(false);
    c.rest(3000); // full again: let go
    expect([c.take(3000), c.take(3000), c.take(3000), c.take(3000)]).toEqual([true, true, true, false]);
  });

  it('keeps nothing of its requests once its bucket is full again and its lanes idle (one field, not four)', async () => {
    const c = connection();
    const held = () => (c as unknown as { busy: unknown }).busy;
    expect(held()).toBeUndefined();
    c.take(0);
    c.enqueue(() => Promise.resolve());
    await c.idle();
    c.rest(500); // the bucket is not full yet: kept
    expect(held()).toBeDefined();
    c.rest(3000);
    expect(held()).toBeUndefined();
  });

  it('lets an idle lane go and keeps a busy one: requests still run in order', async () => {
    const c = connection();
    const ran: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    c.enqueue(() => gate.then(() => void ran.push(1)));
    c.rest(0); // the first request is still running
    c.enqueue(() => void ran.push(2));
    expect(ran).toEqual([]);
    release();
    await c.idle();
    expect(ran).toEqual([1, 2]);
    c.rest(0); // idle: let go; the next request runs at once
    c.enqueue(() => void ran.push(3));
    expect(ran).toEqual([1, 2, 3]);
  });
});
