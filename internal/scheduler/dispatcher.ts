import { EventEmitter } from 'node:events';
import { isDomainError } from '../domain/errors.js';
import { afterFailure } from '../domain/retry.js';
import type { TaskError } from '../domain/task.js';
import { reconnectBackoff } from '../shared/backoff.js';
import type { Base } from '../shared/base.js';
import { GroupCommit } from '../shared/group-commit.js';
import { Kicker } from '../shared/kicker.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import {
  attemptAlreadyEnded, attemptFinishMany, leadershipFence, taskClaimReady, taskListRunning, taskNextDue, taskPromoteDue,
  type Claimed, type Finish,
} from '../storage/dispatch-store.js';
import { LeaseTable, type Lease } from './lease-table.js';
import type { AttemptRef, HelloIn, ResultIn } from './messages.js';
import { WorkerSession } from './worker-session.js';

export interface DispatcherOptions {
  db: Db;
  /** The term this dispatcher serves; every write is fenced by it. */
  epoch: number;
  leaseTtlMs: number;
  /** How often the leader looks in Postgres without a hint. */
  pollMs: number;
  /** Most tasks claimed in one statement. Default 512. */
  maxClaim?: number;
}

export interface DispatcherEvents {
  assigned: [{ taskId: string; attempt: number; workerId: string }];
  finished: [{ taskId: string; attempt: number; status: string }];
  expired: [{ taskId: string; attempt: number }];
}

