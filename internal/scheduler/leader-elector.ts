import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { LeaderLock } from '../coordination/leader-lock.js';
import type { Base } from '../shared/base.js';
import { sleep } from '../shared/sleep.js';

/** What the elector needs from Postgres: the epoch fence (see `leadershipClaim`). */
export interface EpochStore {
  /** The newest epoch recorded; new epochs must be above it. */
  floor(): Promise<number>;
  /** Records `epoch` as current; false when a newer one exists. */
  claim(epoch: number): Promise<boolean>;
}

export interface ElectorOptions {
  lock: LeaderLock;
  epochs: EpochStore;
  /** Where others reach this scheduler; stored in the lock. */
  address: string;
  ttlMs: number;
  /** Renewal interval; at most ttlMs / 3. */
  renewMs: number;
  /**
   * Safety margin for clock drift: the leader steps down at
   * (send time of its last successful renewal) + ttlMs - driftMs. Default ttlMs / 10.
   */
  driftMs?: number;
}

/** Events, for tests and metrics. */
export interface ElectorEvents {
  leader: [{ epoch: number }];
  follower: [{ epoch: number; reason: string }];
}

/**
 * Campaigns for the leader lock and holds it. A term starts when the lock is taken
 * and the new epoch is recorded in Postgres; it ends when a renewal is refused, when
 * the local deadline passes without a successful renewal (the leader steps down before
 * the lock's TTL can lapse, so two terms never overlap in wall time under bounded
 * drift), or on shutdown, which releases the lock so a standby takes over at once.
 */
export class LeaderElector extends EventEmitter<ElectorEvents> {
  private readonly token = randomUUID();
  private term: { epoch: number; ctl: AbortController; deadline: number } | undefined;
  private readonly work = new Set<Promise<void>>();
  private readonly driftMs: number;

  constructor(private readonly base: Base, private readonly opts: ElectorOptions) {
    super();
    if (!(opts.renewMs * 3 <= opts.ttlMs)) throw new Error(`renewMs (${opts.renewMs}) must be at most ttlMs / 3 (${opts.ttlMs})`);
    this.driftMs = opts.driftMs ?? Math.ceil(opts.ttlMs / 10);
  }

  /** True while this process leads and its local deadline has not passed. */
  isLeader(): boolean {
    return !!this.term && !this.term.ctl.signal.aborted && this.base.clock.monotonic() < this.term.deadline;
  }

  /** The current term's epoch, if leading. */
  get epoch(): number | undefined {
    return this.isLeader() ? this.term?.epoch : undefined;
  }

