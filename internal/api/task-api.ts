import { DomainError } from '../domain/errors.js';
import { validateTaskSpec, type SpecLimits, type TaskSpecInput } from '../domain/task-spec.js';
import { withOrigin, type Json, type NewTask, type Task, type TaskStatus } from '../domain/task.js';
import { ATTR, inSubmitSpan } from '../observability/spans.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';
import { taskCancel, taskDelete, taskRetry, taskUpdate, type TaskChanges } from '../storage/task-mutations.js';
import { replayTaskOf } from '../domain/dead-letter.js';
import { deadLetterMarkReplayed } from '../storage/dead-letter-store.js';
import { workflowAdoptReplay } from '../storage/workflow-store.js';
import { v7 as uuidv7 } from 'uuid';
import type { EventFeed } from '../events/event-feed.js';
import { watchTask, type TaskWatchItem } from './task-watch.js';
import { taskGet, taskInsertMany, taskList, type Inserted } from '../storage/task-store.js';

/** Notes to the leader; best effort, they only cut latency (the leader also polls). */
export interface ReadyHints {
  /** Tasks became ready in these queues. */
  ready(queues: string[]): void;
  /** A task is due at `runAtMs`. */
  due(runAtMs: number): void;
  /** A running attempt was cancelled: its worker should stop. */
  cancelled(taskId: string, attempt: number): void;
}

const MAX_BATCH = 10_000;

export interface ListInput {
  namespace: string;
  statuses: TaskStatus[];
  type: string;
  queue: string;
  workflowId: string;
  pageSize: number;
  pageToken: string;
  /** "key=value" selectors. */
  labels: string[];
}

/** An UpdateTask request: `fields` names what to change (the update mask). */
export interface UpdateInput {
  namespace: string;
  id: string;
  version: number;
  fields: string[];
  priority?: number;
  runAt?: Date;
  delayMs?: number;
  payload?: Json;
  labels?: Record<string, string>;
}

const UPDATABLE = new Set(['priority', 'run_at', 'delay', 'payload', 'labels']);


/** Validates an update with the submission rules (same field names, same limits). */
function validateChanges(p: UpdateInput, limits: SpecLimits, now: number): TaskChanges {
  if (p.fields.length === 0) throw DomainError.invalid([{ field: 'update_mask', description: `must name at least one of ${[...UPDATABLE].join(', ')}` }]);
  for (const f of p.fields) {
    if (!UPDATABLE.has(f)) throw DomainError.invalid([{ field: 'update_mask', description: `"${f}" cannot be updated; allowed: ${[...UPDATABLE].join(', ')}` }]);
  }
  const has = (f: string): boolean => p.fields.includes(f);
  const spec = validateTaskSpec({
    type: 'update', priority: p.priority, payload: p.payload, labels: p.labels,
    runAt: has('run_at') ? (p.runAt ?? new Date(now)) : undefined, delayMs: has('delay') ? (p.delayMs ?? 0) : undefined,
  }, 'task', limits, now);
  const changes: TaskChanges = {};
  if (has('priority')) changes.priority = spec.priority;
  if (has('payload')) changes.payload = spec.payload;
  if (has('labels')) changes.labels = spec.labels;
  if (has('run_at') || has('delay')) changes.runAt = spec.runAt;
  return changes;
}

/** What a `taskd.submit` span of `tasks` says about them. */
function submitAttributes(tasks: NewTask[]): Record<string, string | number> {
  const one = tasks.length === 1 ? (tasks[0] as NewTask) : undefined;
  return {
    [ATTR.via]: 'submit', [ATTR.tasks]: tasks.length,
    ...(one ? { [ATTR.taskId]: one.id, [ATTR.type]: one.type, [ATTR.queue]: one.queue, [ATTR.namespace]: one.namespace } : {}),
  };
}

/**
 * The apiserver's task operations, protocol-free. Every request is one transaction:
 * a batch is stored whole or not at all.
 */
