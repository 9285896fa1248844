import { sql } from 'drizzle-orm';
import type { Json, TaskError, TaskStatus } from '../domain/task.js';
import { rows, type Executor } from './db.js';
import { taskFromRow, type TaskRow } from './task-rows.js';
import { TERMINAL_STATUSES, type Task } from '../domain/task.js';
import { workflowPropagate, type Propagation } from './workflow-store.js';

/** What `taskCancel` did. */
export type CancelOutcome =
  | { kind: 'cancelled'; task: Task; wasRunning: boolean; attempt: number; propagation?: Propagation }
  | { kind: 'not_found' }
  | { kind: 'already_ended'; status: TaskStatus };

/**
 * Cancels a PENDING, QUEUED or RUNNING task: one compare-and-set on its status, so a
 * racing result and this cancel cannot both end it. A running attempt's row ends
 * CANCELLED too; the leader then tells its worker (a hint, and its own reconciliation).
 */
export async function taskCancel(ex: Executor, p: { namespace: string; id: string; reason: string; now: Date }): Promise<CancelOutcome> {
  const error: TaskError = { message: p.reason || 'cancelled', kind: 'cancelled', retryable: false };
  const [row] = await rows<TaskRow & { prior: TaskStatus }>(
    ex,
    sql`with cur as (select id, status as prior from tasks where id = ${p.id} and namespace = ${p.namespace} for update)
        update tasks t set status = 'CANCELLED', error = ${JSON.stringify(error)}::jsonb, finished_at = ${p.now},
          updated_at = ${p.now}, version = t.version + 1, worker_id = null
        from cur where t.id = cur.id and cur.prior in ('PENDING', 'QUEUED', 'RUNNING')
        returning t.*, cur.prior`,
  );
  if (!row) {
    const [cur] = await rows<{ status: TaskStatus }>(ex, sql`select status from tasks where id = ${p.id} and namespace = ${p.namespace}`);
    return cur ? { kind: 'already_ended', status: cur.status } : { kind: 'not_found' };
  }
  const wasRunning = row.prior === 'RUNNING';
  if (wasRunning) {
    await ex.execute(sql`update attempts set status = 'CANCELLED', error = ${JSON.stringify(error)}::jsonb, ended_at = ${p.now}
      where task_id = ${p.id} and number = ${row.attempt} and ended_at is null`);
  }
  // In a workflow, what can no longer run is skipped (or cancelled, FAIL_FAST) in this same transaction.
  const propagation = row.workflow_id ? await workflowPropagate(ex, { ended: [{ id: p.id, status: 'CANCELLED' }], now: p.now }) : undefined;
  return { kind: 'cancelled', task: taskFromRow(row), wasRunning, attempt: row.attempt, propagation };
}

/** Changes an update may make; unset fields stay. */
export interface TaskChanges {
  priority?: number;
  /** null = due now. */
  runAt?: Date | null;
  payload?: Json;
  labels?: Record<string, string>;
}

export type UpdateOutcome =
  | { kind: 'updated'; task: Task }
  | { kind: 'not_found' }
  | { kind: 'started'; status: TaskStatus }
  | { kind: 'stale'; version: number };

/**
 * Applies `changes` to a task that has not started, only if its version is still
 * `version` (the etag). A new run_at moves it between PENDING and QUEUED.
 */