/**
 * The leader's work for one term: keeps worker sessions and their credits, claims ready
 * tasks from Postgres in priority order for the credits granted, holds the leases, and
 * writes results and lapsed leases in group-committed batches. Every write is fenced by
 * the term's epoch; a fence failure ends the term.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly leases: LeaseTable;
  private readonly kicker = new Kicker();
  /** "<group>\0<queue>" pairs whose last claim came back short: no claim until new work. */
  private readonly empty = new Set<string>();
  private readonly finisher: GroupCommit<Finish, boolean>;
  private nextDueAt = 0;
  private markReady!: () => void;
  /** Resolves once the leases of the previous term are loaded; sessions wait for it. */
  readonly ready = new Promise<void>((r) => (this.markReady = r));
  private markEnded!: () => void;
  /** Resolves when the term's work has stopped. */
  readonly ended = new Promise<void>((r) => (this.markEnded = r));

  constructor(private readonly base: Base, private readonly opts: DispatcherOptions) {
    super();
    if (opts.leaseTtlMs <= 0 || opts.pollMs <= 0) throw new Error('leaseTtlMs and pollMs must be positive');
    this.leases = new LeaseTable(opts.leaseTtlMs);
    this.finisher = new GroupCommit((items) => this.writeFinishes(items));
  }

  get epoch(): number {
    return this.opts.epoch;
  }

  /** Serves the term until `signal` aborts; then closes every session and settles. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.loadLeases();
      this.markReady();
      await Promise.all([this.dispatchLoop(signal), this.expiryLoop(signal)]);
    } finally {
      for (const s of this.sessions.values()) s.close('leadership ended');
      this.sessions.clear();
      await this.finisher.idle();
      this.markEnded();
    }
  }

  /** Registers a worker stream; adopts the attempts it re-announces whose leases are live. */
  attach(hello: HelloIn): { session: WorkerSession; adopted: AttemptRef[] } {
    const session = new WorkerSession(hello, this.base.clock.monotonic());
    this.sessions.set(session.id, session);
    const adopted: AttemptRef[] = [];
    for (const ref of hello.running) {
      const lease = this.leases.match(ref);
      if (lease && !lease.finishing) {
        this.leases.adopt(lease, session);
        adopted.push(ref);
      }
    }
    this.base.logger.info({ workerId: hello.workerId, session: session.id, adopted: adopted.length }, 'worker attached');
    return { session, adopted };
  }

  /** The stream ended: the session's leases become orphans that lapse one TTL after its last heartbeat. */
  detach(session: WorkerSession, reason: string): void {
    if (!this.sessions.delete(session.id)) return;
    this.leases.orphanAll(session);
    session.close(reason);
    this.base.logger.info({ workerId: session.workerId, session: session.id, reason }, 'worker detached');
  }

  credit(session: WorkerSession, slots: number): void {
    this.seen(session);
    session.credits += slots;
    this.kicker.kick();
  }

  heartbeat(session: WorkerSession): void {
    this.seen(session);
  }

  drain(session: WorkerSession): void {
    this.seen(session);
    session.draining = true;
  }

  /** New work may be ready in `queues` (a hint); all queues when empty. */
  hint(queues: string[]): void {
    if (queues.length === 0) this.empty.clear();
    else for (const key of [...this.empty]) if (queues.includes(key.slice(key.indexOf('\u0000') + 1))) this.empty.delete(key);
    this.kicker.kick();
  }

  /**
   * Ends an attempt with the worker's result, fenced by its lease; answers the worker
   * with a ResultAck: accepted, or FAILED_PRECONDITION for a stale lease.
   */
  async result(session: WorkerSession, r: ResultIn): Promise<void> {
    this.seen(session);
    const lease = this.leases.match(r.ref);
    let accepted: boolean;
    if (!lease || lease.finishing) {
      accepted = await this.alreadyEnded(r);
    } else {
      lease.finishing = true;
      accepted = await this.finisher.submit(this.finishOf(lease, r.output, r.error));
    }
    session.send(
      accepted
        ? { kind: 'result_ack', ref: r.ref, accepted: true }
        : { kind: 'result_ack', ref: r.ref, accepted: false, code: 'FAILED_PRECONDITION', message: 'stale lease: the attempt is no longer current' },
    );
  }

  private seen(session: WorkerSession): void {
    session.lastSeen = this.base.clock.monotonic();
  }

  private async alreadyEnded(r: ResultIn): Promise<boolean> {
    await this.finisher.idle();
    return attemptAlreadyEnded(this.opts.db.orm, {
      taskId: r.ref.taskId, attempt: r.ref.attempt, leaseToken: r.ref.leaseToken,
      attemptStatus: r.error ? 'FAILED' : 'SUCCEEDED', errorKind: r.error ? r.error.kind : null,
    });
  }

  private finishOf(lease: Lease, output: ResultIn['output'], error: TaskError | null): Finish & { queue: string } {
    const base = { taskId: lease.taskId, attempt: lease.attempt, leaseToken: lease.leaseToken, queue: lease.queue };
    if (!error) return { ...base, taskStatus: 'SUCCEEDED', attemptStatus: 'SUCCEEDED', output, error: null, runAt: null };
    const next = afterFailure(lease.retryPolicy, lease.attempt, error, this.base.clock.now());
    return {
      ...base, taskStatus: next.status, attemptStatus: 'FAILED', output: null, error,
      runAt: next.runAt === null ? null : new Date(next.runAt),
    };
  }

  private async writeFinishes(items: Finish[]): Promise<boolean[]> {
    const now = new Date(this.base.clock.now());
    const applied = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      return attemptFinishMany(tx, { epoch: this.opts.epoch, finishes: items, now });
    });
    for (const f of items) {
      this.leases.delete(f.taskId);
      if (!applied.has(f.taskId)) continue;
      this.emit('finished', { taskId: f.taskId, attempt: f.attempt, status: f.taskStatus });
      if (f.taskStatus === 'QUEUED') this.hint([(f as Finish & { queue: string }).queue]);
      if (f.taskStatus === 'PENDING' && f.runAt) this.dueAt(f.runAt.getTime());
    }
    return items.map((f) => applied.has(f.taskId));
  }

  private dueAt(ms: number): void {
    if (this.nextDueAt === 0 || ms < this.nextDueAt) this.nextDueAt = ms;
    this.kicker.kick();
  }

  private async loadLeases(): Promise<void> {
    const running = await taskListRunning(this.opts.db.orm);
    // A live worker needs up to one reconnect backoff to find this leader, then its
    // leases get a full TTL as if it had just heartbeated: failover alone never re-runs.
    const expiresAt = this.base.clock.monotonic() + this.opts.leaseTtlMs + 2 * reconnectBackoff.maxMs;
    for (const r of running) {
      this.leases.add({
        taskId: r.taskId, attempt: r.attempt, leaseToken: r.leaseToken, queue: r.queue, retryPolicy: r.retryPolicy,
        timeoutMs: r.timeoutMs, session: undefined, orphanExpiresAt: expiresAt, finishing: false,
      });
    }
    this.base.logger.info({ epoch: this.opts.epoch, running: running.length }, 'leases loaded');
  }

  private async dispatchLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const untilDue = this.nextDueAt > 0 ? this.nextDueAt - this.base.clock.now() : this.opts.pollMs;
      const kicked = await this.kicker.wait(Math.min(this.opts.pollMs, Math.max(0, untilDue)), signal);
      if (signal.aborted) break;
      try {
        if (!kicked) this.empty.clear();
        await this.promoteDue(!kicked);
        if (await this.dispatchRound()) this.kicker.kick();
        failures = 0;
      } catch (e) {
        if (isDomainError(e, 'not_leader')) throw e;
        failures++;
        this.base.logger.warn({ err: (e as Error).message, failures }, 'dispatch round failed');
        await sleep(Math.min(100 * 2 ** failures, 2_000), signal);
      }
    }
  }

  private async promoteDue(poll: boolean): Promise<void> {
    const now = this.base.clock.now();
    if (!poll && (this.nextDueAt === 0 || this.nextDueAt > now)) return;
    this.nextDueAt = 0;
    const promoted = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      return taskPromoteDue(tx, { epoch: this.opts.epoch, now: new Date(now), limit: 10_000 });
    });
    if (promoted.count > 0) this.hint(promoted.queues);
    const next = await taskNextDue(this.opts.db.orm);
    if (next) this.dueAt(next.getTime());
  }

  /** One pass over every group of sessions with credits; true when more work may be waiting. */
  private async dispatchRound(): Promise<boolean> {
    const groups = new Map<string, WorkerSession[]>();
    for (const s of this.sessions.values()) {
      if (s.credits <= 0 || s.draining || s.closedReason) continue;
      const g = groups.get(s.groupKey);
      if (g) g.push(s);
      else groups.set(s.groupKey, [s]);
    }
    let more = false;
    for (const [key, members] of groups) {
      for (const queue of (members[0] as WorkerSession).hello.queues) {
        if (this.empty.has(`${key}\u0000${queue}`)) continue;
        const slots = interleave(members, this.opts.maxClaim ?? 512);
        if (slots.length === 0) break;
        const claimed = await this.claim(queue, (members[0] as WorkerSession).hello.taskTypes, slots);
        if (claimed < slots.length) this.empty.add(`${key}\u0000${queue}`);
        else more = true;
      }
    }
    return more;
  }

  private async claim(queue: string, types: string[], slots: WorkerSession[]): Promise<number> {
    const now = this.base.clock.now();
    const claimed = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      return taskClaimReady(tx, { epoch: this.opts.epoch, queue, types, slots: slots.map((s) => s.workerId), now: new Date(now) });
    });
    for (const c of claimed) this.assign(slots[c.slot] as WorkerSession, c, now);
    return claimed.length;
  }

  private assign(session: WorkerSession, c: Claimed, now: number): void {
    session.credits--;
    const live = !session.closedReason;
    this.leases.add({
      taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken, queue: c.queue, retryPolicy: c.retryPolicy,
      timeoutMs: c.timeoutMs, session: live ? session : undefined,
      orphanExpiresAt: this.base.clock.monotonic() + this.opts.leaseTtlMs, finishing: false,
    });
    session.send({
      kind: 'assign',
      ref: { taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken },
      namespace: c.namespace, type: c.type, queue: c.queue, payload: c.payload, idempotencyKey: c.idempotencyKey,
      labels: c.labels, deadline: c.timeoutMs ? new Date(now + c.timeoutMs) : null, checkpoint: null,
    });
    this.emit('assigned', { taskId: c.id, attempt: c.attempt, workerId: session.workerId });
  }

  private async expiryLoop(signal: AbortSignal): Promise<void> {
    const every = Math.max(50, Math.min(1_000, Math.floor(this.opts.leaseTtlMs / 4)));
    while (await sleep(every, signal)) {
      for (const lease of this.leases.expired(this.base.clock.monotonic())) {
        lease.finishing = true;
        const holder = lease.session;
        const error: TaskError = {
          message: `lease lapsed: no heartbeat for ${this.opts.leaseTtlMs} ms`, kind: 'worker_lost', retryable: true,
        };
        this.emit('expired', { taskId: lease.taskId, attempt: lease.attempt });
        this.finisher.submit(this.finishOf(lease, null, error)).then(
          (applied) => {
            if (applied && holder) holder.send({ kind: 'cancel', ref: lease, reason: 'lease lapsed' });
          },
          (e) => {
            lease.finishing = false;
            this.base.logger.warn({ err: (e as Error).message, taskId: lease.taskId }, 'lease expiry write failed');
          },
        );
      }
    }
  }
}

/** Spreads up to `max` slots round-robin over the sessions' credits. */
function interleave(sessions: WorkerSession[], max: number): WorkerSession[] {
  const left = sessions.map((s) => s.credits);
  const out: WorkerSession[] = [];
  for (let more = true; more && out.length < max; ) {
    more = false;
    sessions.forEach((s, i) => {
      if ((left[i] as number) > 0 && out.length < max) {
        out.push(s);
        left[i] = (left[i] as number) - 1;
        more = true;
      }
    });
  }
  return out;
}
