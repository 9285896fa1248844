import { describe, expect, test } from 'vitest';
import { dueByNow, percentile, perSecond, summarize } from './stats.js';

describe('percentile', () => {
  test('matches percentile_cont: linear interpolation at q * (n - 1)', () => {
    const s = [10, 20, 30, 40];
    expect(percentile(s, 0)).toBe(10);
    expect(percentile(s, 1)).toBe(40);
    expect(percentile(s, 0.5)).toBe(25);
    // position 0.9 * 3 = 2.7: 30 + 0.7 * (40 - 30)
    expect(percentile(s, 0.9)).toBeCloseTo(37, 10);
  });

  test('a single value is every quantile', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 0.99)).toBe(7);
  });

  test('an empty sample has no quantile', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });

  test('rejects q outside [0, 1]', () => {
    expect(() => percentile([1], -0.1)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(/within \[0, 1\]/);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  test('p99 of 1..100 is 99.01', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 0.99)).toBeCloseTo(99.01, 10);
  });
});

describe('summarize', () => {
  test('sorts numerically, not as strings, and leaves the input alone', () => {
    const input = [100, 9, 20, 3];
    const s = summarize(input);
    expect(s).toEqual({ count: 4, min: 3, mean: 33, p50: 14.5, p90: expect.any(Number), p99: expect.any(Number), max: 100 });
    expect(s.p90).toBeCloseTo(76, 10);
    expect(input).toEqual([100, 9, 20, 3]);
  });

  test('accepts typed arrays', () => {
    expect(summarize(new Float64Array([2, 1])).p50).toBe(1.5);
  });

  test('an empty sample summarizes to NaN with count 0', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    for (const k of ['min', 'mean', 'p50', 'p90', 'p99', 'max'] as const) expect(s[k]).toBeNaN();
  });

  test('rejects NaN values, naming the index', () => {
    expect(() => summarize([1, Number.NaN])).toThrow(/index 1 is NaN/);
  });
});

describe('perSecond', () => {
  test('scales milliseconds to seconds', () => {
    expect(perSecond(5000, 2000)).toBe(2500);
  });

  test('is NaN without a positive interval', () => {
    expect(perSecond(10, 0)).toBeNaN();
    expect(perSecond(10, -5)).toBeNaN();
  });
});

describe('dueByNow', () => {
  test('grows with elapsed time at the given rate', () => {
    expect(dueByNow(2500, 0, 1000)).toBe(0);
    expect(dueByNow(2500, 10, 1000)).toBe(25);
    expect(dueByNow(2500, 14.9, 1000)).toBe(37);
  });

  test('is capped at the total and never negative', () => {
    expect(dueByNow(2500, 1_000_000, 1000)).toBe(1000);
    expect(dueByNow(2500, -10, 1000)).toBe(0);
  });
});
