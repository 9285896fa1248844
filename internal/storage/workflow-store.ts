import { sql } from 'drizzle-orm';
import { DomainError } from '../domain/errors.js';
import type { TaskStatus } from '../domain/task.js';
import type { FailurePolicy, NewWorkflow, WorkflowStatus } from '../domain/workflow.js';
import { rows, type Executor } from './db.js';
import { taskFromRow, toDate, type TaskRow } from './task-rows.js';
import type { Task, TaskOrigin } from '../domain/task.js';

/** A workflow as stored, with its tasks when loaded. */
export interface WorkflowRecord {
  id: string;
  namespace: string;
  name: string;
  failurePolicy: FailurePolicy;
  status: WorkflowStatus;
  createdAt: Date;
  finishedAt: Date | null;
  counts: Record<string, number>;
  tasks: { name: string; dependsOn: string[]; task: Task }[];
}

/**
 * Stores a validated workflow, its tasks and edges in the caller's transaction. Roots
 * are QUEUED (or PENDING on their own delay); the others PENDING until their parents
 * succeed. Every task gets `origin` (the submitting request's correlation id and trace
 * context). A taken idempotency key is `already_exists`.
 */
export async function workflowInsert(ex: Executor, p: { id: string; wf: NewWorkflow; now: Date; origin?: TaskOrigin }): Promise<void> {
  const { wf, now } = p;
  await ex.execute(sql`insert into workflows (id, namespace, name, failure_policy, status, created_at)
    values (${p.id}, ${wf.namespace}, ${wf.name}, ${wf.failurePolicy}, 'RUNNING', ${now})`);
  const recs = wf.tasks.map(({ name, dependsOn, task: t }) => ({
    id: t.id, namespace: t.namespace, type: t.type, queue: t.queue, payload: t.payload, priority: t.priority,
    status: dependsOn.length > 0 || (t.runAt && t.runAt > now) ? 'PENDING' : 'QUEUED',
    run_at: t.runAt?.toISOString() ?? null, retry_policy: t.retryPolicy, timeout_ms: t.timeoutMs,
    idempotency_key: t.idempotencyKey, labels: t.labels, notify: t.notify, node: name, pending_parents: dependsOn.length,
    correlation_id: p.origin?.correlationId ?? null, trace_context: p.origin?.traceContext ?? null,
  }));
  try {
    await ex.execute(sql`insert into tasks (id, namespace, type, queue, payload, priority, status, run_at, retry_policy,
        timeout_ms, idempotency_key, labels, notify, workflow_id, node, pending_parents, correlation_id, trace_context, created_at, updated_at)
      select r.id, r.namespace, r.type, r.queue, r.payload, r.priority, r.status, r.run_at, r.retry_policy, r.timeout_ms,
        r.idempotency_key, coalesce(r.labels, '{}'::jsonb), r.notify, ${p.id}, r.node, r.pending_parents, r.correlation_id,
        r.trace_context, ${now}, ${now}
      from jsonb_to_recordset(${JSON.stringify(recs)}::jsonb) as r(id uuid, namespace text, type text, queue text,
        payload jsonb, priority int, status text, run_at timestamptz, retry_policy jsonb, timeout_ms int,
        idempotency_key text, labels jsonb, notify jsonb, node text, pending_parents int, correlation_id text, trace_context text)`);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === '23505' || (e as { code?: string }).code === '23505') {
      throw new DomainError('already_exists', 'an idempotency key of this workflow is already used by another task');
    }
    throw e;
  }
  const ids = new Map(wf.tasks.map((t) => [t.name, t.task.id]));
  const edges = wf.tasks.flatMap((t) => t.dependsOn.map((d) => ({ parent: ids.get(d), child: t.task.id })));
  if (edges.length > 0) {
    await ex.execute(sql`insert into task_edges (parent_id, child_id)
      select parent, child from jsonb_to_recordset(${JSON.stringify(edges)}::jsonb) as e(parent uuid, child uuid)`);
  }
}

/** What ending some workflow tasks set in motion. */
export interface Propagation {
  /** Queues that gained ready tasks. */
  readyQueues: string[];
  /** Earliest run_at of released tasks still waiting on their own delay (ms), or null. */
  dueAtMs: number | null;
  /** Running attempts cancelled by a FAIL_FAST workflow; their workers must be told. */
  cancelled: { taskId: string; attempt: number }[];
}

