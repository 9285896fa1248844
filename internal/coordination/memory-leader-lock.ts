import type { Clock } from '../shared/clock.js';
import type { LeaderInfo, LeaderLock } from './leader-lock.js';

/**
 * The leader lock in process, for the embedded default (one scheduler, no Redis). It
 * keeps the same TTL semantics as the Redis lock so the elector behaves the same.
 */
export class MemoryLeaderLock implements LeaderLock {
  private holder: { token: string; address: string; epoch: number; expiresAt: number } | undefined;
  private epoch = 0;

  constructor(private readonly clock: Clock) {}

  async tryAcquire(p: { token: string; address: string; ttlMs: number; floorEpoch: number }): Promise<number | undefined> {
    if (this.live()) return undefined;
    this.epoch = Math.max(this.epoch + 1, p.floorEpoch + 1);
    this.holder = { token: p.token, address: p.address, epoch: this.epoch, expiresAt: this.clock.monotonic() + p.ttlMs };
    return this.epoch;
  }

  async renew(p: { token: string; ttlMs: number }): Promise<boolean> {
    const h = this.live();
    if (!h || h.token !== p.token) return false;
    h.expiresAt = this.clock.monotonic() + p.ttlMs;
    return true;
  }

  async release(p: { token: string }): Promise<void> {
    if (this.holder?.token === p.token) this.holder = undefined;
  }

  async current(): Promise<LeaderInfo | undefined> {
    const h = this.live();
    return h ? { address: h.address, epoch: h.epoch } : undefined;
  }

  async close(): Promise<void> {}

  private live(): typeof this.holder {
    if (this.holder && this.holder.expiresAt <= this.clock.monotonic()) this.holder = undefined;
    return this.holder;
  }
}
