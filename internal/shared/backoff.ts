/** Shape of an exponential backoff; every retry and reconnect in taskd uses one. */
export interface BackoffPolicy {
  /** Wait before the second try, in ms. */
  initialMs: number;
  /** Cap on any wait, in ms. */
  maxMs: number;
  /** Growth per try; >= 1. */
  multiplier: number;
  /**
   * Fraction of the wait that is random, 0..1. 1 is "full jitter" (uniform in
   * [0, base]); 0 is none. Jitter spreads retries and reconnects so they never
   * arrive as a herd.
   */
  jitter: number;
}

/**
 * The wait after failed try number `tries` (1-based):
 * base = min(maxMs, initialMs * multiplier^(tries-1)), and the result lies in
 * [base * (1 - jitter), base]. `random` is injectable for tests.
 */
export function backoffDelay(policy: BackoffPolicy, tries: number, random: () => number = Math.random): number {
  const exp = Math.max(0, tries - 1);
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.multiplier, exp));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}

/**
 * Reconnect backoff for streams: 100 ms doubling to 2 s, full jitter. The cap bounds
 * how long a live worker may take to find a new leader; the leader's takeover grace
 * for re-announced leases is built on it (see Dispatcher).
 */
export const reconnectBackoff: BackoffPolicy = { initialMs: 100, maxMs: 2_000, multiplier: 2, jitter: 1 };
