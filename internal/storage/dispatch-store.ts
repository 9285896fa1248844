import { sql, type SQL } from 'drizzle-orm';
import type { Json, RetryPolicy, TaskError, TaskStatus } from '../domain/task.js';
import { rows, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

/** A task claimed for dispatch: what the worker needs and what the leader must remember. */
export interface Claimed {
  id: string;
  /** Index into the `slots` array it was claimed for. */
  slot: number;
  attempt: number;
  leaseToken: string;
  namespace: string;
  type: string;
  queue: string;
  payload: Json | null;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  timeoutMs: number | null;
  retryPolicy: RetryPolicy;
  /** The latest checkpoint, for the attempt to resume from. */
  checkpoint: { data: Json; version: number } | null;
  workflowId: string | null;
  /** For a workflow task: each parent's output by the parent's name. */
  parentOutputs: Record<string, Json>;
  /** When the task last changed before the claim (it became ready then): for the queue-wait metric. Absent on re-sends. */
  readySince?: Date;
  /** The id of the request that created the task; null when unknown. */
  correlationId: string | null;
  /** W3C `traceparent` stored with the task (its submit span); null when untraced. */
  traceContext: string | null;
}

/**
 * Claims up to `slots.length` ready tasks of `queue` whose type is in `types` (and
 * namespace in `namespaces`, when given), highest priority first, then oldest; slot i
 * goes to worker `slots[i]`. Each claim bumps the
 * task's attempt counter, sets a fresh lease token and inserts the attempt row, all in
 * the caller's transaction. The caller must have called `leadershipFence`.
 */
export async function taskClaimReady(
  ex: Executor,
  p: {
    epoch: number; queue: string; types: string[]; slots: string[]; now: Date;
    /** Only tasks of these namespaces; undefined: any (a worker whose credential has "*"). */
    namespaces?: string[];
    /** Aging: instead of priority order, the oldest tasks created before this instant. */
    agedBefore?: Date;
  },
): Promise<Claimed[]> {
  if (p.slots.length === 0) return [];
  const r = await rows<ClaimedRow & { slot: number; ready_since: Date | string }>(
    ex,
    sql`with picked as (
          select id, updated_at as ready_since, row_number() over () as slot from (${readyTasksQuery({ ...p, limit: p.slots.length })}) c),
        slots as (select w, s as slot from unnest(${toPgArray(p.slots)}::text[]) with ordinality as x(w, s)),
        upd as (
          update tasks t set status = 'RUNNING', attempt = t.attempt + 1, lease_token = gen_random_uuid(),
            -- An attempt never starts before its task became ready: a release committed
            -- after this leader read its clock still orders before the start.
            worker_id = slots.w, started_at = coalesce(t.started_at, greatest(${p.now}::timestamptz, t.updated_at)),
            updated_at = greatest(${p.now}::timestamptz, t.updated_at), version = t.version + 1, epoch = ${p.epoch}
          from picked join slots using (slot)
          where t.id = picked.id
          returning t.id, picked.slot, t.attempt, t.lease_token, t.worker_id, t.namespace, t.type, t.queue, t.payload,
            t.idempotency_key, t.labels, t.timeout_ms, t.retry_policy, t.checkpoint, t.checkpoint_version, t.workflow_id,
            t.correlation_id, t.trace_context, t.updated_at as began_at, picked.ready_since,
            case when t.workflow_id is null then null else (
              select jsonb_object_agg(p.node, coalesce(p.output, 'null'::jsonb)) from task_edges e join tasks p on p.id = e.parent_id
              where e.child_id = t.id) end as parent_outputs),
        ins as (
          insert into attempts (task_id, number, worker_id, lease_token, status, epoch, started_at)
          select id, attempt, worker_id, lease_token, 'RUNNING', ${p.epoch}, began_at from upd)
        select * from upd`,
  );
  return r.map((x) => ({ ...claimedOf(x, Number(x.slot) - 1), readySince: new Date(x.ready_since) }));
}

interface ClaimedRow {
  id: string; attempt: number; lease_token: string; namespace: string; type: string; queue: string;
  payload: Json | null; idempotency_key: string | null; labels: Record<string, string>; timeout_ms: number | null;
  retry_policy: RetryPolicy; checkpoint: Json | null; checkpoint_version: number; workflow_id: string | null;
  parent_outputs: Record<string, Json> | null; correlation_id: string | null; trace_context: string | null;
}

function claimedOf(x: ClaimedRow, slot: number): Claimed {
  return {
    id: x.id,
    slot,
    attempt: x.attempt,
    leaseToken: x.lease_token,
    namespace: x.namespace,
    type: x.type,
    queue: x.queue,
    payload: x.payload,
    idempotencyKey: x.idempotency_key,
    labels: x.labels ?? {},
    timeoutMs: x.timeout_ms,
    retryPolicy: x.retry_policy,
    checkpoint: x.checkpoint_version > 0 ? { data: x.checkpoint, version: x.checkpoint_version } : null,
    workflowId: x.workflow_id,
    parentOutputs: x.parent_outputs ?? {},
    correlationId: x.correlation_id ?? null,
    traceContext: x.trace_context ?? null,
  };
}

/**
 * The assignments of `refs` as a claim made them, for attempts still RUNNING under the
 * same attempt and lease token: what a leader re-sends to a worker that never received
 * them (claimed, then the stream or the old leader died before the Assign went out).
 * Reads only. `startedAt` dates the attempt, for its timeout deadline.
 */
export async function taskAssignments(
  ex: Executor,
  p: { refs: { taskId: string; attempt: number; leaseToken: string }[] },
): Promise<(Claimed & { startedAt: Date })[]> {
  if (p.refs.length === 0) return [];
  const r = await rows<ClaimedRow & { started_at: Date | string }>(
    ex,
    sql`select t.id, t.attempt, t.lease_token, t.namespace, t.type, t.queue, t.payload, t.idempotency_key, t.labels,
          t.timeout_ms, t.retry_policy, t.checkpoint, t.checkpoint_version, t.workflow_id, t.correlation_id, t.trace_context, a.started_at,
          case when t.workflow_id is null then null else (
            select jsonb_object_agg(p.node, coalesce(p.output, 'null'::jsonb)) from task_edges e join tasks p on p.id = e.parent_id
            where e.child_id = t.id) end as parent_outputs
        from tasks t
        join jsonb_to_recordset(${JSON.stringify(p.refs)}::jsonb) as r("taskId" uuid, attempt int, "leaseToken" uuid)
          on t.id = r."taskId" and t.attempt = r.attempt and t.lease_token = r."leaseToken"
        join attempts a on a.task_id = t.id and a.number = t.attempt
        where t.status = 'RUNNING'`,
  );
  return r.map((x) => ({ ...claimedOf(x, 0), startedAt: new Date(x.started_at) }));
}

/**
 * The ready tasks a claim takes, locked: `queue`'s QUEUED tasks of `types` (of
 * `namespaces` when given: a filter on the rows the index yields, so the order still
 * comes from it), in exactly the order of index `tasks_ready` (priority desc nulls
 * last, id) so Postgres reads the first `limit` entries instead of sorting the backlog;
 * or, for aging, the oldest created before `agedBefore` (index `tasks_ready_age`).
 * Exported for the plan test.
 */
export function readyTasksQuery(p: { queue: string; types: string[]; namespaces?: string[]; limit: number; agedBefore?: Date }): SQL {
  const order = p.agedBefore
    ? sql`and id::text < ${uuidFloor(p.agedBefore)} order by id::text`
    : sql`order by priority desc nulls last, id`;
  const scope = p.namespaces ? sql`and namespace = any(${toPgArray(p.namespaces)}::text[])` : sql``;
  return sql`select id, updated_at from tasks
    where status = 'QUEUED' and queue = ${p.queue} and type = any(${toPgArray(p.types)}::text[]) ${scope}
    ${order}
    limit ${p.limit}
    for update skip locked`;
}

/** The smallest UUIDv7 of instant `t`: every id created before `t` sorts below it. */
export function uuidFloor(t: Date): string {
  const hex = Math.max(0, Math.floor(t.getTime())).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/** How one attempt ends, decided by the leader. */
export interface Finish {
  taskId: string;
  attempt: number;
  leaseToken: string;
  /** The task's next status: terminal, or PENDING/QUEUED for a retry. */
  taskStatus: TaskStatus;
  /** The attempt's own status: SUCCEEDED, FAILED or CANCELLED. */
  attemptStatus: TaskStatus;
  output: Json | null;
  error: TaskError | null;
  /** For a retry: when it is due. */
  runAt: Date | null;
}

/**
 * Applies finishes whose (attempt, lease token) still match a RUNNING task — the
 * compare-and-set that makes each task end once — and returns the ids applied. The
 * others changed nothing. A task that ends DEAD_LETTERED gets its dead-letter row (id =
 * task id) in the same statement. The caller must have called `leadershipFence`.
 */
export async function attemptFinishMany(
  ex: Executor,
  p: { epoch: number; finishes: Finish[]; now: Date },
): Promise<Map<string, { status: TaskStatus; workflowId: string | null }>> {
  if (p.finishes.length === 0) return new Map();
  const recs = p.finishes.map((f) => ({
    id: f.taskId, attempt: f.attempt, token: f.leaseToken, task_status: f.taskStatus, attempt_status: f.attemptStatus,
    output: f.output, error: f.error, run_at: f.runAt?.toISOString() ?? null,
  }));
  const done = await rows<{ id: string; status: TaskStatus; workflow_id: string | null }>(
    ex,
    sql`with r as (
          select * from jsonb_to_recordset(${JSON.stringify(recs)}::jsonb) as r(id uuid, attempt int, token uuid,
            task_status text, attempt_status text, output jsonb, error jsonb, run_at timestamptz)),
        upd as (
          update tasks t set status = r.task_status, output = r.output, error = r.error, run_at = coalesce(r.run_at, t.run_at),
            finished_at = case when r.task_status in ('PENDING', 'QUEUED') then null else ${p.now}::timestamptz end,
            worker_id = null, version = t.version + 1, updated_at = ${p.now}, epoch = ${p.epoch}
          from r
          where t.id = r.id and t.attempt = r.attempt and t.lease_token = r.token and t.status = 'RUNNING'
          returning t.id, t.attempt, t.status, t.namespace, t.type, t.queue, t.error, t.workflow_id),
        att as (
          update attempts a set status = r.attempt_status, error = r.error, ended_at = ${p.now}
          from upd join r on r.id = upd.id
          where a.task_id = upd.id and a.number = upd.attempt),
        dl as (
          insert into dead_letters (id, task_id, namespace, type, queue, error, created_at)
          select id, id, namespace, type, queue, error, ${p.now} from upd where status = 'DEAD_LETTERED'
          on conflict (task_id) do nothing)
        select id, status, workflow_id from upd`,
  );
  return new Map(done.map((d) => [d.id, { status: d.status, workflowId: d.workflow_id }]));
}

/**
 * For results the leader could not apply: true per task when the attempt already ended
 * with this same outcome (a result re-sent after its ack was lost), so the worker may be
 * told "accepted" again.
 */
export async function attemptAlreadyEnded(
  ex: Executor,
  p: { taskId: string; attempt: number; leaseToken: string; attemptStatus: TaskStatus; errorKind: string | null },
): Promise<boolean> {
  const [r] = await rows<{ status: TaskStatus; kind: string | null }>(
    ex,
    sql`select status, error->>'kind' as kind from attempts
        where task_id = ${p.taskId} and number = ${p.attempt} and lease_token = ${p.leaseToken} and ended_at is not null`,
  );
  return !!r && r.status === p.attemptStatus && (r.kind ?? null) === p.errorKind;
}

/**
 * Moves PENDING tasks whose run_at has come (and that wait on nothing else) to QUEUED,
 * at most `limit`, earliest first. Returns the queues that gained work. The caller must
 * have called `leadershipFence`.
 */
export async function taskPromoteDue(ex: Executor, p: { epoch: number; now: Date; limit: number }): Promise<{ count: number; queues: string[] }> {
  const r = await rows<{ queue: string }>(
    ex,
    sql`update tasks t set status = 'QUEUED', updated_at = ${p.now}, version = t.version + 1, epoch = ${p.epoch}
        where t.id in (
          select id from tasks where status = 'PENDING' and run_at <= ${p.now} and pending_parents = 0
          order by run_at limit ${p.limit} for update skip locked)
        returning t.queue`,
  );
  return { count: r.length, queues: [...new Set(r.map((x) => x.queue))] };
}

/** The earliest run_at among PENDING tasks, or undefined. */
export async function taskNextDue(ex: Executor): Promise<Date | undefined> {
  const [r] = await rows<{ run_at: Date | string | null }>(
    ex,
    sql`select run_at from tasks where status = 'PENDING' and run_at is not null and pending_parents = 0 order by run_at limit 1`,
  );
  return r?.run_at ? new Date(r.run_at) : undefined;
}

/** A running attempt as a new leader finds it in Postgres. */
export interface RunningAttempt {
  taskId: string;
  attempt: number;
  leaseToken: string;
  workerId: string | null;
  queue: string;
  type: string;
  retryPolicy: RetryPolicy;
  timeoutMs: number | null;
  /** When the current attempt started (wall clock), for its timeout. */
  attemptStartedAt: Date;
}

/** Every RUNNING task, for a leader rebuilding its lease table at takeover. */
export async function taskListRunning(ex: Executor): Promise<RunningAttempt[]> {
  const r = await rows<{
    id: string; attempt: number; lease_token: string; worker_id: string | null; queue: string; type: string; retry_policy: RetryPolicy;
    timeout_ms: number | null; started_at: Date | string;
  }>(ex, sql`select t.id, t.attempt, t.lease_token, t.worker_id, t.queue, t.type, t.retry_policy, t.timeout_ms, a.started_at
             from tasks t join attempts a on a.task_id = t.id and a.number = t.attempt
             where t.status = 'RUNNING'`);
  return r.map((x) => ({
    taskId: x.id, attempt: x.attempt, leaseToken: x.lease_token, workerId: x.worker_id, queue: x.queue, type: x.type,
    retryPolicy: x.retry_policy, timeoutMs: x.timeout_ms, attemptStartedAt: new Date(x.started_at),
  }));
}

/**
 * Of `refs`, the task ids whose attempt and lease token still hold a RUNNING task. The
 * leader drops the others' leases (cancelled through the API, for instance).
 */
export async function taskStillLeased(ex: Executor, p: { refs: { taskId: string; attempt: number; leaseToken: string }[] }): Promise<Set<string>> {
  if (p.refs.length === 0) return new Set();
  const r = await rows<{ id: string }>(
    ex,
    sql`select t.id from tasks t
        join jsonb_to_recordset(${JSON.stringify(p.refs)}::jsonb) as r("taskId" uuid, attempt int, "leaseToken" uuid)
          on t.id = r."taskId" and t.attempt = r.attempt and t.lease_token = r."leaseToken"
        where t.status = 'RUNNING'`,
  );
  return new Set(r.map((x) => x.id));
}

/** What a checkpoint write came to. */
export type CheckpointOutcome =
  | { ok: true; version: number }
  | { ok: false; code: 'ABORTED'; version: number }
  | { ok: false; code: 'FAILED_PRECONDITION'; version: number };

/**
 * Stores a checkpoint for a running attempt if the stored version equals `expected`
 * (compare-and-set). ABORTED carries the current version; FAILED_PRECONDITION means the
 * lease is stale. The caller must have called `leadershipFence`.
 */
export async function taskCheckpoint(
  ex: Executor,
  p: { taskId: string; attempt: number; leaseToken: string; data: Json; expected: number; now: Date },
): Promise<CheckpointOutcome> {
  const [done] = await rows<{ checkpoint_version: number }>(
    ex,
    sql`update tasks set checkpoint = ${JSON.stringify(p.data)}::jsonb, checkpoint_version = checkpoint_version + 1,
          updated_at = ${p.now}
        where id = ${p.taskId} and attempt = ${p.attempt} and lease_token = ${p.leaseToken} and status = 'RUNNING'
          and checkpoint_version = ${p.expected}
        returning checkpoint_version`,
  );
  if (done) return { ok: true, version: done.checkpoint_version };
  const [cur] = await rows<{ attempt: number; lease_token: string; status: string; checkpoint_version: number }>(
    ex,
    sql`select attempt, lease_token, status, checkpoint_version from tasks where id = ${p.taskId}`,
  );
  if (!cur || cur.attempt !== p.attempt || cur.lease_token !== p.leaseToken || cur.status !== 'RUNNING') {
    return { ok: false, code: 'FAILED_PRECONDITION', version: cur?.checkpoint_version ?? 0 };
  }
  return { ok: false, code: 'ABORTED', version: cur.checkpoint_version };
}

/** A queue's ready work, for metrics. */
export interface QueueStats {
  queue: string;
  /** QUEUED tasks. */
  ready: number;
  /** Age of the longest-ready one (since it last changed), in ms. */
  oldestReadyMs: number;
}

/**
 * Ready tasks per queue and the age of the oldest, as of the statement's start; only
 * queues with ready work. One pass over index `tasks_ready`'s rows (and their heap, for
 * the age) under a statement timeout of `timeoutMs`: on a huge backlog a scrape gives up
 * rather than piling up.
 */
export async function taskQueueStats(db: { tx<T>(fn: (tx: Executor) => Promise<T>): Promise<T> }, p: { timeoutMs: number }): Promise<QueueStats[]> {
  const r = await db.tx(async (tx) => {
    await tx.execute(sql.raw(`set local statement_timeout = ${Math.max(1, Math.floor(p.timeoutMs))}`));
    return rows<{ queue: string; ready: number | string; oldest_ms: number | string }>(
      tx,
      sql`select queue, count(*) as ready, coalesce(extract(epoch from (now() - min(updated_at))) * 1000, 0) as oldest_ms
          from tasks where status = 'QUEUED' group by queue`,
    );
  });
  return r.map((x) => ({ queue: x.queue, ready: Number(x.ready), oldestReadyMs: Math.max(0, Number(x.oldest_ms)) }));
}
