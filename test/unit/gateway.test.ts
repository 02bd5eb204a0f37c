import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../server/src/gateway/rateLimit.js';
import { ReplayBuffer } from '../../server/src/gateway/replay.js';

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

describe('ReplayBuffer', () => {
  it('replays what came after lastSeq', () => {
    const r = new ReplayBuffer(10, 1000);
    for (let s = 1; s <= 5; s++) r.push(s, `f${s}`);
    expect(r.since(2, 5)).toEqual(['f3', 'f4', 'f5']);
    expect(r.since(5, 5)).toEqual([]);
  });

  it('forgets acknowledged frames: a resume from the ack replays the rest, one from before it resyncs', () => {
    const r = new ReplayBuffer(10, 1000);
    for (let s = 1; s <= 5; s++) r.push(s, `f${s}`);
    r.ack(3);
    expect(r.since(3, 5)).toEqual(['f4', 'f5']);
    expect(r.since(2, 5)).toBeUndefined();
    r.ack(5);
    expect(r.since(5, 5)).toEqual([]);
    r.push(6, 'f6');
    expect(r.since(5, 6)).toEqual(['f6']);
  });

  it('asks for a resync once the needed frames were evicted, or lastSeq is ahead', () => {
    const r = new ReplayBuffer(3, 1000);
    for (let s = 1; s <= 5; s++) r.push(s, `f${s}`);
    expect(r.since(1, 5)).toBeUndefined();
    expect(r.since(2, 5)).toEqual(['f3', 'f4', 'f5']);
    expect(r.since(6, 5)).toBeUndefined();
  });

  it('is bounded by bytes as well as by count', () => {
    const r = new ReplayBuffer(100, 10);
    r.push(1, 'aaaa');
    r.push(2, 'bbbb');
    r.push(3, 'cccc');
    expect(r.since(1, 3)).toEqual(['bbbb', 'cccc']);
    expect(r.since(0, 3)).toBeUndefined();
  });

  it('never replays a gap: the result is complete or undefined (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 5, max: 200 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 300 }), fc.nat({ max: 320 }), (maxFrames, maxBytes, frames, lastSeq) => {
        const r = new ReplayBuffer(maxFrames, maxBytes);
        frames.forEach((f, i) => r.push(i + 1, `${i + 1}:${f}`));
        const out = r.since(lastSeq, frames.length);
        if (out === undefined) return;
        expect(out.length).toBe(frames.length - lastSeq);
        out.forEach((f, i) => expect(f.startsWith(`${lastSeq + i + 1}:`)).toBe(true));
      }),
    );
  });
});