  /** Campaigns until `signal` aborts; settles after stepping down and releasing the lock. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const term = this.term;
      if (!term) {
        if (!(await this.campaign())) await sleep(this.opts.renewMs, signal);
        continue;
      }
      if (!term.ctl.signal.aborted) {
        const wait = Math.min(this.opts.renewMs, term.deadline - this.base.clock.monotonic());
        await sleep(wait, anySignal(signal, term.ctl.signal));
      }
      if (signal.aborted) break;
      if (term.ctl.signal.aborted) await this.stepDown('term ended');
      else if (this.base.clock.monotonic() >= term.deadline) await this.stepDown('local deadline passed');
      else await this.renew(term);
    }
    if (this.term) await this.stepDown('shutdown');
    await this.opts.lock.release({ token: this.token }).catch(() => undefined);
  }

  /**
   * Runs `fn` for every term this process leads until `signal` aborts. `fn` gets a
   * signal that aborts the moment the term ends and must settle soon after; a new term
   * does not start before it has.
   */
  async whileLeader(signal: AbortSignal, fn: (term: AbortSignal, epoch: number) => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      const term = this.term;
      if (!term || term.ctl.signal.aborted) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.off('leader', done);
            signal.removeEventListener('abort', done);
            resolve();
          };
          this.on('leader', done);
          signal.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      const p = fn(anySignal(signal, term.ctl.signal), term.epoch).catch((e) => {
        this.base.logger.error({ err: e }, 'leader work failed; stepping down');
        void this.stepDown('leader work failed');
      });
      this.work.add(p);
      await p;
      this.work.delete(p);
      // fn returned while its term still runs: wait for the term to end before the next.
      if (this.term === term && !term.ctl.signal.aborted) {
        await new Promise<void>((r) => term.ctl.signal.addEventListener('abort', () => r(), { once: true }));
      }
    }
  }

  private async campaign(): Promise<boolean> {
    const { lock, epochs, ttlMs, address } = this.opts;
    try {
      const floor = await epochs.floor();
      const sent = this.base.clock.monotonic();
      const epoch = await lock.tryAcquire({ token: this.token, address, ttlMs, floorEpoch: floor });
      if (epoch === undefined) return false;
      const deadline = sent + ttlMs - this.driftMs;
      if (!(await epochs.claim(epoch))) {
        this.base.logger.warn({ epoch }, 'a newer epoch is recorded in Postgres; releasing the lock');
        await lock.release({ token: this.token });
        return false;
      }
      // The claim may have waited on a frozen ex-leader's row lock: a lock already past
      // its deadline must not start a term (another candidate may hold it by now).
      if (this.base.clock.monotonic() >= deadline) {
        this.base.logger.warn({ epoch }, 'claimed the epoch after the lock deadline; not leading');
        await lock.release({ token: this.token }).catch(() => undefined);
        return false;
      }
      this.term = { epoch, ctl: new AbortController(), deadline };
      this.armDeadline(this.term);
      this.base.logger.info({ epoch, address }, 'became leader');
      this.emit('leader', { epoch });
      return true;
    } catch (e) {
      this.base.logger.warn({ err: (e as Error).message }, 'campaign failed');
      await lock.release({ token: this.token }).catch(() => undefined);
      return false;
    }
  }

  private async renew(term: NonNullable<typeof this.term>): Promise<void> {
    const sent = this.base.clock.monotonic();
    let ok: boolean;
    try {
      ok = await this.opts.lock.renew({ token: this.token, ttlMs: this.opts.ttlMs });
    } catch (e) {
      // Unreachable lock store: keep leading until the local deadline, then step down.
      this.base.logger.warn({ err: (e as Error).message }, 'lock renewal failed; will retry until the deadline');
      return;
    }
    if (this.term !== term || term.ctl.signal.aborted) return;
    if (!ok) {
      await this.stepDown('lock lost');
      return;
    }
    term.deadline = sent + this.opts.ttlMs - this.driftMs;
    this.armDeadline(term);
  }

  private timer: NodeJS.Timeout | undefined;

  private armDeadline(term: NonNullable<typeof this.term>): void {
    clearTimeout(this.timer);
    const ms = term.deadline - this.base.clock.monotonic();
    this.timer = setTimeout(() => {
      if (this.term !== term) return;
      // Timers may fire a little early against the monotonic clock: re-arm until due.
      if (this.base.clock.monotonic() >= term.deadline) void this.stepDown('local deadline passed');
      else this.armDeadline(term);
    }, Math.max(0, Math.ceil(ms)));
  }

  private stepping: Promise<void> | undefined;

  /** Ends the current term: aborts its work, waits for it, forgets the term. Idempotent. */
  private stepDown(reason: string): Promise<void> {
    const term = this.term;
    if (!term) return Promise.resolve();
    this.stepping ??= (async () => {
      clearTimeout(this.timer);
      if (!term.ctl.signal.aborted) term.ctl.abort(new Error(`leadership ended: ${reason}`));
      this.base.logger.warn({ epoch: term.epoch, reason }, 'stepped down');
      await Promise.allSettled([...this.work]);
      this.base.logger.info({ epoch: term.epoch }, 'term ended');
      this.term = undefined;
      this.stepping = undefined;
      this.emit('follower', { epoch: term.epoch, reason });
    })();
    return this.stepping;
  }
}

/** A signal that aborts when any of `signals` does. */
export function anySignal(...signals: AbortSignal[]): AbortSignal {
  return AbortSignal.any(signals);
}
