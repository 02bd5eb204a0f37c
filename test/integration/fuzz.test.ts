import { isRequest, ops } from '@foyer/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzz } from '../../bench/fuzzer.js';
import { startTestNode, withNode, type TestNode } from '../helpers/node.js';
import { RawClient } from '../helpers/raw.js';

/** Every op but session.logout: a logout that succeeds (with an id or without) ends the connection, and the window's sentinels would never be answered. Logout has its own tests (logout.test.ts). */
const opNames = Object.keys(ops).filter((op) => op !== 'session.logout');

/** Frames a broken or hostile client might send: junk, wrong shapes, real ops with wrong data. */
const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.record(
    {
      id: fc.oneof(fc.nat({ max: 2 ** 31 - 1 }), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      op: fc.oneof(fc.constantFrom(...opNames), fc.string({ maxLength: 70 })),
      data: fc.oneof(fc.anything({ maxDepth: 3 }), fc.record({ name: fc.string(), token: fc.string(), streams: fc.anything({ maxDepth: 2 }), t: fc.double() }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  ).map((f) => JSON.stringify(f)),
  fc.constantFrom('', '{', '[]', 'null', '{"id":1}', '{"id":1,"op":"session.ping","data":[]}', '{"__proto__":{"x":1},"id":2,"op":"session.ping"}'),
);

/** A frame the server reads as a request without id: it gets a reply only when refused (`re: null`, naming its op). */
function idless(text: string): boolean {
  try {
    // As the server reads it: sending encodes to UTF-8, a lone surrogate becomes U+FFFD.
    const f: unknown = JSON.parse(Buffer.from(text).toString());
    return isRequest(f) && f.id === undefined;
  } catch {
    return false;
  }
}

describe('hostile frames', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ rateLimitBurst: 100_000, rateLimitPerSec: 100_000 });
  });
  afterAll(() => t.stop());

  it('get exactly one reply each (requests without id: at most one, a refusal), never crash the node, and change nothing', async () => {
    const fuzzer = new RawClient(`${t.url}/?v=2`);
    const me = (await fuzzer.request('auth.guest', { name: 'Fuzz' })).data;
    const bystander = await t.guest('Bystander');
    const before = (await t.admin('GET', '/admin/stats')).body;
    let sentinel = 1_000_000;

    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 40 }), async (frames) => {
        const start = fuzzer.frames.length;
        for (const f of frames) fuzzer.send(f);
        // Requests are answered in order within each of a connection's two lanes (storage ops and the rest):
        // once a sentinel of each lane is answered, every earlier request is too. profile.get is a storage op.
        const id = ++sentinel;
        const storageId = ++sentinel;
        fuzzer.send({ id, op: 'session.ping', data: {} });
        fuzzer.send({ id: storageId, op: 'profile.get', data: {} });
        await fuzzer.next((f) => f.re === id);
        await fuzzer.next((f) => f.re === storageId);
        const replies = fuzzer.frames.slice(start).filter((f) => 're' in f);
        const refusedIdless = replies.filter((r) => r.re === null && typeof r.error?.op === 'string');
        const withoutId = frames.filter(idless);
        expect(replies.length - refusedIdless.length).toBe(frames.length - withoutId.length + 2);
        expect(refusedIdless.length).toBeLessThanOrEqual(withoutId.length);
        for (const r of refusedIdless) expect(withoutId.some((f) => JSON.parse(Buffer.from(f).toString()).op === r.error.op)).toBe(true);
        for (const r of replies) expect(r.ok === true || typeof r.error?.code === 'string').toBe(true);
      }),
      { numRuns: 60 },
    );

    // Same user, same node state, and the node still serves others.
    const id = ++sentinel;
    fuzzer.send({ id, op: 'auth.refresh', data: {} });
    const still = await fuzzer.next((f) => f.re === id);
    expect(still.data.userId).toBe(me.userId);
    expect((await t.admin('GET', '/admin/stats')).body).toEqual(before);
    expect((await bystander.call('session.ping', {})).serverTime).toBeGreaterThan(0);
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);
    fuzzer.close();
  });

  it('answers binary frames with BAD_REQUEST', async () => {
    const raw = new RawClient(`${t.url}/?v=2`);
    await raw.opened;
    raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const r = await raw.next((f) => 're' in f);
    expect(r).toMatchObject({ re: null, ok: false, error: { code: 'BAD_REQUEST' } });
    raw.close();
  });

  it('names the zod path of invalid data', async () => {
    const raw = new RawClient(`${t.url}/?v=2`);
    const r = await raw.request('auth.guest', { name: 42 });
    expect(r.error.code).toBe('BAD_REQUEST');
    expect(r.error.issues[0].path).toEqual(['data', 'name']);
    expect(r.error.issues[0].message).toMatch(/string/);
    raw.close();
  });

  it('refuses NUL, lone surrogates and shapes that once made validation throw with BAD_REQUEST, in every string field', async () => {
    const raw = new RawClient(`${t.url}/?v=2`);
    await raw.request('auth.guest', { name: 'Strings' });
    const friend = (await t.guest('Other')).userId!;
    const throwing = { length: { toString: 1 } };
    const cases: [string, unknown][] = [
      ['mail.send', { to: [friend], body: 'a\u0000b', clientMsgId: 'nul-1' }],
      ['mail.send', { to: [friend], body: 'lone \ud800', clientMsgId: 'sur-1' }],
      ['mail.send', { to: throwing, body: 'x', clientMsgId: 'len-1' }],
      ['profile.update', { school: 'mage\u0000' }],
      ['profile.update', { side: '\udc00' }],
      ['profile.update', { custom: { note: 'x\u0000y' } }],
      ['profile.update', { custom: { deep: { '\ud800': 1 } } }],
      ['friends.request', { userId: 'u\u0000' }],
      ['friends.block', { userId: '\ud83d' }],
      ['friends.request', { userId: throwing }],
      ['chat.send', { channel: 'game', text: throwing }],
      ['presence.set', { activity: 'in \u0000 shop' }],
      ['games.list', { filter: { nameContains: '\udfff' } }],
      ['game.create', { name: 'ok', gameType: 'g\u0000' }],
      ['mail.ack', { ids: throwing }],
    ];
    for (const [op, data] of cases) {
      const r = await raw.request(op, data);
      expect({ op, data, code: r.error?.code }).toEqual({ op, data, code: 'BAD_REQUEST' });
    }
    // An op name with NUL is refused the same way, and the connection goes on.
    raw.send('{"id":5,"op":"session.ping\\u0000"}');
    expect((await raw.next((f) => f.re === 5 || (f.re === null && f.error))).error.code).toBe('BAD_REQUEST');
    expect((await raw.request('session.ping', {})).ok).toBe(true);
    raw.close();
  });
});

describe('fuzzing with the bench\'s frames (npm run bench:fuzz sends a million)', () => {
  it('20,000 random and mutated frames, logged in and not: no INTERNAL, none missing or twice, no connection closed, the node well', () =>
    withNode({ rateLimitBurst: 100_000, rateLimitPerSec: 100_000, authTimeoutMs: 600_000, queues: [{ name: 'duel', teams: 2, teamSize: 1 }] }, async (t) => {
      const result = await fuzz({ url: t.url, frames: 20_000, connections: 8, seed: 14 });
      expect(result.samples).toEqual([]);
      expect(result).toMatchObject({ frames: 20_000, internal: 0, missing: 0, duplicate: 0, closed: 0 });
      expect(t.logs.join('')).not.toContain('"level":50');
      expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);
      const c = await t.guest('After the storm');
      expect((await c.call('session.ping', {})).serverTime).toBeGreaterThan(0);
    }),
  120_000);
});
