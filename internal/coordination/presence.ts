import { Redis } from 'ioredis';

/** A scheduler as the presence registry last heard of it. */
export interface Member {
  address: string;
  lastSeenMs: number;
}

/**
 * Scheduler presence: each scheduler announces itself every renewal interval; members
 * not heard from for `staleMs` are dropped. For ClusterService only: nothing depends on it.
 */
export interface Presence {
  announce(address: string, nowMs: number): Promise<void>;
  members(nowMs: number, staleMs: number): Promise<Member[]>;
  close(): Promise<void>;
}

/** Presence in a Redis hash `<prefix>schedulers` (address → last seen ms). */
export class RedisPresence implements Presence {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(opts: { url: string; prefix: string }) {
    this.redis = new Redis(opts.url, { commandTimeout: 1_000, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.redis.on('error', () => undefined);
    this.key = `${opts.prefix}schedulers`;
  }

  async announce(address: string, nowMs: number): Promise<void> {
    await this.redis.hset(this.key, address, String(nowMs));
  }

  async members(nowMs: number, staleMs: number): Promise<Member[]> {
    const all = await this.redis.hgetall(this.key);
    const out: Member[] = [];
    for (const [address, seen] of Object.entries(all)) {
      if (nowMs - Number(seen) > staleMs) await this.redis.hdel(this.key, address);
      else out.push({ address, lastSeenMs: Number(seen) });
    }
    return out.sort((a, b) => a.address.localeCompare(b.address));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Presence in process, for the embedded default. */
export class MemoryPresence implements Presence {
  private readonly seen = new Map<string, number>();

  async announce(address: string, nowMs: number): Promise<void> {
    this.seen.set(address, nowMs);
  }

  async members(nowMs: number, staleMs: number): Promise<Member[]> {
    return [...this.seen].filter(([, t]) => nowMs - t <= staleMs).map(([address, lastSeenMs]) => ({ address, lastSeenMs }));
  }

  async close(): Promise<void> {}
}
