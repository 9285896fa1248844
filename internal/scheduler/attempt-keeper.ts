import { EventEmitter } from 'node:events';
import { afterFailure } from '../domain/retry.js';
import type { Json, RetryPolicy, TaskError } from '../domain/task.js';
import type { Base } from '../shared/base.js';
import { GroupCommit } from '../shared/group-commit.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import {
  attemptAlreadyEnded, attemptFinishMany, taskCheckpoint, taskListRunning, taskStillLeased, type Finish,
} from '../storage/dispatch-store.js';
import { leadershipFence } from '../storage/leadership-store.js';
import { reconnectBackoff } from '../shared/backoff.js';
import { LeaseTable, type Lapse, type Lease } from './lease-table.js';
import type { AttemptRef, ResultIn } from './messages.js';
import type { WorkerSession } from './worker-session.js';
import { workflowPropagate } from '../storage/workflow-store.js';
import { ATTR, endSpan, startResultSpan } from '../observability/spans.js';

/** An attempt's end, applied: the task's next status and what ended the attempt. */
export interface Finished {
  taskId: string;
  attempt: number;
  /** The task's status after it: SUCCEEDED, FAILED, DEAD_LETTERED, or PENDING/QUEUED for a retry. */
  status: string;
  queue: string;
  type: string;
  runAt: Date | null;
  /** The failure's kind (e.g. worker_lost, timeout, or the worker's); null on success. */
  errorKind: string | null;
  /** From the attempt's start to its end being applied. */
  durationMs: number;
}

export interface KeeperEvents {
  finished: [Finished];
  lapsed: [{ taskId: string; attempt: number; why: Lapse; session: WorkerSession | undefined }];
  /** The leader itself stalled for `ms`; leases were extended by as much. */
  stalled: [{ ms: number }];
  /** Workflow tasks released by parents' success: kick dispatch. */
  released: [{ queues: string[]; dueAtMs: number | null }];
}

/** A finish on its way to Postgres, with what the 'finished' event reports. */
type Finishing = Finish & { queue: string; type: string; startedAt: number };

/** A new lease from a claim. */
export interface LeaseInit extends AttemptRef {
  workerId: string;
  queue: string;
  type: string;
  retryPolicy: RetryPolicy;
  timeoutMs: number | null;
  /** W3C trace context of the dispatch span. */
  traceContext?: Record<string, string>;
}

/**
 * The leader's running attempts for one term: holds their leases, applies results and
 * checkpoints (fenced by lease token and epoch), ends attempts whose lease lapsed or
 * whose timeout passed, and drops leases of tasks cancelled through the API. Finishes
 * are group-committed.
 */
