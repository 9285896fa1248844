import type { RateLimit, SubmitLimiter } from './submit-limiter.js';

/** The settings of the submission limit: tasks per second (0 = off) and the burst (0 = one second's worth). */
export interface SubmitRateSettings {
  rate: number;
  burst: number;
}

/**
 * The submission rate limit of one process, changeable while it serves (a config
 * reload): off while the rate is 0, else applied by one backend limiter that `build`
 * makes when the limit is first on (so a Redis connection is opened before it is needed)
 * and keeps, buckets and connection, when the limit changes or goes off and on again.
 * Throws from the constructor and `set` when a rate is negative.
 */
export class SubmitRateLimit {
  private backend: (SubmitLimiter & { close?(): Promise<void> }) | undefined;
  private limit: RateLimit | undefined;

  constructor(private readonly build: (limit: RateLimit) => SubmitLimiter & { close?(): Promise<void> }, settings: SubmitRateSettings) {
    this.set(settings);
  }

  /** Applies new settings to the next submission on. */
  set(settings: SubmitRateSettings): void {
    if (!(settings.rate >= 0) || !(settings.burst >= 0)) throw new Error(`SubmitRateLimit: rate and burst must be >= 0, got ${settings.rate}/${settings.burst}`);
    this.limit = settings.rate > 0 ? { rate: settings.rate, burst: settings.burst || Math.max(1, Math.ceil(settings.rate)) } : undefined;
    if (!this.limit) return;
    if (this.backend) this.backend.setLimit(this.limit);
    else this.backend = this.build(this.limit);
  }

  /** The limiter to apply now; undefined while the limit is off. */
  get active(): SubmitLimiter | undefined {
    return this.limit ? this.backend : undefined;
  }

  /** Closes the backend, if one was built. */
  async close(): Promise<void> {
    await this.backend?.close?.();
  }
}