export class TaskApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; limits: SpecLimits; hints: ReadyHints; feed?: EventFeed },
  ) {}

  /**
   * Validates and stores `specs`; `field` names each spec in errors ("task", "tasks").
   * The tasks carry `correlationId` (the request's) and, inside a `taskd.submit` span,
   * its trace context. A task whose idempotency key was taken keeps its first request's.
   */
  async submit(specs: TaskSpecInput[], field: string, indexed: boolean, correlationId?: string): Promise<Inserted[]> {
    if (indexed && specs.length === 0) throw DomainError.invalid([{ field, description: 'must not be empty' }]);
    if (specs.length > MAX_BATCH) throw DomainError.invalid([{ field, description: `must have at most ${MAX_BATCH} tasks` }]);
    const now = this.base.clock.now();
    const tasks: NewTask[] = [];
    const violations = [];
    for (const [i, s] of specs.entries()) {
      try {
        tasks.push(validateTaskSpec(s, indexed ? `${field}[${i}]` : field, this.opts.limits, now));
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        violations.push(...e.violations);
      }
    }
    if (violations.length > 0) throw DomainError.invalid(violations);
    const inserted = await inSubmitSpan(submitAttributes(tasks), (traceContext) => this.opts.db.tx((tx) =>
      taskInsertMany(tx, { tasks: withOrigin(tasks, { correlationId: correlationId ?? null, traceContext }), now: new Date(now) })));
    const fresh = inserted.filter((r) => !r.existing);
    for (const r of fresh) this.base.metrics?.tasksSubmitted.inc({ queue: r.task.queue, type: r.task.type });
    const ready = new Set(fresh.filter((r) => r.task.status === 'QUEUED').map((r) => r.task.queue));
    if (ready.size > 0) this.opts.hints.ready([...ready]);
    const due = fresh.filter((r) => r.task.runAt).map((r) => (r.task.runAt as Date).getTime());
    if (due.length > 0) this.opts.hints.due(Math.min(...due));
    return inserted;
  }

  async get(namespace: string, id: string): Promise<Task> {
    const t = await taskGet(this.opts.db.orm, { namespace: namespace || 'default', id: checkId(id) });
    if (!t) throw new DomainError('not_found', `task ${id} not found`);
    return t;
  }

  /**
   * Cancels a pending, queued or running task (one compare-and-set: a racing result
   * and the cancel cannot both end it). Throws `failed_precondition` for a task that
   * already ended, `not_found` for none in this namespace.
   */
  async cancel(namespace: string, id: string, reason: string): Promise<Task> {
    const ns = namespace || 'default';
    const taskId = checkId(id);
    const out = await this.opts.db.tx((tx) =>
      taskCancel(tx, { namespace: ns, id: taskId, reason, now: new Date(this.base.clock.now()) }),
    );
    if (out.kind === 'not_found') throw new DomainError('not_found', `task ${id} not found`);
    if (out.kind === 'already_ended') {
      throw new DomainError('failed_precondition', `task ${id} is ${out.status}; only pending, queued or running tasks can be cancelled`);
    }
    if (out.wasRunning) this.opts.hints.cancelled(taskId, out.attempt);
    for (const c of out.propagation?.cancelled ?? []) this.opts.hints.cancelled(c.taskId, c.attempt);
    return out.task;
  }

  /**
   * Runs a task again: one waiting out a retry backoff becomes due now; a FAILED,
   * CANCELLED or DEAD_LETTERED one gets a fresh run with the same spec, linked to it by
   * `replay_of` (for a dead letter, this is its replay), which takes its place in a
   * workflow so the downstream resumes. Each task is re-run at most once: a second retry
   * is `failed_precondition` naming the run the first created (retry that one instead).
   */
  async retry(namespace: string, id: string, correlationId?: string): Promise<Task> {
    const ns = namespace || 'default';
    const taskId = checkId(id);
    const now = new Date(this.base.clock.now());
    const task = await inSubmitSpan({ [ATTR.via]: 'retry', [ATTR.taskId]: taskId }, (traceContext) => this.opts.db.tx(async (tx) => {
      const out = await taskRetry(tx, { namespace: ns, id: taskId, now });
      switch (out.kind) {
        case 'not_found':
          throw new DomainError('not_found', `task ${id} not found`);
        case 'not_retryable':
          throw new DomainError('failed_precondition',
            `task ${id} is ${out.status}; only FAILED, CANCELLED or DEAD_LETTERED tasks, or ones waiting out a retry backoff, can be retried`);
        case 'already_retried':
          throw new DomainError('failed_precondition', `task ${id} was already retried as task ${out.by}`);
        case 'due_now':
          return out.task;
      }
      const fresh = replayTaskOf(out.original, uuidv7());
      if (out.original.status === 'DEAD_LETTERED') await deadLetterMarkReplayed(tx, { id: taskId, replayedTaskId: fresh.id, now });
      const origin = { correlationId: correlationId ?? null, traceContext };
      const [inserted] = await taskInsertMany(tx, { tasks: withOrigin([fresh], origin), now });
      if (!inserted) throw new Error(`retry of task ${taskId}: task ${fresh.id} was not inserted`);
      await workflowAdoptReplay(tx, { originalId: taskId, replayId: fresh.id, now });
      return inserted.task;
    }));
    if (task.status === 'QUEUED') this.opts.hints.ready([task.queue]);
    return task;
  }

  /** Deletes an ended task outside workflows (see `taskDelete`). */
  async delete(namespace: string, id: string): Promise<void> {
    const out = await this.opts.db.tx((tx) => taskDelete(tx, { namespace: namespace || 'default', id: checkId(id) }));
    if (out.kind === 'not_found') throw new DomainError('not_found', `task ${id} not found`);
    if (out.kind === 'not_ended') throw new DomainError('failed_precondition', `task ${id} is ${out.status}; only ended tasks can be deleted (cancel it first)`);
    if (out.kind === 'in_workflow') throw new DomainError('failed_precondition', `task ${id} belongs to workflow ${out.workflowId}; workflow tasks cannot be deleted one by one`);
  }

  /**
   * The task now, then at each of its events, until it ends; or, with `afterEventId`,
   * each event after that one (see `watchTask`). Needs the process's event feed.
   */
  watch(p: { namespace: string; id: string; afterEventId: string }, signal: AbortSignal): AsyncGenerator<TaskWatchItem> {
    if (!this.opts.feed) throw new Error('TaskApi.watch: no event feed was given');
    return watchTask({ db: this.opts.db, feed: this.opts.feed }, p, signal);
  }

  /**
   * Changes a task that has not started, if `version` is still its etag. Throws
   * `conflict` (ABORTED) with the current version when it is not.
   */
  async update(p: UpdateInput): Promise<Task> {
    const id = checkId(p.id);
    const now = this.base.clock.now();
    const changes = validateChanges(p, this.opts.limits, now);
    if (!(p.version > 0)) throw DomainError.invalid([{ field: 'version', description: 'is required (the etag from GetTask)' }]);
    const out = await this.opts.db.tx((tx) =>
      taskUpdate(tx, { namespace: p.namespace || 'default', id, version: p.version, changes, now: new Date(now) }),
    );
    if (out.kind === 'not_found') throw new DomainError('not_found', `task ${p.id} not found`);
    if (out.kind === 'started') throw new DomainError('failed_precondition', `task ${p.id} has started (${out.status}); only tasks not yet run can be updated`);
    if (out.kind === 'stale') throw new DomainError('conflict', `version ${p.version} is stale; the task is at version ${out.version}`);
    if (out.task.status === 'QUEUED') this.opts.hints.ready([out.task.queue]);
    if (out.task.runAt) this.opts.hints.due(out.task.runAt.getTime());
    return out.task;
  }

  async list(p: ListInput): Promise<{ tasks: Task[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const afterId = pageAfterId(p.pageToken);
    if (p.workflowId) checkId(p.workflowId, 'workflow_id');
    const labels: Record<string, string> = {};
    for (const [i, sel] of p.labels.entries()) {
      const eq = sel.indexOf('=');
      if (eq <= 0) throw DomainError.invalid([{ field: `labels[${i}]`, description: 'must be key=value' }]);
      labels[sel.slice(0, eq)] = sel.slice(eq + 1);
    }
    const tasks = await taskList(this.opts.db.orm, {
      namespace: p.namespace || 'default', statuses: p.statuses, type: p.type || undefined, queue: p.queue || undefined,
      workflowId: p.workflowId || undefined, labels, afterId, limit: limit + 1,
    });
    const { page, nextPageToken } = keysetPage(tasks, limit);
    return { tasks: page, nextPageToken };
  }
}