/**
 * After tasks ended (in the same transaction as their ending): releases the children
 * whose last parent succeeded, skips what can no longer run (CONTINUE: the failed
 * task's descendants; FAIL_FAST: every unstarted task, and running ones are cancelled),
 * and completes workflows with nothing left to run. Tasks outside workflows are ignored.
 */
export async function workflowPropagate(ex: Executor, p: { ended: { id: string; status: TaskStatus }[]; now: Date }): Promise<Propagation> {
  const out: Propagation = { readyQueues: [], dueAtMs: null, cancelled: [] };
  const ended = p.ended.filter((e) => e.status !== 'PENDING' && e.status !== 'QUEUED' && e.status !== 'RUNNING');
  if (ended.length === 0) return out;
  const json = JSON.stringify(ended);
  const released = await rows<{ queue: string; status: TaskStatus; run_at: Date | string | null }>(ex, sql`
    with done as (select * from jsonb_to_recordset(${json}::jsonb) as d(id uuid, status text)),
    dec as (select e.child_id, count(*)::int n from task_edges e join done d on d.id = e.parent_id
            where d.status = 'SUCCEEDED' group by e.child_id)
    update tasks c set pending_parents = c.pending_parents - dec.n,
      status = case when c.pending_parents - dec.n = 0 and (c.run_at is null or c.run_at <= ${p.now}) then 'QUEUED' else c.status end,
      version = c.version + 1, updated_at = ${p.now}
    from dec where c.id = dec.child_id and c.status = 'PENDING'
    returning c.queue, c.status, case when c.pending_parents = 0 and c.status = 'PENDING' then c.run_at end as run_at`);
  out.readyQueues = [...new Set(released.filter((r) => r.status === 'QUEUED').map((r) => r.queue))];
  const due = released.map((r) => (r.run_at ? toDate(r.run_at).getTime() : Infinity));
  if (due.length > 0 && Math.min(...due) < Infinity) out.dueAtMs = Math.min(...due);
  out.cancelled = await skipAfterFailure(ex, json, p.now);
  await ex.execute(sql`
    update workflows w set finished_at = ${p.now},
      status = case when w.status = 'CANCELLED' then 'CANCELLED'
                    when exists (select 1 from tasks t where t.workflow_id = w.id and t.status <> 'SUCCEEDED') then 'FAILED'
                    else 'SUCCEEDED' end
    where w.id in (select workflow_id from tasks where id in (select id from jsonb_to_recordset(${json}::jsonb) as d(id uuid)))
      and w.finished_at is null
      and not exists (select 1 from tasks t where t.workflow_id = w.id and t.status in ('PENDING', 'QUEUED', 'RUNNING'))`);
  return out;
}

const SKIP_ERROR = JSON.stringify({ message: 'not run: an upstream task did not succeed', kind: 'skipped', retryable: false });
const CANCEL_ERROR = JSON.stringify({ message: 'cancelled: another task of the workflow failed (FAIL_FAST)', kind: 'cancelled', retryable: false });

async function skipAfterFailure(ex: Executor, json: string, now: Date): Promise<{ taskId: string; attempt: number }[]> {
  await ex.execute(sql`
    with recursive bad as (
      select d.id from jsonb_to_recordset(${json}::jsonb) as d(id uuid, status text) where d.status <> 'SUCCEEDED'),
    below(id) as (
      select e.child_id from task_edges e join bad on e.parent_id = bad.id
      union select e.child_id from task_edges e join below b on e.parent_id = b.id)
    update tasks set status = 'SKIPPED', error = ${SKIP_ERROR}::jsonb, finished_at = ${now}, updated_at = ${now}, version = version + 1
    where id in (select id from below) and status in ('PENDING', 'QUEUED')`);
  const failFast = sql`(select distinct t.workflow_id from tasks t
      join jsonb_to_recordset(${json}::jsonb) as d(id uuid, status text) on d.id = t.id
      join workflows w on w.id = t.workflow_id
      where d.status <> 'SUCCEEDED' and w.failure_policy = 'FAIL_FAST')`;
  await ex.execute(sql`update tasks set status = 'SKIPPED', error = ${SKIP_ERROR}::jsonb, finished_at = ${now}, updated_at = ${now},
      version = version + 1
    where workflow_id in ${failFast} and status in ('PENDING', 'QUEUED')`);
  const cancelled = await rows<{ id: string; attempt: number }>(ex, sql`
    update tasks set status = 'CANCELLED', error = ${CANCEL_ERROR}::jsonb, finished_at = ${now}, updated_at = ${now},
      version = version + 1, worker_id = null
    where workflow_id in ${failFast} and status = 'RUNNING'
    returning id, attempt`);
  if (cancelled.length > 0) {
    await ex.execute(sql`update attempts a set status = 'CANCELLED', error = ${CANCEL_ERROR}::jsonb, ended_at = ${now}
      from jsonb_to_recordset(${JSON.stringify(cancelled)}::jsonb) as c(id uuid, attempt int)
      where a.task_id = c.id and a.number = c.attempt and a.ended_at is null`);
  }
  return cancelled.map((c) => ({ taskId: c.id, attempt: c.attempt }));
}

