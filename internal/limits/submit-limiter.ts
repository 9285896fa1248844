import type { Clock } from '../shared/clock.js';

/** A namespace's submission rate: `rate` tasks per second, bursts of up to `burst`. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** What a take came to: admitted, or refused with the namespace and when a retry may pass. */
export type TakeOutcome =
  | { ok: true }
  | { ok: false; namespace: string; retryAfterMs: number; available: number };

/**
 * Token buckets of task submissions, one per namespace. `take` removes `cost` tokens
 * from every named bucket, all or none. `setLimit` changes the rate and burst of every
 * bucket from its next take on (a bucket keeps its tokens, up to the new burst).
 */
export interface SubmitLimiter {
  readonly limit: RateLimit;
  setLimit(limit: RateLimit): void;
  take(costs: Map<string, number>): Promise<TakeOutcome>;
}

/** Throws naming `who` unless `rate` > 0 and `burst` >= 1. */
export function checkRateLimit(limit: RateLimit, who: string): RateLimit {
  if (!(limit.rate > 0) || !(limit.burst >= 1)) throw new Error(`${who}: rate must be > 0 and burst >= 1, got ${limit.rate}/${limit.burst}`);
  return limit;
}

/**
 * The bucket arithmetic the limiters share (the Lua script mirrors it): a bucket left
 * with `tokens` at `atMs` refills at `rate`/s up to `burst`; a new bucket is full.
 * Returns the tokens at `nowMs`.
 */
export function refill(b: { tokens: number; atMs: number } | undefined, limit: RateLimit, nowMs: number): number {
  if (!b) return limit.burst;
  return Math.min(limit.burst, b.tokens + (Math.max(0, nowMs - b.atMs) * limit.rate) / 1000);
}

/** Ms until `tokens` grow to `cost` at `rate` per second. */
export function waitFor(tokens: number, cost: number, rate: number): number {
  return Math.ceil(((cost - tokens) * 1000) / rate);
}

/**
 * The in-process limiter (the embedded default, or one apiserver without Redis): exact
 * for this process, so N apiservers without Redis admit up to N times the rate.
 */
export class MemorySubmitLimiter implements SubmitLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  private current: RateLimit;

  constructor(limit: RateLimit, private readonly clock: Clock) {
    this.current = checkRateLimit(limit, 'MemorySubmitLimiter');
  }

  get limit(): RateLimit {
    return this.current;
  }

  setLimit(limit: RateLimit): void {
    this.current = checkRateLimit(limit, 'MemorySubmitLimiter');
  }

  async take(costs: Map<string, number>): Promise<TakeOutcome> {
    const now = this.clock.monotonic();
    const next = new Map<string, number>();
    for (const [ns, cost] of costs) {
      const tokens = refill(this.buckets.get(ns), this.limit, now);
      if (tokens < cost) return { ok: false, namespace: ns, retryAfterMs: waitFor(tokens, cost, this.limit.rate), available: Math.floor(tokens) };
      next.set(ns, tokens - cost);
    }
    for (const [ns, tokens] of next) this.buckets.set(ns, { tokens, atMs: now });
    return { ok: true };
  }
}
