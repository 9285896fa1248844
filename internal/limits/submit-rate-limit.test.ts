import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/clock.js';
import { StreamCap } from './stream-cap.js';
import { MemorySubmitLimiter, type RateLimit } from './submit-limiter.js';
import { SubmitRateLimit } from './submit-rate-limit.js';

describe('SubmitRateLimit', () => {
  it('is off at rate 0, builds its limiter when turned on, keeps it (and its buckets) across changes and off/on', async () => {
    const clock = new ManualClock();
    const built: RateLimit[] = [];
    const l = new SubmitRateLimit((limit) => (built.push(limit), new MemorySubmitLimiter(limit, clock)), { rate: 0, burst: 0 });
    expect(l.active).toBeUndefined();

    l.set({ rate: 1, burst: 0 });
    expect(l.active?.limit).toEqual({ rate: 1, burst: 1 });
    expect(await l.active!.take(new Map([['a', 1]]))).toEqual({ ok: true });
    expect(await l.active!.take(new Map([['a', 1]]))).toMatchObject({ ok: false, namespace: 'a', retryAfterMs: 1000 });

    l.set({ rate: 0, burst: 0 });
    expect(l.active).toBeUndefined();
    l.set({ rate: 10, burst: 20 });
    expect(l.active?.limit).toEqual({ rate: 10, burst: 20 });
    // The same bucket, now refilling at 10/s: empty a moment ago, 100 ms buys one token.
    expect(await l.active!.take(new Map([['a', 1]]))).toMatchObject({ ok: false, retryAfterMs: 100 });
    clock.advance(100);
    expect(await l.active!.take(new Map([['a', 1]]))).toEqual({ ok: true });
    expect(built).toHaveLength(1);
    expect(() => l.set({ rate: -1, burst: 0 })).toThrow('rate and burst must be >= 0, got -1/0');
  });
});

describe('StreamCap.setMax', () => {
  it('lowering the cap closes nothing: the identity opens no more until it is below', () => {
    const cap = new StreamCap(3);
    const held = [cap.open('alice'), cap.open('alice'), cap.open('alice')];
    cap.setMax(1);
    expect(cap.open('alice')).toBeUndefined();
    held[0]?.();
    held[1]?.();
    expect(cap.open('alice')).toBeUndefined();
    held[2]?.();
    expect(cap.open('alice')).toBeDefined();
    cap.setMax(5);
    expect(cap.max).toBe(5);
    expect(() => cap.setMax(0)).toThrow('StreamCap: max must be an integer >= 1, got 0');
  });
});
