import { sql } from 'drizzle-orm';
import type { NewTask, Task, TaskStatus } from '../domain/task.js';
import { rows, type Executor } from './db.js';
import { taskFromRow, type AttemptRow, type TaskRow } from './task-rows.js';

/** One submission's outcome: the stored task, and whether it existed already (idempotency key). */
export interface Inserted {
  task: Task;
  existing: boolean;
}

/**
 * Inserts `tasks` in one statement. A task whose (namespace, idempotency key) is taken
 * — by an earlier task or earlier in the same batch — is not inserted; the task holding
 * the key is returned with `existing: true`. Results are in input order.
 */
export async function taskInsertMany(ex: Executor, p: { tasks: NewTask[]; now: Date }): Promise<Inserted[]> {
  if (p.tasks.length === 0) return [];
  const recs = p.tasks.map((t) => ({
    id: t.id,
    namespace: t.namespace,
    type: t.type,
    queue: t.queue,
    payload: t.payload,
    priority: t.priority,
    status: t.runAt && t.runAt.getTime() > p.now.getTime() ? 'PENDING' : 'QUEUED',
    run_at: t.runAt?.toISOString() ?? null,
    retry_policy: t.retryPolicy,
    timeout_ms: t.timeoutMs,
    idempotency_key: t.idempotencyKey,
    labels: t.labels,
    notify: t.notify,
    replay_of: t.replayOf ?? null,
    correlation_id: t.correlationId ?? null,
    trace_context: t.traceContext ?? null,
  }));
  const inserted = await rows<TaskRow>(
    ex,
    sql`insert into tasks (id, namespace, type, queue, payload, priority, status, run_at, retry_policy,
          timeout_ms, idempotency_key, labels, notify, replay_of, correlation_id, trace_context, created_at, updated_at)
        select r.id, r.namespace, r.type, r.queue, r.payload, r.priority, r.status, r.run_at, r.retry_policy,
          r.timeout_ms, r.idempotency_key, coalesce(r.labels, '{}'::jsonb), r.notify, r.replay_of, r.correlation_id,
          r.trace_context, ${p.now}, ${p.now}
        from jsonb_to_recordset(${JSON.stringify(recs)}::jsonb) as r(id uuid, namespace text, type text, queue text,
          payload jsonb, priority int, status text, run_at timestamptz, retry_policy jsonb, timeout_ms int,
          idempotency_key text, labels jsonb, notify jsonb, replay_of uuid, correlation_id text, trace_context text)
        on conflict (namespace, idempotency_key) where idempotency_key is not null do nothing
        returning *`,
  );
  const byId = new Map(inserted.map((r) => [r.id, r]));
  const missing = p.tasks.filter((t) => !byId.has(t.id));
  const byKey = new Map<string, TaskRow>();
  if (missing.length > 0) {
    const keys = missing.map((t) => ({ namespace: t.namespace, key: t.idempotencyKey }));
    const found = await rows<TaskRow>(
      ex,
      sql`select t.* from tasks t join jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k(namespace text, key text)
          on t.namespace = k.namespace and t.idempotency_key = k.key`,
    );
    for (const r of found) byKey.set(`${r.namespace}\u0000${r.idempotency_key}`, r);
  }
  return p.tasks.map((t) => {
    const row = byId.get(t.id);
    if (row) return { task: taskFromRow(row), existing: false };
    const prior = byKey.get(`${t.namespace}\u0000${t.idempotencyKey}`);
    if (!prior) throw new Error(`task ${t.id} neither inserted nor found by idempotency key`);
    return { task: taskFromRow(prior), existing: true };
  });
}

/** Reads one task with its attempts, or undefined. Never crosses namespaces. */
export async function taskGet(ex: Executor, p: { namespace: string; id: string }): Promise<Task | undefined> {
  const [row] = await rows<TaskRow>(ex, sql`select * from tasks where id = ${p.id} and namespace = ${p.namespace}`);
  if (!row) return undefined;
  const atts = await rows<AttemptRow>(ex, sql`select * from attempts where task_id = ${p.id} order by number`);
  return taskFromRow(row, atts);
}

/** Filters for `taskList`; unset fields do not filter. */
export interface TaskListParams {
  namespace: string;
  statuses?: TaskStatus[];
  type?: string;
  queue?: string;
  workflowId?: string;
  /** The task must carry every one of these labels. */
  labels?: Record<string, string>;
  /** Rows after this id in the listing order (newest first): the keyset cursor. */
  afterId?: string;
  limit: number;
}

/**
 * Lists tasks newest first (ids are UUIDv7, so id order is creation order). Keyset
 * paging on the immutable id stays correct while tasks change state. Attempts are not
 * loaded.
 */
export async function taskList(ex: Executor, p: TaskListParams): Promise<Task[]> {
  const conds = [sql`namespace = ${p.namespace}`];
  if (p.statuses && p.statuses.length > 0) conds.push(sql`status = any(${toPgArray(p.statuses)}::text[])`);
  if (p.type) conds.push(sql`type = ${p.type}`);
  if (p.queue) conds.push(sql`queue = ${p.queue}`);
  if (p.workflowId) conds.push(sql`workflow_id = ${p.workflowId}`);
  if (p.labels && Object.keys(p.labels).length > 0) conds.push(sql`labels @> ${JSON.stringify(p.labels)}::jsonb`);
  if (p.afterId) conds.push(sql`id < ${p.afterId}`);
  const found = await rows<TaskRow>(
    ex,
    sql`select * from tasks where ${sql.join(conds, sql` and `)} order by namespace, id desc nulls last limit ${p.limit}`,
  );
  return found.map((r) => taskFromRow(r));
}

/** A Postgres array literal for text values (bound as one parameter). */
export function toPgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
}