/** Reads a workflow with its tasks (and their depends_on names), or undefined. */
export async function workflowGet(ex: Executor, p: { namespace: string; id: string }): Promise<WorkflowRecord | undefined> {
  const [w] = await rows<WorkflowRow>(ex, sql`select * from workflows where id = ${p.id} and namespace = ${p.namespace}`);
  if (!w) return undefined;
  const ts = await rows<TaskRow & { depends_on: string[] | null }>(ex, sql`
    select t.*, (select array_agg(p.node order by p.node) from task_edges e join tasks p on p.id = e.parent_id where e.child_id = t.id) depends_on
    from tasks t where t.workflow_id = ${p.id} order by t.id`);
  const tasks = ts.map((t) => ({ name: t.node ?? '', dependsOn: t.depends_on ?? [], task: taskFromRow(t) }));
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.task.status] = (counts[t.task.status] ?? 0) + 1;
  return { ...workflowFromRow(w), counts, tasks };
}

/** Lists workflows newest first, without tasks; counts per status included. */
export async function workflowList(
  ex: Executor,
  p: { namespace: string; statuses: WorkflowStatus[]; afterId?: string; limit: number },
): Promise<WorkflowRecord[]> {
  const conds = [sql`w.namespace = ${p.namespace}`];
  if (p.statuses.length > 0) conds.push(sql`w.status in (${sql.join(p.statuses.map((s) => sql`${s}`), sql`, `)})`);
  if (p.afterId) conds.push(sql`w.id < ${p.afterId}`);
  const ws = await rows<WorkflowRow & { counts: Record<string, number> | null }>(ex, sql`
    select w.*, (select jsonb_object_agg(status, n) from (select status, count(*)::int n from tasks where workflow_id = w.id group by status) c) counts
    from workflows w where ${sql.join(conds, sql` and `)} order by w.namespace, w.id desc nulls last limit ${p.limit}`);
  return ws.map((w) => ({ ...workflowFromRow(w), counts: w.counts ?? {}, tasks: [] }));
}

/**
 * Marks a workflow CANCELLED and cancels its unfinished tasks; returns the running
 * attempts cancelled (their workers must be told), or undefined when not found.
 */
export async function workflowCancel(ex: Executor, p: { namespace: string; id: string; reason: string; now: Date }): Promise<{ taskId: string; attempt: number }[] | undefined> {
  const [w] = await rows<{ id: string }>(ex, sql`update workflows set status = 'CANCELLED'
    where id = ${p.id} and namespace = ${p.namespace} and finished_at is null returning id`);
  if (!w) {
    const [exists] = await rows<{ id: string }>(ex, sql`select id from workflows where id = ${p.id} and namespace = ${p.namespace}`);
    return exists ? [] : undefined;
  }
  const error = JSON.stringify({ message: p.reason || 'workflow cancelled', kind: 'cancelled', retryable: false });
  const ended = await rows<{ id: string; attempt: number; prior: TaskStatus }>(ex, sql`
    with cur as (select id, status prior from tasks where workflow_id = ${p.id} and status in ('PENDING', 'QUEUED', 'RUNNING') for update)
    update tasks t set status = 'CANCELLED', error = ${error}::jsonb, finished_at = ${p.now}, updated_at = ${p.now}, version = t.version + 1, worker_id = null
    from cur where t.id = cur.id returning t.id, t.attempt, cur.prior`);
  const running = ended.filter((e) => e.prior === 'RUNNING');
  if (running.length > 0) {
    await ex.execute(sql`update attempts a set status = 'CANCELLED', error = ${error}::jsonb, ended_at = ${p.now}
      from jsonb_to_recordset(${JSON.stringify(running)}::jsonb) as c(id uuid, attempt int)
      where a.task_id = c.id and a.number = c.attempt and a.ended_at is null`);
  }
  await ex.execute(sql`update workflows set finished_at = ${p.now} where id = ${p.id}`);
  return running.map((r) => ({ taskId: r.id, attempt: r.attempt }));
}

