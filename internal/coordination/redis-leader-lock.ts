import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { parseLockValue, type LeaderInfo, type LeaderLock } from './leader-lock.js';

const lua = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const SCRIPTS = { acquire: lua('lock-acquire'), renew: lua('lock-renew'), release: lua('lock-release') };

type ScriptedRedis = Redis & {
  lockAcquire(lock: string, epoch: string, token: string, address: string, ttl: number, floor: number): Promise<number>;
  lockRenew(lock: string, token: string, ttl: number): Promise<number>;
  lockRelease(lock: string, token: string): Promise<number>;
};

/** Told each command's round trip: its name, seconds, and whether it answered. */
export type CommandObserver = (command: string, seconds: number, ok: boolean) => void;

/**
 * The leader lock on Redis: key `<prefix>leader` holds "<token>|<epoch>|<address>" with
 * a TTL; `<prefix>epoch` counts takeovers. Commands time out after `commandTimeoutMs`
 * so a dead Redis fails a renewal instead of hanging it. `observe` (metrics) is told
 * every command's round trip.
 */
export class RedisLeaderLock implements LeaderLock {
  private readonly redis: ScriptedRedis;
  private readonly lockKey: string;
  private readonly epochKey: string;

  private readonly observe: CommandObserver | undefined;

  constructor(opts: { url: string; prefix: string; commandTimeoutMs?: number; onError?: (e: Error) => void; observe?: CommandObserver }) {
    this.observe = opts.observe;
    this.redis = new Redis(opts.url, {
      commandTimeout: opts.commandTimeoutMs ?? 1_000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1_000),
      lazyConnect: false,
    }) as ScriptedRedis;
    this.redis.on('error', (e) => opts.onError?.(e));
    this.redis.defineCommand('lockAcquire', { numberOfKeys: 2, lua: SCRIPTS.acquire });
    this.redis.defineCommand('lockRenew', { numberOfKeys: 1, lua: SCRIPTS.renew });
    this.redis.defineCommand('lockRelease', { numberOfKeys: 1, lua: SCRIPTS.release });
    this.lockKey = `${opts.prefix}leader`;
    this.epochKey = `${opts.prefix}epoch`;
  }

  async tryAcquire(p: { token: string; address: string; ttlMs: number; floorEpoch: number }): Promise<number | undefined> {
    const epoch = await this.timed('lock_acquire', () => this.redis.lockAcquire(this.lockKey, this.epochKey, p.token, p.address, p.ttlMs, p.floorEpoch));
    return epoch > 0 ? epoch : undefined;
  }

  async renew(p: { token: string; ttlMs: number }): Promise<boolean> {
    return (await this.timed('lock_renew', () => this.redis.lockRenew(this.lockKey, p.token, p.ttlMs))) === 1;
  }

  async release(p: { token: string }): Promise<void> {
    await this.timed('lock_release', () => this.redis.lockRelease(this.lockKey, p.token));
  }

  async current(): Promise<LeaderInfo | undefined> {
    const v = parseLockValue(await this.timed('lock_get', () => this.redis.get(this.lockKey)));
    return v ? { address: v.address, epoch: v.epoch } : undefined;
  }

  /** True when Redis answers PING. */
  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async timed<T>(command: string, fn: () => Promise<T>): Promise<T> {
    if (!this.observe) return fn();
    const start = performance.now();
    try {
      const r = await fn();
      this.observe(command, (performance.now() - start) / 1000, true);
      return r;
    } catch (e) {
      this.observe(command, (performance.now() - start) / 1000, false);
      throw e;
    }
  }
}
