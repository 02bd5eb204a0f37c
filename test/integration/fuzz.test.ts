import { ops } from '@foyer/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { RawClient } from '../helpers/raw.js';

const opNames = Object.keys(ops);

/** Frames a broken or hostile client might send: junk, wrong shapes, real ops with wrong data. */
const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.record(
    {
      id: fc.oneof(fc.nat({ max: 2 ** 31 - 1 }), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      op: fc.oneof(fc.constantFrom(...opNames), fc.string({ maxLength: 70 })),
      data: fc.oneof(fc.anything({ maxDepth: 3 }), fc.record({ name: fc.string(), token: fc.string(), lastSeq: fc.integer(), t: fc.double() }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  ).map((f) => JSON.stringify(f)),
  fc.constantFrom('', '{', '[]', 'null', '{"id":1}', '{"id":1,"op":"session.ping","data":[]}', '{"__proto__":{"x":1},"id":2,"op":"session.ping"}'),
);

describe('hostile frames', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ rateLimitBurst: 100_000, rateLimitPerSec: 100_000 });
  });
  afterAll(() => t.stop());

  it('get exactly one reply each, never crash the node, and change nothing', async () => {
    const fuzzer = new RawClient(`${t.url}/?v=1`);
    const me = (await fuzzer.request('auth.guest', { name: 'Fuzz' })).data;
    const bystander = await t.guest('Bystander');
    const before = (await t.admin('GET', '/admin/stats')).body;
    let sentinel = 1_000_000;

    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 40 }), async (frames) => {
        const start = fuzzer.frames.length;
        for (const f of frames) fuzzer.send(f);
        // Requests are answered in order per connection, so once this reply is in, every earlier one is too.
        const id = ++sentinel;
        fuzzer.send({ id, op: 'session.ping', data: {} });
        await fuzzer.next((f) => f.re === id);
        const replies = fuzzer.frames.slice(start).filter((f) => 're' in f);
        expect(replies).toHaveLength(frames.length + 1);
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
    const raw = new RawClient(`${t.url}/?v=1`);
    await raw.opened;
    raw.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const r = await raw.next((f) => 're' in f);
    expect(r).toMatchObject({ re: null, ok: false, error: { code: 'BAD_REQUEST' } });
    raw.close();
  });

  it('names the zod path of invalid data', async () => {
    const raw = new RawClient(`${t.url}/?v=1`);
    const r = await raw.request('auth.guest', { name: 42 });
    expect(r.error.code).toBe('BAD_REQUEST');
    expect(r.error.issues[0].path).toEqual(['data', 'name']);
    expect(r.error.issues[0].message).toMatch(/string/);
    raw.close();
  });
});