export async function taskUpdate(
  ex: Executor,
  p: { namespace: string; id: string; version: number; changes: TaskChanges; now: Date },
): Promise<UpdateOutcome> {
  const c = p.changes;
  const sets = [sql`version = version + 1`, sql`updated_at = ${p.now}`];
  if (c.priority !== undefined) sets.push(sql`priority = ${c.priority}`);
  if (c.payload !== undefined) sets.push(sql`payload = ${JSON.stringify(c.payload)}::jsonb`);
  if (c.labels !== undefined) sets.push(sql`labels = ${JSON.stringify(c.labels)}::jsonb`);
  if (c.runAt !== undefined) {
    const due = c.runAt === null || c.runAt.getTime() <= p.now.getTime();
    sets.push(sql`run_at = ${due ? null : c.runAt}`, sql`status = ${due ? 'QUEUED' : 'PENDING'}`);
  }
  const [row] = await rows<TaskRow>(
    ex,
    sql`update tasks set ${sql.join(sets, sql`, `)}
        where id = ${p.id} and namespace = ${p.namespace} and version = ${p.version} and status in ('PENDING', 'QUEUED')
          and attempt = 0
        returning *`,
  );
  if (row) return { kind: 'updated', task: taskFromRow(row) };
  const [cur] = await rows<{ status: TaskStatus; version: number; attempt: number }>(
    ex,
    sql`select status, version, attempt from tasks where id = ${p.id} and namespace = ${p.namespace}`,
  );
  if (!cur) return { kind: 'not_found' };
  if (!(cur.status === 'PENDING' || cur.status === 'QUEUED') || cur.attempt > 0) return { kind: 'started', status: cur.status };
  return { kind: 'stale', version: cur.version };
}

/** What `taskRetry` found or did. */
export type RetryOutcome =
  | { kind: 'due_now'; task: Task }
  | { kind: 'rerun'; original: Task }
  | { kind: 'already_retried'; by: string }
  | { kind: 'not_retryable'; status: TaskStatus }
  | { kind: 'not_found' };

/**
 * The first half of a RetryTask, under a row lock on the task (concurrent retries of one
 * task queue up here): a task waiting out a retry backoff is made due now; for a FAILED,
 * CANCELLED or DEAD_LETTERED one not yet re-run, returns it for the caller to insert the
 * fresh run in the same transaction.
 */
export async function taskRetry(ex: Executor, p: { namespace: string; id: string; now: Date }): Promise<RetryOutcome> {
  const [cur] = await rows<TaskRow>(ex, sql`select * from tasks where id = ${p.id} and namespace = ${p.namespace} for update`);
  if (!cur) return { kind: 'not_found' };
  if (cur.status === 'PENDING' && cur.attempt > 0 && cur.pending_parents === 0) {
    const [row] = await rows<TaskRow>(ex, sql`update tasks set status = 'QUEUED', run_at = null, updated_at = ${p.now}, version = version + 1
      where id = ${p.id} returning *`);
    return { kind: 'due_now', task: taskFromRow(row as TaskRow) };
  }
  if (cur.status !== 'FAILED' && cur.status !== 'CANCELLED' && cur.status !== 'DEAD_LETTERED') return { kind: 'not_retryable', status: cur.status };
  const [by] = await rows<{ id: string }>(ex, sql`select id from tasks where replay_of = ${p.id} limit 1`);
  if (by) return { kind: 'already_retried', by: by.id };
  return { kind: 'rerun', original: taskFromRow(cur) };
}

export type DeleteOutcome = { kind: 'deleted' } | { kind: 'not_found' } | { kind: 'not_ended'; status: TaskStatus } | { kind: 'in_workflow'; workflowId: string };

/**
 * Deletes a task that has ended and is not part of a workflow; its attempts and dead
 * letter go with it (foreign keys), its events stay (the `task.deleted` event too).
 */
export async function taskDelete(ex: Executor, p: { namespace: string; id: string }): Promise<DeleteOutcome> {
  const [cur] = await rows<{ status: TaskStatus; workflow_id: string | null }>(
    ex, sql`select status, workflow_id from tasks where id = ${p.id} and namespace = ${p.namespace} for update`);
  if (!cur) return { kind: 'not_found' };
  if (!TERMINAL_STATUSES.has(cur.status)) return { kind: 'not_ended', status: cur.status };
  if (cur.workflow_id) return { kind: 'in_workflow', workflowId: cur.workflow_id };
  await ex.execute(sql`delete from tasks where id = ${p.id}`);
  return { kind: 'deleted' };
}
