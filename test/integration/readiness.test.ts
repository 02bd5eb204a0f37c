import { describe, expect, it } from 'vitest';
import { withNode } from '../helpers/node.js';

describe('/readyz', () => {
  it('answers 200 only once the node can serve every op: mm.join right after it succeeds', () =>
    // A long tick: readiness must not hang on the matchmaker's first tick to own its queues.
    withNode({ mmTickMs: 60_000, queues: [{ name: 'duel', teams: 2, teamSize: 1 }] }, async (t) => {
      let status: number;
      while ((status = (await fetch(`${t.httpUrl}/readyz`)).status) !== 200) expect(status).toBe(503);
      const c = await t.guest('Ready Rita');
      const ticket = await c.call('mm.join', { queue: 'duel' });
      expect(ticket).toMatchObject({ queue: 'duel', status: 'queued' });
    }));
});
