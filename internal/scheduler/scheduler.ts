import { EventEmitter } from 'node:events';
import type { LeaderInfo, LeaderLock } from '../coordination/leader-lock.js';
import type { Presence } from '../coordination/presence.js';
import { sleep } from '../shared/sleep.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { leadershipClaim, leadershipRead } from '../storage/leadership-store.js';
import { DEFAULT_SCHEDULE_LIMITS, type ScheduleLimits } from '../domain/schedule.js';
import { Dispatcher, type WorkerView } from './dispatcher.js';
import { LeaderElector } from './leader-elector.js';
import { ScheduleRunner } from './schedule-runner.js';

/** The leader's view of the cluster. */
export interface ClusterView {
  leader: { address: string; epoch: number; since: Date };
  schedulers: { address: string; lastSeenMs: number; leader: boolean }[];
  workers: WorkerView[];
  leases: number;
}

export interface SchedulerOptions {
  db: Db;
  lock: LeaderLock;
  presence: Presence;
  /** Where workers and apiservers reach this scheduler (http://host:port). */
  address: string;
  lockTtlMs: number;
  lockRenewMs: number;
  leaseTtlMs: number;
  heartbeatMs: number;
  pollMs: number;
  agingMs: number;
  /** Bounds for materializing schedule templates at fire time. Default DEFAULT_SCHEDULE_LIMITS. */
  scheduleLimits?: ScheduleLimits;
  /**
   * More leader-only work run beside dispatch for each term (the outbox relay), under
   * the term's signal; a throw ends the term like a dispatcher failure does.
   */
  termLoops?: ((term: AbortSignal, epoch: number) => Promise<void>)[];
}

/** Events, for tests and metrics. */
export interface SchedulerEvents {
  /** A term began: its dispatcher and schedule runner exist (listeners may subscribe to them). */
  term: [{ epoch: number; dispatcher: Dispatcher; runner: ScheduleRunner }];
}

/**
 * A scheduler process's brain: campaigns for leadership and, while it leads, runs a
 * Dispatcher and a ScheduleRunner for the term. Passive instances answer with where the
 * leader is.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly elector: LeaderElector;
  private dispatcher: Dispatcher | undefined;
  private runner: ScheduleRunner | undefined;

  constructor(private readonly base: Base, readonly opts: SchedulerOptions) {
    super();
    const db = opts.db;
    this.elector = new LeaderElector(base, {
      lock: opts.lock,
      address: opts.address,
      ttlMs: opts.lockTtlMs,
      renewMs: opts.lockRenewMs,
      epochs: {
        floor: async () => (await leadershipRead(db.orm))?.epoch ?? 0,
        claim: (epoch) => db.tx((tx) => leadershipClaim(tx, {
          epoch, leader: opts.address, now: new Date(base.clock.now()), lockTimeoutMs: opts.lockTtlMs,
        })),
      },
    });
  }

  /** Runs until `signal` aborts; settles after the last term's work and the lock release. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([
      this.elector.run(signal),
      this.announce(signal),
      this.elector.whileLeader(signal, async (term, epoch) => {
        const d = new Dispatcher(this.base, {
          db: this.opts.db, epoch, leaseTtlMs: this.opts.leaseTtlMs, pollMs: this.opts.pollMs, agingMs: this.opts.agingMs,
        });
        const r = new ScheduleRunner(this.base, {
          db: this.opts.db, epoch, pollMs: this.opts.pollMs, limits: this.opts.scheduleLimits ?? DEFAULT_SCHEDULE_LIMITS, hints: d,
        });
        this.dispatcher = d;
        this.runner = r;
        this.emit('term', { epoch, dispatcher: d, runner: r });
        try {
          await runTogether(term, [(s) => d.run(s), (s) => r.run(s), ...(this.opts.termLoops ?? []).map((f) => (s: AbortSignal) => f(s, epoch))]);
        } finally {
          if (this.dispatcher === d) this.dispatcher = undefined;
          if (this.runner === r) this.runner = undefined;
        }
      }),
    ]);
  }

  /** A schedule was created or changed (an apiserver's hint): the leader's runner looks again. */
  scheduleChanged(): void {
    if (this.elector.isLeader()) this.runner?.changed();
  }

  /** The leader's view for ClusterService; undefined when this process does not lead. */
  async describe(): Promise<ClusterView | undefined> {
    const d = this.active();
    if (!d) return undefined;
    const now = this.base.clock.now();
    const [members, row] = await Promise.all([
      this.opts.presence.members(now, 3 * this.opts.lockTtlMs).catch(() => []),
      leadershipRead(this.opts.db.orm),
    ]);
    return {
      leader: { address: this.opts.address, epoch: d.epoch, since: row?.since ?? new Date(now) },
      schedulers: members.map((m) => ({ ...m, leader: m.address === this.opts.address })),
      ...d.describe(),
    };
  }

  private async announce(signal: AbortSignal): Promise<void> {
    do {
      await this.opts.presence.announce(this.opts.address, this.base.clock.now()).catch(() => undefined);
    } while (await sleep(this.opts.lockRenewMs, signal));
  }

  /** The dispatcher of the current term, when this process leads. */
  active(): Dispatcher | undefined {
    return this.elector.isLeader() ? this.dispatcher : undefined;
  }

  /** Who leads, as the lock says; undefined when unknown or the lock store is unreachable. */
  async leader(): Promise<LeaderInfo | undefined> {
    return this.opts.lock.current().catch(() => undefined);
  }
}

/** Runs `fns` under one signal; the first failure aborts the others and is rethrown once all have settled. */
async function runTogether(signal: AbortSignal, fns: ((s: AbortSignal) => Promise<void>)[]): Promise<void> {
  const ctl = new AbortController();
  const both = AbortSignal.any([signal, ctl.signal]);
  const results = await Promise.allSettled(fns.map((f) => f(both).catch((e: unknown) => {
    ctl.abort(e);
    throw e;
  })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
