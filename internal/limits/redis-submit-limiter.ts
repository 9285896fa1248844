import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.js';
import { checkRateLimit, type RateLimit, type SubmitLimiter, type TakeOutcome } from './submit-limiter.js';

const TOKEN_BUCKET = readFileSync(new URL('./lua/token-bucket.lua', import.meta.url), 'utf8');

type ScriptedRedis = Redis & { tokenBucket(...args: (string | number)[]): Promise<number[]> };

/**
 * Submission buckets in Redis (`<prefix>rate:<namespace>`), shared by every apiserver:
 * one Lua script takes from all the request's buckets atomically. When Redis does not
 * answer within `timeoutMs` the request is admitted and a warning logged: the limit
 * protects capacity, and Redis is never what decides whether a submission is durable.
 */
export class RedisSubmitLimiter implements SubmitLimiter {
  private readonly redis: ScriptedRedis;
  private current: RateLimit;

  constructor(limit: RateLimit, private readonly opts: { url: string; prefix: string; logger: Logger; timeoutMs?: number }) {
    this.current = checkRateLimit(limit, 'RedisSubmitLimiter');
    this.redis = new Redis(opts.url, {
      commandTimeout: opts.timeoutMs ?? 500, maxRetriesPerRequest: 1, enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1_000),
    }) as ScriptedRedis;
    this.redis.on('error', (e) => opts.logger.debug({ err: e.message }, 'redis (rate limit)'));
    this.redis.defineCommand('tokenBucket', { lua: TOKEN_BUCKET });
  }

  get limit(): RateLimit {
    return this.current;
  }

  /** The script gets the rate and burst with every take: a change reaches every bucket at once. */
  setLimit(limit: RateLimit): void {
    this.current = checkRateLimit(limit, 'RedisSubmitLimiter');
  }

  async take(costs: Map<string, number>): Promise<TakeOutcome> {
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