interface WorkflowRow {
  id: string;
  namespace: string;
  name: string;
  failure_policy: FailurePolicy;
  status: WorkflowStatus;
  created_at: Date | string;
  finished_at: Date | string | null;
}

function workflowFromRow(w: WorkflowRow): Omit<WorkflowRecord, 'counts' | 'tasks'> {
  return {
    id: w.id, namespace: w.namespace, name: w.name, failurePolicy: w.failure_policy, status: w.status,
    createdAt: toDate(w.created_at), finishedAt: toDate(w.finished_at),
  };
}

/**
 * A replay takes the place of a dead-lettered workflow task: the edges move to the
 * replay, the original leaves the DAG (it stays reachable through `replay_of`), and
 * the descendants that were skipped because of it become PENDING again, those whose
 * every other parent succeeded or resumes too. The workflow runs again. No-op for a
 * task outside workflows. Same transaction as the replay's insert.
 */
export async function workflowAdoptReplay(ex: Executor, p: { originalId: string; replayId: string; now: Date }): Promise<void> {
  const [orig] = await rows<{ workflow_id: string | null; node: string | null }>(ex, sql`
    update tasks o set workflow_id = null from (select workflow_id, node from tasks where id = ${p.originalId} for update) prev
    where o.id = ${p.originalId} returning prev.workflow_id, prev.node`);
  if (!orig?.workflow_id) return;
  await ex.execute(sql`update tasks set workflow_id = ${orig.workflow_id}, node = ${orig.node} where id = ${p.replayId}`);
  await ex.execute(sql`update task_edges set parent_id = ${p.replayId} where parent_id = ${p.originalId}`);
  await ex.execute(sql`update task_edges set child_id = ${p.replayId} where child_id = ${p.originalId}`);
  const nodes = await rows<{ id: string; status: TaskStatus; parents: string[] | null }>(ex, sql`
    select t.id, t.status, (select array_agg(e.parent_id) from task_edges e where e.child_id = t.id) parents
    from tasks t where t.workflow_id = ${orig.workflow_id}`);
  const resumed = resumable(nodes, p.replayId);
  if (resumed.size > 0) {
    await ex.execute(sql`update tasks t set status = 'PENDING', error = null, finished_at = null, updated_at = ${p.now},
        version = t.version + 1,
        pending_parents = (select count(*) from task_edges e join tasks par on par.id = e.parent_id
                           where e.child_id = t.id and par.status <> 'SUCCEEDED')
      where t.id in (select jsonb_array_elements_text(${JSON.stringify([...resumed])}::jsonb)::uuid) and t.status = 'SKIPPED'`);
  }
  await ex.execute(sql`update workflows set status = 'RUNNING', finished_at = null where id = ${orig.workflow_id} and status <> 'CANCELLED'`);
}

/** SKIPPED tasks that can run again once `replayId` succeeds: every parent succeeded, resumes, or is the replay. */
function resumable(nodes: { id: string; status: TaskStatus; parents: string[] | null }[], replayId: string): Set<string> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<string, string[]>();
  for (const n of nodes) for (const p of n.parents ?? []) children.set(p, [...(children.get(p) ?? []), n.id]);
  const ok = new Set<string>([replayId]);
  const out = new Set<string>();
  const queue = [...(children.get(replayId) ?? [])];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    const n = byId.get(id);
    if (!n || out.has(id) || n.status !== 'SKIPPED') continue;
    const parentsOk = (n.parents ?? []).every((pid) => ok.has(pid) || byId.get(pid)?.status === 'SUCCEEDED');
    if (!parentsOk) continue;
    out.add(id);
    ok.add(id);
    queue.push(...(children.get(id) ?? []));
  }
  return out;
}
