import { EventEmitter } from 'node:events';
import { isDomainError } from '../domain/errors.js';
import type { Json } from '../domain/task.js';
import type { Base } from '../shared/base.js';
import { Kicker } from '../shared/kicker.js';
import { sleep } from '../shared/sleep.js';
import type { Db } from '../storage/db.js';
import {
  taskAssignments, taskClaimReady, taskNextDue, taskPromoteDue, type Claimed,
} from '../storage/dispatch-store.js';
import { leadershipFence } from '../storage/leadership-store.js';
import { ATTR, startDispatchSpan, type TraceCarrier } from '../observability/spans.js';
import { AttemptKeeper } from './attempt-keeper.js';
import type { AttemptRef, HelloIn, ResultIn, ToWorker } from './messages.js';
import { WorkerSession } from './worker-session.js';

export interface DispatcherOptions {
  db: Db;
  /** The term this dispatcher serves; every write is fenced by it. */
  epoch: number;
  leaseTtlMs: number;
  /** How often the leader looks in Postgres without a hint. */
  pollMs: number;
  /** A ready task waiting longer than this may take the aging slot (see docs/semantics.md). */
  agingMs: number;
  /** Every `agingEvery`-th dispatch from a queue goes to its oldest aged task. Default 10. */
  agingEvery?: number;
  /** Most tasks claimed in one statement. Default 512. */
  maxClaim?: number;
}

/** A connected worker as ClusterService shows it. */
export interface WorkerView {
  workerId: string;
  sessionId: string;
  queues: string[];
  taskTypes: string[];
  slots: number;
  credits: number;
  running: number;
  draining: boolean;
  idleMs: number;
  labels: Record<string, string>;
  /** The namespaces it serves; ["*"] for all. */
  namespaces: string[];
}

export interface DispatcherEvents {
  /**
   * An attempt went to a worker: a new claim, with how long the task had been ready
   * (`waitedMs`), or an undelivered attempt sent again (`redelivered`, not a new dispatch).
   */
  assigned: [{ taskId: string; attempt: number; workerId: string; queue: string; type: string } & ({ redelivered: true } | { redelivered: false; waitedMs: number })];
}

