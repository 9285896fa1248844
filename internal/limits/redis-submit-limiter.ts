import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { checkRateLimit, type RateLimit, type SubmitLimiter, type TakeOutcome } from './submit-limiter.js';

const TOKEN_BUCKET = readFileSync(new URL('./lua/token-bucket.lua', import.meta.url), 'utf8');

type ScriptedRedis = Redis & { tokenBucket(...args: (string | number)[]): Promise<number[]> };

/**
 * Submission buckets in Redis (`<prefix>rate:<namespace>`), shared by every apiserver:
 * one Lua script takes from all the request's buckets atomically. When Redis does not
 * answer within `timeoutMs` the request is admitted and a warning logged: the limit
 * protects capacity, and Redis is never what decides whether a submission is durable.
 * A limiter just made (a limit turned on while serving) lets requests wait for its
 * first connection, up to `timeoutMs` after it was made, rather than admit them all.
 */
export class RedisSubmitLimiter implements SubmitLimiter {
  private readonly redis: ScriptedRedis;
  private current: RateLimit;
  private readonly timeoutMs: number;
  /** Settles at the first connection, or `timeoutMs` after construction, whichever is first. */
  private readonly firstConnection: Promise<void>;

  constructor(limit: RateLimit, private readonly opts: { url: string; prefix: string; logger: Logger; timeoutMs?: number }) {
    this.current = checkRateLimit(limit, 'RedisSubmitLimiter');
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.redis = new Redis(opts.url, {
      commandTimeout: this.timeoutMs, maxRetriesPerRequest: 1, enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1_000),
    }) as ScriptedRedis;
    this.redis.on('error', (e) => opts.logger.debug({ err: e.message }, 'redis (rate limit)'));
    this.redis.defineCommand('tokenBucket', { lua: TOKEN_BUCKET });
    const waited = new AbortController();
    const ready = new Promise<void>((resolve) => this.redis.once('ready', () => resolve()));
    this.firstConnection = Promise.race([ready, sleep(this.timeoutMs, waited.signal).then(() => undefined)]).finally(() => waited.abort());
  }

  get limit(): RateLimit {
    return this.current;
  }

  /** The script gets the rate and burst with every take: a change reaches every bucket at once. */
  setLimit(limit: RateLimit): void {
    this.current = checkRateLimit(limit, 'RedisSubmitLimiter');
  }

  async take(costs: Map<string, number>): Promise<TakeOutcome> {
    await this.firstConnection;
    const names = [...costs.keys()];
    try {
      const r = await this.redis.tokenBucket(
        names.length, ...names.map((n) => `${this.opts.prefix}rate:${n}`), this.limit.rate, this.limit.burst, ...names.map((n) => costs.get(n) as number),
      );
      if (r[0] === 0) return { ok: true };
      return { ok: false, namespace: names[(r[0] as number) - 1] as string, retryAfterMs: r[1] as number, available: r[2] as number };
    } catch (e) {
      this.opts.logger.warn({ err: (e as Error).message }, 'rate limit not checked: Redis did not answer; admitting');
      return { ok: true };
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
