import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/clock.js';
import { StreamCap } from './stream-cap.js';
import { MemorySubmitLimiter } from './submit-limiter.js';

describe('MemorySubmitLimiter', () => {
  it('admits a burst, refuses with the wait until enough tokens, then refills', async () => {
    const clock = new ManualClock();
    const l = new MemorySubmitLimiter({ rate: 10, burst: 20 }, clock);
    expect(await l.take(new Map([['a', 20]]))).toEqual({ ok: true });
    expect(await l.take(new Map([['a', 5]]))).toEqual({ ok: false, namespace: 'a', retryAfterMs: 500, available: 0 });
    clock.advance(500);
    expect(await l.take(new Map([['a', 5]]))).toEqual({ ok: true });
    clock.advance(60_000);
    expect(await l.take(new Map([['a', 20]]))).toEqual({ ok: true });
  });

  it('takes from every namespace of a request or from none, and namespaces do not share', async () => {
    const clock = new ManualClock();
    const l = new MemorySubmitLimiter({ rate: 1, burst: 3 }, clock);
    expect(await l.take(new Map([['a', 3]]))).toEqual({ ok: true });
    expect(await l.take(new Map([['b', 2], ['a', 1]]))).toMatchObject({ ok: false, namespace: 'a' });
    // b was not charged by the refused request.
    expect(await l.take(new Map([['b', 3]]))).toEqual({ ok: true });
  });
});

describe('StreamCap', () => {
  it('counts per identity and frees on release (once)', () => {
    const cap = new StreamCap(2);
    const r1 = cap.open('alice');
    const r2 = cap.open('alice');
    expect(cap.open('alice')).toBeUndefined();
    expect(cap.open('bob')).toBeDefined();
    r1?.();
    r1?.();
    expect(cap.count('alice')).toBe(1);
    expect(cap.open('alice')).toBeDefined();
    r2?.();
  });
});
