import type { Attempt, Json, Notify, RetryPolicy, Task, TaskError, TaskStatus } from '../domain/task.js';

/** A `tasks` row as the drivers return it (snake_case). */
export interface TaskRow {
  id: string;
  namespace: string;
  type: string;
  queue: string;
  payload: Json | null;
  priority: number;
  status: TaskStatus;
  run_at: Date | string | null;
  retry_policy: RetryPolicy;
  timeout_ms: number | null;
  idempotency_key: string | null;
  labels: Record<string, string>;
  notify: Notify | null;
  attempt: number;
  lease_token: string | null;
  worker_id: string | null;
  output: Json | null;
  error: TaskError | null;
  version: number;
  workflow_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  replay_of: string | null;
  checkpoint: Json | null;
  checkpoint_version: number;
  node: string | null;
  pending_parents: number;
  correlation_id: string | null;
  trace_context: string | null;
}

export interface AttemptRow {
  task_id: string;
  number: number;
  worker_id: string;
  status: TaskStatus;
  error: TaskError | null;
  started_at: Date | string;
  ended_at: Date | string | null;
}

/** Dates arrive as Date from `pg` and PGlite columns, as strings from JSON aggregates. */
export function toDate(v: Date | string): Date;
export function toDate(v: Date | string | null): Date | null;
export function toDate(v: Date | string | null): Date | null {
  if (v === null) return null;
  return v instanceof Date ? v : new Date(v);
}

/** Maps a row (and its attempts, oldest first) to the domain Task. */
export function taskFromRow(r: TaskRow, attempts: AttemptRow[] = []): Task {
  return {
    id: r.id,
    namespace: r.namespace,
    type: r.type,
    queue: r.queue,
    payload: r.payload,
    priority: r.priority,
    runAt: toDate(r.run_at),
    retryPolicy: r.retry_policy,
    timeoutMs: r.timeout_ms,
    idempotencyKey: r.idempotency_key,
    labels: r.labels ?? {},
    notify: r.notify,
    status: r.status,
    attempt: r.attempt,
    output: r.output,
    error: r.error,
    version: r.version,
    workflowId: r.workflow_id,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    startedAt: toDate(r.started_at),
    finishedAt: toDate(r.finished_at),
    attempts: attempts.map(attemptFromRow),
    replayOf: r.replay_of,
    checkpoint: r.checkpoint_version > 0 ? { data: r.checkpoint, version: r.checkpoint_version } : null,
    correlationId: r.correlation_id ?? null,
  };
}

export function attemptFromRow(a: AttemptRow): Attempt {
  return {
    number: a.number,
    workerId: a.worker_id,
    startedAt: toDate(a.started_at),
    endedAt: toDate(a.ended_at),
    status: a.status,
    error: a.error,
  };
}
