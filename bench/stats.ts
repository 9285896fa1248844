/** Distribution of a sample, in the sample's unit. All fields are NaN for an empty sample. */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The `q`-quantile of an ascending `sorted` sample, interpolating linearly between
 * the two nearest ranks: the same definition as Postgres' `percentile_cont`
 * (position `q * (n - 1)`). NaN for an empty sample.
 * Throws a RangeError when `q` is outside [0, 1] or not a number.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`percentile: q must be within [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * Summarizes `values` (any order; the input is not modified). Throws a RangeError
 * naming the index of the first value that is NaN, since a NaN would silently
 * corrupt the sort and every quantile.
 */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values as ArrayLike<number>);
  const bad = sorted.findIndex((v) => Number.isNaN(v));
  if (bad >= 0) throw new RangeError(`summarize: value at index ${bad} is NaN`);
  sorted.sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    min: n > 0 ? (sorted[0] as number) : Number.NaN,
    mean: n > 0 ? sum / n : Number.NaN,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: n > 0 ? (sorted[n - 1] as number) : Number.NaN,
  };
}

/**
 * Events per second: `count` events over `ms` milliseconds. NaN when `ms` is not
 * positive (no interval to divide by).
 */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/**
 * How many of `total` items a fixed-rate sender should have sent `elapsedMs` after
 * starting at `rate` items per second, never more than `total` and never negative.
 */
export function dueByNow(rate: number, elapsedMs: number, total: number): number {
  return Math.max(0, Math.min(total, Math.floor((rate * elapsedMs) / 1000)));
}
