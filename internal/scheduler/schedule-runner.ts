import { EventEmitter } from 'node:events';
import { CronSchedule } from '../domain/cron-schedule.js';
import { isDomainError } from '../domain/errors.js';
import { nextFireAt, planFires } from '../domain/schedule-plan.js';
import type { ScheduleLimits } from '../domain/schedule.js';
import type { Base } from '../shared/base.js';
import { Kicker } from '../shared/kicker.js';
import type { Db } from '../storage/db.js';
import { leadershipFence } from '../storage/leadership-store.js';
import { scheduleFire, type FireOutcome } from '../storage/schedule-fire.js';
import { scheduleAdvance, scheduleGet, scheduleListDue, scheduleNextDue } from '../storage/schedule-store.js';

/** What the runner tells the dispatcher about the runs it created (the Dispatcher fits). */
export interface DispatchHints {
  hint(queues: string[]): void;
  dueAt(ms: number): void;
  cancelled(taskId: string, attempt: number): void;
}

/** A ScheduleRunner's slice of options; one runner per leadership term. */
export interface ScheduleRunnerOptions {
  db: Db;
  /** The term this runner serves; every write is fenced by it. */
  epoch: number;
  /** Longest sleep without looking at Postgres (TASKD_POLL_MS). */
  pollMs: number;
  /** Bounds for materializing templates at fire time. */
  limits: ScheduleLimits;
  hints: DispatchHints;
  /** Most schedules fired per pass. Default 100. */
  batch?: number;
  /** Most on-time fires of one schedule per transaction. Default 1000. */
  maxRunsPerPass?: number;
}

/** What one pass did. */
export interface PassResult {
  /** Fires that created a run. */
  fired: number;
  /** Fires recorded without a run (overlap policy, invalid template). */
  skipped: number;
  /** When the next pass is due (ms), or null when no active schedule has a next fire. */
  nextAt: number | null;
}

/** Events, for tests and metrics: every fire recorded (with or without a run). */
export interface ScheduleRunnerEvents {
  fire: [FireOutcome & { scheduleId: string }];
}

/**
 * The leader's cron engine for one term. It wakes at the earliest `next_fire_at` of any
 * active schedule (re-read from Postgres every poll interval, or at once on a
 * `changed()` hint), and for each due schedule runs one fenced transaction: lock the
 * row, plan the due fires from its cursor (misfire policy), record each fire with its
 * run (overlap policy), advance the cursor. Runs created are hinted to the dispatcher.
 */
export class ScheduleRunner extends EventEmitter<ScheduleRunnerEvents> {
  private readonly kicker = new Kicker();

  constructor(private readonly base: Base, private readonly opts: ScheduleRunnerOptions) {
    super();
    if (opts.pollMs <= 0) throw new Error('pollMs must be positive');
  }

  /** Runs passes until `signal` aborts. A fence failure (`not_leader`) ends it with that error. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const now = this.base.clock.now();
      let wait = this.opts.pollMs;
      try {
        const r = await this.runOnce(now);
        if (r.nextAt !== null) wait = Math.max(0, Math.min(wait, r.nextAt - this.base.clock.now()));
        failures = 0;
      } catch (e) {
        if (isDomainError(e, 'not_leader')) throw e;
        failures++;
        this.base.logger.warn({ err: (e as Error).message, failures }, 'schedule pass failed');
        wait = Math.min(100 * 2 ** failures, 2_000);
      }
      await this.kicker.wait(wait, signal);
    }
  }

  /** A schedule was created or changed (a hint): look again now. */
  changed(): void {
    this.kicker.kick();
  }

  /** One pass at instant `now`: fires every due schedule (up to the batch size). */
  async runOnce(now: number): Promise<PassResult> {
    const batch = this.opts.batch ?? 100;
    const due = await scheduleListDue(this.opts.db.orm, { now: new Date(now), limit: batch });
    const result: PassResult = { fired: 0, skipped: 0, nextAt: null };
    let failed = false;
    for (const d of due) {
      try {
        for (const o of await this.fireDue(d.namespace, d.id, now)) {
          if (o.taskId || o.workflowId) result.fired++;
          else result.skipped++;
        }
      } catch (e) {
        if (isDomainError(e, 'not_leader') || isDomainError(e, 'unavailable')) throw e;
        // One broken schedule must not hold up the others; it is retried next poll.
        failed = true;
        this.base.logger.error({ err: e, schedule: d.id }, 'schedule fire failed');
      }
    }
    const next = (await scheduleNextDue(this.opts.db.orm))?.getTime() ?? null;
    if (failed) result.nextAt = now + this.opts.pollMs;
    else result.nextAt = due.length >= batch ? now : next;
    return result;
  }

  private async fireDue(namespace: string, id: string, now: number): Promise<FireOutcome[]> {
    const outcomes = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      const s = await scheduleGet(tx, { namespace, id, forUpdate: true });
      if (!s || s.paused || !s.nextFireAt || s.nextFireAt.getTime() > now) return [];
      const cron = CronSchedule.of(s.cron, s.timeZone);
      const plan = planFires(cron, s, s.cursorAt.getTime(), now, this.opts.maxRunsPerPass ?? 1000);
      if (plan.dropped) {
        this.base.logger.info({ schedule: s.id, after: new Date(plan.dropped.after), until: new Date(plan.dropped.until), policy: s.misfirePolicy }, 'missed fires dropped by the misfire policy');
      }
      const done: FireOutcome[] = [];
      let last: { fireAt: Date; taskId: string | null; workflowId: string | null } | null = null;
      for (const t of plan.runs) {
        const o = await scheduleFire(tx, { schedule: s, fireAt: new Date(t), manual: false, epoch: this.opts.epoch, limits: this.opts.limits, now: new Date(now) });
        if (!o.recorded) continue;
        done.push(o);
        if (o.taskId || o.workflowId) {
          last = { fireAt: o.fireAt, taskId: o.taskId, workflowId: o.workflowId };
          // The overlap policy of the next fire in this pass sees this run as the previous one.
          Object.assign(s, { lastTaskId: o.taskId, lastWorkflowId: o.workflowId });
        }
      }
      await scheduleAdvance(tx, { id: s.id, cursorAt: new Date(plan.cursor), nextFireAt: nextFireAt(cron, s, plan.cursor), last });
      return done;
    });
    this.announce(id, outcomes);
    return outcomes;
  }

  private announce(scheduleId: string, outcomes: FireOutcome[]): void {
    const queues = new Set<string>();
    for (const o of outcomes) {
      for (const q of o.readyQueues) queues.add(q);
      if (o.dueAtMs !== null) this.opts.hints.dueAt(o.dueAtMs);
      for (const c of o.cancelled) this.opts.hints.cancelled(c.taskId, c.attempt);
      this.emit('fire', { ...o, scheduleId });
    }
    if (queues.size > 0) this.opts.hints.hint([...queues]);
  }
}
