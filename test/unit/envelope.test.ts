import fc from 'fast-check';
import { Request, isRequest } from '@foyer/shared';
import { describe, expect, it } from 'vitest';

/** Frames close to a request: each field right, wrong, or at the edge of its bounds. */
const nearRequest = fc.record(
  {
    id: fc.oneof(
      fc.integer({ min: -2, max: 5 }),
      fc.constantFrom(2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -0, 1.5, Number.NaN, Infinity, -Infinity),
      fc.double(),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
    ),
    op: fc.oneof(
      fc.string({ minLength: 0, maxLength: 70 }),
      fc.constantFrom('', 'x'.repeat(64), 'x'.repeat(65), '😀'.repeat(32), '😀'.repeat(33)),
      fc.integer(),
      fc.constant(null),
    ),
    data: fc.anything(),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('isRequest', () => {
  it('accepts exactly what the zod schema Request accepts', () => {
    fc.assert(
      fc.property(fc.oneof(nearRequest, fc.anything(), fc.jsonValue(), fc.array(nearRequest, { maxLength: 1 })), (frame) => {
        expect(isRequest(frame)).toBe(Request.safeParse(frame).success);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes a well-formed request and refuses near misses', () => {
    expect(isRequest({ id: 0, op: 'session.ping' })).toBe(true);
    expect(isRequest({ id: 2 ** 31 - 1, op: 'x'.repeat(64), data: { t: 1 } })).toBe(true);
    // Without id: fire-and-forget. v1's ack is no field of the protocol any more: ignored like any unknown key.
    expect(isRequest({ op: 'chat.send', data: {} })).toBe(true);
    expect(isRequest({ id: undefined, op: 'chat.send' })).toBe(true);
    expect(isRequest({ id: null, op: 'chat.send' })).toBe(false);
    expect(isRequest({ id: 1, op: 'session.ping', ack: -1 })).toBe(true);
    expect(isRequest({ id: 2 ** 31, op: 'session.ping' })).toBe(false);
    expect(isRequest({ id: 1.5, op: 'session.ping' })).toBe(false);
    expect(isRequest({ id: 1, op: '' })).toBe(false);
    expect(isRequest({ id: 1, op: 'x'.repeat(65) })).toBe(false);
    expect(isRequest([{ id: 1, op: 'session.ping' }])).toBe(false);
    expect(isRequest(null)).toBe(false);
  });
});