export class AttemptKeeper extends EventEmitter<KeeperEvents> {
  readonly leases: LeaseTable;
  private readonly finisher: GroupCommit<Finishing, boolean>;

  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; epoch: number; leaseTtlMs: number },
  ) {
    super();
    this.leases = new LeaseTable(opts.leaseTtlMs);
    this.finisher = new GroupCommit((items) => this.writeFinishes(items));
  }

  /** Loads the previous term's running attempts as orphans (see docs/architecture.md). */
  async load(): Promise<number> {
    const running = await taskListRunning(this.opts.db.orm);
    const mono = this.base.clock.monotonic();
    const wall = this.base.clock.now();
    // A live worker needs up to one reconnect backoff to find this leader, then its
    // leases get a full TTL as if it had just heartbeated: failover alone never re-runs.
    const expiresAt = mono + this.opts.leaseTtlMs + 2 * reconnectBackoff.maxMs;
    for (const r of running) {
      const deadlineAt = r.timeoutMs ? mono + (r.attemptStartedAt.getTime() + r.timeoutMs - wall) : Infinity;
      this.leases.add({
        taskId: r.taskId, attempt: r.attempt, leaseToken: r.leaseToken, workerId: r.workerId, queue: r.queue, type: r.type,
        retryPolicy: r.retryPolicy, timeoutMs: r.timeoutMs, session: undefined, orphanExpiresAt: expiresAt, finishing: false, deadlineAt,
        startedAt: mono - Math.max(0, wall - r.attemptStartedAt.getTime()),
      });
    }
    return running.length;
  }

  /** Records the lease of a fresh assignment; returns its deadline (wall clock) if it has a timeout. */
  add(init: LeaseInit, session: WorkerSession | undefined): Date | null {
    const mono = this.base.clock.monotonic();
    this.leases.add({
      ...init, session, orphanExpiresAt: mono + this.opts.leaseTtlMs, finishing: false,
      deadlineAt: init.timeoutMs ? mono + init.timeoutMs : Infinity, startedAt: mono,
    });
    return init.timeoutMs ? new Date(this.base.clock.now() + init.timeoutMs) : null;
  }

  /** Answers a worker's result with a ResultAck: accepted, or FAILED_PRECONDITION for a stale lease. */
  async result(session: WorkerSession, r: ResultIn): Promise<void> {
    const lease = this.leases.match(r.ref);
    // A child of the worker's execute span; of the dispatch span when the worker sent no trace context.
    const span = startResultSpan(
      { taskId: r.ref.taskId, attempt: r.ref.attempt, outcome: r.error ? 'failed' : 'succeeded' },
      r.traceContext?.traceparent ? r.traceContext : lease?.traceContext,
    );
    let accepted: boolean;
    try {
      accepted = await this.apply(lease, r);
    } catch (e) {
      endSpan(span, e);
      throw e;
    }
    span.setAttribute(ATTR.accepted, accepted);
    span.end();
    session.send(
      accepted
        ? { kind: 'result_ack', ref: r.ref, accepted: true }
        : { kind: 'result_ack', ref: r.ref, accepted: false, code: 'FAILED_PRECONDITION', message: 'stale lease: the attempt is no longer current' },
    );
  }

  /** Writes result `r` if its lease still holds; else whether the attempt already ended the same way (a re-sent result). */
  private async apply(lease: Lease | undefined, r: ResultIn): Promise<boolean> {
    if (!lease || lease.finishing) {
      await this.finisher.idle();
      return attemptAlreadyEnded(this.opts.db.orm, {
        taskId: r.ref.taskId, attempt: r.ref.attempt, leaseToken: r.ref.leaseToken,
        attemptStatus: r.error ? 'FAILED' : 'SUCCEEDED', errorKind: r.error ? r.error.kind : null,
      });
    }
    lease.finishing = true;
    try {
      return await this.finisher.submit(this.finishOf(lease, r.output, r.error));
    } catch (e) {
      lease.finishing = false;
      throw e;
    }
  }

  /** Stores a checkpoint (compare-and-set on its version) and answers with a CheckpointAck. */
  async checkpoint(session: WorkerSession, ref: AttemptRef, data: Json, expected: number): Promise<void> {
    const lease = this.leases.match(ref);
    const out = !lease || lease.finishing
      ? ({ ok: false, code: 'FAILED_PRECONDITION', version: 0 } as const)
      : await this.opts.db.tx(async (tx) => {
          await leadershipFence(tx, { epoch: this.opts.epoch });
          return taskCheckpoint(tx, { ...ref, data, expected, now: new Date(this.base.clock.now()) });
        });
    session.send(out.ok
      ? { kind: 'checkpoint_ack', ref, ok: true, version: out.version }
      : {
          kind: 'checkpoint_ack', ref, ok: false, version: out.version, code: out.code,
          message: out.code === 'ABORTED' ? `checkpoint version ${expected} is stale; the stored version is ${out.version}` : 'stale lease',
        });
  }

  /** A running attempt was cancelled through the API: tell its worker, forget the lease. */
  cancelled(taskId: string, attempt: number, reason = 'cancelled'): void {
    const lease = this.leases.get(taskId);
    if (!lease || lease.attempt !== attempt || lease.finishing) return;
    lease.session?.send({ kind: 'cancel', ref: lease, reason });
    this.leases.delete(taskId);
  }

  /** Ends lapsed and timed-out attempts until `signal` aborts; every `reconcileMs`, drops leases of tasks no longer running. */
  async run(signal: AbortSignal, reconcileMs: number): Promise<void> {
    const every = Math.max(20, Math.min(250, Math.floor(this.opts.leaseTtlMs / 4)));
    let lastReconcile = this.base.clock.monotonic();
    let lastTick = lastReconcile;
    while (await sleep(every, signal)) {
      const now = this.base.clock.monotonic();
      // This process stalled (GC, SIGSTOP, an overloaded host): the heartbeats that came
      // meanwhile are not read yet, so the stall does not count against any worker. Only
      // the sleep's overrun counts (lastTick is taken after the previous tick's awaits,
      // which let heartbeats in).
      const stalled = now - lastTick - every;
      if (stalled > every) {
        this.leases.forgive(stalled);
        this.base.logger.warn({ stalledMs: Math.round(stalled) }, 'leader stalled; lease clocks moved on by the stall');
        this.emit('stalled', { ms: stalled });
      }
      for (const { lease, why } of this.leases.lapsed(now)) this.lapse(lease, why);
      if (now - lastReconcile >= reconcileMs) {
        lastReconcile = now;
        await this.reconcile().catch((e) => this.base.logger.warn({ err: (e as Error).message }, 'lease reconciliation failed'));
      }
      lastTick = this.base.clock.monotonic();
    }
    await this.finisher.idle();
  }

  private lapse(lease: Lease, why: Lapse): void {
    lease.finishing = true;
    const holder = lease.session;
    const error: TaskError = why === 'timeout'
      ? { message: `attempt timed out after ${lease.timeoutMs} ms`, kind: 'timeout', retryable: true }
      : { message: `lease lapsed: no heartbeat for ${this.opts.leaseTtlMs} ms`, kind: 'worker_lost', retryable: true };
    this.emit('lapsed', { taskId: lease.taskId, attempt: lease.attempt, why, session: holder });
    const span = startResultSpan({ taskId: lease.taskId, attempt: lease.attempt, outcome: why }, lease.traceContext);
    this.finisher.submit(this.finishOf(lease, null, error)).then(
      (applied) => {
        span.setAttribute(ATTR.accepted, applied);
        span.end();
        if (applied && holder) holder.send({ kind: 'cancel', ref: lease, reason: why === 'timeout' ? 'timed out' : 'lease lapsed' });
      },
      (e) => {
        endSpan(span, e);
        lease.finishing = false;
        this.base.logger.warn({ err: (e as Error).message, taskId: lease.taskId }, 'lapse write failed');
      },
    );
  }

  private async reconcile(): Promise<void> {
    const leases = this.leases.all();
    if (leases.length === 0) return;
    const live = await taskStillLeased(this.opts.db.orm, { refs: leases.map((l) => ({ taskId: l.taskId, attempt: l.attempt, leaseToken: l.leaseToken })) });
    for (const l of leases) if (!live.has(l.taskId) && !l.finishing) this.cancelled(l.taskId, l.attempt, 'no longer running');
  }

  private finishOf(lease: Lease, output: Json | null, error: TaskError | null): Finishing {
    const base = {
      taskId: lease.taskId, attempt: lease.attempt, leaseToken: lease.leaseToken, queue: lease.queue, type: lease.type, startedAt: lease.startedAt,
    };
    if (!error) return { ...base, taskStatus: 'SUCCEEDED', attemptStatus: 'SUCCEEDED', output, error: null, runAt: null };
    const next = afterFailure(lease.retryPolicy, lease.attempt, error, this.base.clock.now());
    return {
      ...base, taskStatus: next.status, attemptStatus: 'FAILED', output: null, error,
      runAt: next.runAt === null ? null : new Date(next.runAt),
    };
  }

  private async writeFinishes(items: Finishing[]): Promise<boolean[]> {
    const now = new Date(this.base.clock.now());
    const { applied, propagation } = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      const applied = await attemptFinishMany(tx, { epoch: this.opts.epoch, finishes: items, now });
      // Workflow release and failure handling commit with the finish: no gap a failover could fall into.
      const ended = [...applied].filter(([, a]) => a.workflowId).map(([id, a]) => ({ id, status: a.status }));
      return { applied, propagation: ended.length > 0 ? await workflowPropagate(tx, { ended, now }) : undefined };
    });
    if (propagation) {
      for (const c of propagation.cancelled) this.cancelled(c.taskId, c.attempt, 'workflow failed');
      this.emit('released', { queues: propagation.readyQueues, dueAtMs: propagation.dueAtMs });
    }
    const mono = this.base.clock.monotonic();
    for (const f of items) {
      this.leases.delete(f.taskId);
      if (applied.has(f.taskId)) {
        this.emit('finished', {
          taskId: f.taskId, attempt: f.attempt, status: f.taskStatus, queue: f.queue, type: f.type, runAt: f.runAt,
          errorKind: f.error ? f.error.kind : null, durationMs: Math.max(0, mono - f.startedAt),
        });
      }
    }
    return items.map((f) => applied.has(f.taskId));
  }
}