/**
 * The leader's work for one term: keeps worker sessions and their credits, promotes due
 * tasks, and claims ready tasks from Postgres in priority order (with an aging slot) for
 * the credits granted. Running attempts are the AttemptKeeper's. Every write is fenced by
 * the term's epoch; a fence failure ends the term.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  private readonly sessions = new Map<string, WorkerSession>();
  readonly keeper: AttemptKeeper;
  private readonly kicker = new Kicker();
  /** "<group>\0<queue>" pairs whose last claim came back short: no claim until new work. */
  private readonly empty = new Set<string>();
  /** Priority-ordered dispatches per queue since its last aging slot. */
  private readonly sinceAged = new Map<string, number>();
  private nextDueAt = 0;
  private markReady!: () => void;
  /** Resolves once the previous term's leases are loaded; sessions wait for it. */
  readonly ready = new Promise<void>((r) => (this.markReady = r));
  private markEnded!: () => void;
  /** Resolves when the term's work has stopped. */
  readonly ended = new Promise<void>((r) => (this.markEnded = r));

  constructor(private readonly base: Base, private readonly opts: DispatcherOptions) {
    super();
    if (opts.leaseTtlMs <= 0 || opts.pollMs <= 0 || opts.agingMs <= 0) throw new Error('leaseTtlMs, pollMs and agingMs must be positive');
    this.keeper = new AttemptKeeper(base, { db: opts.db, epoch: opts.epoch, leaseTtlMs: opts.leaseTtlMs });
    // A session silent past the lease TTL is dead (crashed, frozen, partitioned) even if
    // its TCP connection looks open: drop it so no new work goes there.
    this.keeper.on('lapsed', (e) => {
      if (e.why === 'worker_lost' && e.session) this.detach(e.session, 'silent past the lease TTL');
    });
    this.keeper.on('released', (r) => {
      if (r.queues.length > 0) this.hint(r.queues);
      if (r.dueAtMs !== null) this.dueAt(r.dueAtMs);
    });
    this.keeper.on('finished', (f) => {
      if (f.status === 'QUEUED') this.hint([f.queue]);
      if (f.status === 'PENDING' && f.runAt) this.dueAt(f.runAt.getTime());
    });
  }

  get epoch(): number {
    return this.opts.epoch;
  }

  /** Serves the term until `signal` aborts; then closes every session and settles. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      const running = await this.keeper.load();
      this.base.logger.info({ epoch: this.opts.epoch, running }, 'leases loaded');
      this.markReady();
      await Promise.all([this.dispatchLoop(signal), this.keeper.run(signal, this.opts.pollMs)]);
    } finally {
      for (const s of this.sessions.values()) s.close('leadership ended');
      this.sessions.clear();
      this.markEnded();
    }
  }

  /**
   * Registers a worker stream; adopts the attempts it re-announces whose leases are live.
   * Orphaned leases claimed for this worker that it does not announce were never
   * delivered (the old leader or the stream died between the claim and the Assign; a
   * worker announces every attempt it holds, results unacknowledged included): they are
   * re-sent to it as it grants credit, the same attempt, so a failover costs no attempt.
   */
  attach(hello: HelloIn): { session: WorkerSession; adopted: AttemptRef[] } {
    const session = new WorkerSession(hello, this.base.clock.monotonic());
    this.sessions.set(session.id, session);
    const adopted: AttemptRef[] = [];
    for (const ref of hello.running) {
      const lease = this.keeper.leases.match(ref);
      if (lease && !lease.finishing) {
        this.keeper.leases.adopt(lease, session);
        adopted.push(ref);
      }
    }
    const announced = new Set(hello.running.map((r) => r.taskId));
    const undelivered = this.keeper.leases.orphansOf(hello.workerId).filter((l) => !announced.has(l.taskId));
    if (undelivered.length > 0) void this.redeliver(session, undelivered);
    this.base.logger.info(
      { workerId: hello.workerId, session: session.id, adopted: adopted.length, undelivered: undelivered.length }, 'worker attached');
    return { session, adopted };
  }

  /** Reads the undelivered assignments back from Postgres, then sends them as credits allow. */
  private async redeliver(session: WorkerSession, leases: AttemptRef[]): Promise<void> {
    session.undelivered = undefined;
    try {
      const refs = leases.map((l) => ({ taskId: l.taskId, attempt: l.attempt, leaseToken: l.leaseToken }));
      session.undelivered = await taskAssignments(this.opts.db.orm, { refs });
    } catch (e) {
      // Not fatal: the orphaned leases lapse and the tasks are retried.
      this.base.logger.warn({ err: (e as Error).message, workerId: session.workerId }, 'reading undelivered assignments failed');
      session.undelivered = [];
    }
    this.flushUndelivered(session);
    this.kicker.kick();
  }

  /** Re-sends undelivered assignments whose leases are still orphaned, one per credit. */
  private flushUndelivered(session: WorkerSession): void {
    const queue = session.undelivered;
    while (queue && queue.length > 0 && session.credits > 0 && !session.closedReason) {
      const c = queue.shift() as Claimed & { startedAt: Date };
      const lease = this.keeper.leases.match({ taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken });
      if (!lease || lease.finishing || lease.session) continue;
      this.keeper.leases.adopt(lease, session);
      session.credits--;
      const { span, carrier } = startDispatchSpan({ ...spanOf(c), workerId: session.workerId });
      span.setAttribute(ATTR.redelivered, true);
      lease.traceContext = carrier;
      session.send(assignOf(c, c.timeoutMs ? new Date(c.startedAt.getTime() + c.timeoutMs) : null, carrier));
      span.end();
      this.base.logger.info({ taskId: c.id, attempt: c.attempt, workerId: session.workerId, correlationId: c.correlationId ?? undefined }, 'undelivered attempt re-sent');
      this.emit('assigned', { taskId: c.id, attempt: c.attempt, workerId: session.workerId, queue: c.queue, type: c.type, redelivered: true });
    }
  }

  /** The stream ended: its leases become orphans that lapse one TTL after its last heartbeat. */
  detach(session: WorkerSession, reason: string): void {
    if (!this.sessions.delete(session.id)) return;
    this.keeper.leases.orphanAll(session);
    session.close(reason);
    this.base.logger.info({ workerId: session.workerId, session: session.id, reason }, 'worker detached');
  }

  /**
   * A Credit: `slots` more assignments, or fewer when negative (unused credit taken back,
   * never below zero: assignments already sent stand); `totalSlots` when the worker's
   * slot count changed while connected.
   */
  credit(session: WorkerSession, slots: number, totalSlots?: number): void {
    this.seen(session);
    if (totalSlots !== undefined && totalSlots > 0) session.slots = totalSlots;
    session.credits = Math.max(0, session.credits + slots);
    this.flushUndelivered(session);
    this.kicker.kick();
  }

  heartbeat(session: WorkerSession): void {
    this.seen(session);
  }

  drain(session: WorkerSession): void {
    this.seen(session);
    session.draining = true;
  }

  result(session: WorkerSession, r: ResultIn): Promise<void> {
    this.seen(session);
    return this.keeper.result(session, r);
  }

  checkpoint(session: WorkerSession, ref: AttemptRef, data: Json, expected: number): Promise<void> {
    this.seen(session);
    return this.keeper.checkpoint(session, ref, data, expected);
  }

  /** A running attempt was cancelled through the API (a hint; reconciliation catches lost ones). */
  cancelled(taskId: string, attempt: number): void {
    this.keeper.cancelled(taskId, attempt);
  }

  /** New work may be ready in `queues` (a hint); all queues when empty. */
  hint(queues: string[]): void {
    if (queues.length === 0) this.empty.clear();
    else for (const key of [...this.empty]) if (queues.includes(key.slice(key.indexOf('\u0000') + 1))) this.empty.delete(key);
    this.kicker.kick();
  }

  /** Something is due at `ms` (wall clock): wake then to promote it. */
  dueAt(ms: number): void {
    if (this.nextDueAt === 0 || ms < this.nextDueAt) this.nextDueAt = ms;
    this.kicker.kick();
  }

  /** The connected workers and the lease count, for ClusterService. */
  describe(): { workers: WorkerView[]; leases: number } {
    const now = this.base.clock.monotonic();
    const workers = [...this.sessions.values()].map((s) => ({
      workerId: s.workerId, sessionId: s.id, queues: s.hello.queues, taskTypes: s.hello.taskTypes, slots: s.slots,
      credits: s.credits, running: s.held.size, draining: s.draining, idleMs: Math.max(0, now - s.lastSeen), labels: s.hello.labels,
      namespaces: s.hello.namespaces,
    }));
    return { workers, leases: this.keeper.leases.size };
  }

  private seen(session: WorkerSession): void {
    session.lastSeen = this.base.clock.monotonic();
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
    const silentSince = this.base.clock.monotonic() - this.opts.leaseTtlMs / 2;
    for (const s of this.sessions.values()) {
      // Heartbeats come several times per lease TTL: a quiet session gets no new work.
      if (s.credits <= 0 || s.draining || s.closedReason || s.lastSeen < silentSince) continue;
      // Undelivered attempts take this session's credits before new work does.
      if (s.undelivered === undefined || s.undelivered.length > 0) continue;
      const g = groups.get(s.groupKey);
      if (g) g.push(s);
      else groups.set(s.groupKey, [s]);
    }
    let more = false;
    for (const [key, members] of groups) {
      const { queues, taskTypes, namespaces } = (members[0] as WorkerSession).hello;
      const scope = namespaces.includes('*') ? undefined : namespaces;
      for (const queue of queues) {
        if (this.empty.has(`${key}\u0000${queue}`)) continue;
        const slots = interleave(members, this.opts.maxClaim ?? 512);
        if (slots.length === 0) break;
        const claimed = await this.claim(queue, taskTypes, scope, slots);
        if (claimed < slots.length) this.empty.add(`${key}\u0000${queue}`);
        else more = true;
      }
    }
    return more;
  }

  /**
   * Claims for `slots` from `queue`: after every (agingEvery - 1) priority-ordered
   * dispatches, one slot first goes to the oldest task waiting longer than agingMs.
   * `namespaces`: only tasks of these (undefined: any), the workers' credential's.
   */
  private async claim(queue: string, types: string[], namespaces: string[] | undefined, slots: WorkerSession[]): Promise<number> {
    const now = this.base.clock.now();
    const every = this.opts.agingEvery ?? 10;
    const since = this.sinceAged.get(queue) ?? 0;
    const agedSlots = since + slots.length >= every ? Math.floor((since + slots.length) / every) : 0;
    const claimed = await this.opts.db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: this.opts.epoch });
      const workerIds = slots.map((s) => s.workerId);
      const aged = agedSlots === 0 ? [] : await taskClaimReady(tx, {
        epoch: this.opts.epoch, queue, types, namespaces, slots: workerIds.slice(0, agedSlots), now: new Date(now),
        agedBefore: new Date(now - this.opts.agingMs),
      });
      const rest = await taskClaimReady(tx, {
        epoch: this.opts.epoch, queue, types, namespaces, slots: workerIds.slice(aged.length), now: new Date(now),
      });
      return [...aged, ...rest.map((c) => ({ ...c, slot: c.slot + aged.length }))];
    });
    this.sinceAged.set(queue, agedSlots > 0 ? (since + slots.length) % every : since + claimed.length);
    for (const c of claimed) this.assign(slots[c.slot] as WorkerSession, c, now);
    return claimed.length;
  }

  /** Sends claim `c` (made at `claimedAt`, wall ms) to `session`, in a `taskd.dispatch` span of the task's trace. */
  private assign(session: WorkerSession, c: Claimed, claimedAt: number): void {
    session.credits--;
    const ref = { taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken };
    const { span, carrier } = startDispatchSpan({ ...spanOf(c), workerId: session.workerId, startTime: claimedAt });
    const deadline = this.keeper.add(
      { ...ref, workerId: session.workerId, queue: c.queue, type: c.type, retryPolicy: c.retryPolicy, timeoutMs: c.timeoutMs, traceContext: carrier },
      session.closedReason ? undefined : session);
    session.send(assignOf(c, deadline, carrier));
    span.end();
    const waitedMs = Math.max(0, claimedAt - (c.readySince?.getTime() ?? claimedAt));
    this.emit('assigned', { taskId: c.id, attempt: c.attempt, workerId: session.workerId, queue: c.queue, type: c.type, redelivered: false, waitedMs });
  }
}

function assignOf(c: Claimed, deadline: Date | null, traceContext: TraceCarrier): ToWorker {
  return {
    kind: 'assign', ref: { taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken }, namespace: c.namespace, type: c.type,
    queue: c.queue, payload: c.payload, idempotencyKey: c.idempotencyKey, labels: c.labels, deadline, checkpoint: c.checkpoint,
    workflowId: c.workflowId, parentOutputs: c.parentOutputs, correlationId: c.correlationId, traceContext,
  };
}

/** What a dispatch span of `c` records, and its stored trace context. */
const spanOf = (c: Claimed) => ({
  taskId: c.id, attempt: c.attempt, type: c.type, queue: c.queue, namespace: c.namespace, traceparent: c.traceContext,
});

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
