import { describe, expect, it } from 'vitest';
import { LobbyError } from '../../server/src/errors.js';
import { Breaker } from '../../server/src/store/db.js';

const down = () => Promise.reject(new LobbyError('STORAGE_UNAVAILABLE', 'no answer'));
const up = () => Promise.resolve('ok');
const sqlError = () => Promise.reject(new Error('duplicate key'));
const outcome = (p: Promise<unknown>) => p.then((v) => v, (e: Error & { code?: string }) => e.code ?? e.message);

describe('storage circuit breaker', () => {
  it('opens after 3 failures in a row, fails at once while open, lets one probe through after 2 s, and closes on its success', async () => {
    let now = 0;
    const clock = () => now;
    const b = new Breaker(3, 2000);
    let calls = 0;
    const counted = (fn: () => Promise<unknown>) => () => (calls++, fn());

    for (let i = 0; i < 3; i++) expect(await outcome(b.run(counted(down), clock))).toBe('STORAGE_UNAVAILABLE');
    expect(b.open).toBe(true);
    expect(await outcome(b.run(counted(up), clock))).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toBe(3); // refused without trying

    now = 1999;
    expect(await outcome(b.run(counted(up), clock))).toBe('STORAGE_UNAVAILABLE');
    now = 2000;
    // One probe at a time: while it runs, others still fail at once.
    let finish!: () => void;
    const probe = b.run(counted(() => new Promise((r) => (finish = () => r('probed')))), clock);
    expect(await outcome(b.run(counted(up), clock))).toBe('STORAGE_UNAVAILABLE');
    finish();
    expect(await probe).toBe('probed');
    expect(b.open).toBe(false);
    expect(await outcome(b.run(counted(up), clock))).toBe('ok');
    expect(calls).toBe(5);
  });

  it('a failed probe keeps it open for another period', async () => {
    let now = 0;
    const b = new Breaker(1, 1000);
    await outcome(b.run(down, () => now));
    now = 1000;
    expect(await outcome(b.run(down, () => now))).toBe('STORAGE_UNAVAILABLE');
    now = 1999;
    let tried = false;
    expect(await outcome(b.run(() => ((tried = true), up()), () => now))).toBe('STORAGE_UNAVAILABLE');
    expect(tried).toBe(false);
  });

  it('counts an SQL error as storage answering', async () => {
    const b = new Breaker(2, 1000);
    await outcome(b.run(down, () => 0));
    await outcome(b.run(sqlError, () => 0));
    await outcome(b.run(down, () => 0));
    expect(b.open).toBe(false);
  });
});
