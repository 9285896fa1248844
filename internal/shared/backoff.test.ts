import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const p = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 1 };
  it('grows exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('full jitter spans [0, base]', () => {
    expect(backoffDelay(p, 3, () => 0)).toBe(0);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(200);
  });
  it('partial jitter keeps the floor', () => {
    expect(backoffDelay({ ...p, jitter: 0.25 }, 3, () => 0)).toBe(300);
  });
});
