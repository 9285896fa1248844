import type { StoredEvent } from './stored-event.js';
import type { Attempt, Json, Notify, Task, TaskError, TaskStatus } from './task.js';

/** A task event's data (TaskEvent of events.proto) in domain terms: the task as the change left it. */
export interface TaskChange {
  taskId: string;
  type: string;
  queue: string;
  status: TaskStatus;
  /** null for task.created. */
  previousStatus: TaskStatus | null;
  attempt: number;
  workerId: string | null;
  error: TaskError | null;
  output: Json | null;
  runAt: Date | null;
  workflowId: string | null;
  node: string | null;
  labels: Record<string, string>;
  idempotencyKey: string | null;
  replayOf: string | null;
  createdAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  notify: Notify | null;
  /** The id of the request that created the task; null when unknown. */
  correlationId: string | null;
  /** When the change committed (the event's occurred_at): the task's updated_at then. */
  at: Date;
}

const status = (v: unknown): TaskStatus | null =>
  typeof v === 'string' && v.startsWith('TASK_STATUS_') ? (v.slice('TASK_STATUS_'.length) as TaskStatus) : null;
const date = (v: unknown): Date | null => (typeof v === 'string' && v !== '' ? new Date(v) : null);
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The change a task event records. Throws naming the event when it is not a task event or lacks its status. */
export function taskChangeOf(e: StoredEvent): TaskChange {
  const d = e.data;
  const s = status(d.status);
  if (e.aggregateType !== 'task' || !s) throw new Error(`event ${e.id} (${e.type}) is not a task event with a status`);
  const err = d.error && typeof d.error === 'object' ? (d.error as Record<string, unknown>) : null;
  const notify = d.notify && typeof d.notify === 'object' ? (d.notify as Record<string, unknown>) : null;
  return {
    taskId: e.aggregateId, type: String(d.taskType ?? ''), queue: String(d.queue ?? ''), status: s, previousStatus: status(d.previousStatus),
    attempt: typeof d.attempt === 'number' ? d.attempt : 0, workerId: text(d.workerId),
    error: err ? { message: String(err.message ?? ''), kind: String(err.kind ?? ''), retryable: err.retryable === true } : null,
    output: d.output === undefined ? null : (d.output as Json), runAt: date(d.runAt), workflowId: text(d.workflowId), node: text(d.node),
    labels: d.labels && typeof d.labels === 'object' ? (d.labels as Record<string, string>) : {},
    idempotencyKey: text(d.idempotencyKey), replayOf: text(d.replayOf),
    createdAt: date(d.createdAt), startedAt: date(d.startedAt), finishedAt: date(d.finishedAt),
    notify: notify ? { webhookUrl: text(notify.webhookUrl), email: text(notify.email) } : null,
    correlationId: text(d.correlationId),
    at: new Date(e.occurredAt),
  };
}

/** How an attempt ended when its task moved from RUNNING to `next`. */
function attemptOutcome(next: TaskStatus): TaskStatus {
  if (next === 'SUCCEEDED' || next === 'CANCELLED') return next;
  return 'FAILED';
}

/**
 * The task as `change` left it, from `base`: a read of the same task taken before or
 * after the change. The fields the event records (status, attempt, error, output, times,
 * labels, …) are the event's; attempts after the change's are dropped, and the change's
 * own attempt is shown running (for task.started) or ended by it. The rest — payload,
 * priority, policy, `version`, the checkpoint — is `base`'s: events do not carry them.
 */
export function taskAsOf(base: Task, change: TaskChange): Task {
  const attempts: Attempt[] = base.attempts.filter((a) => a.number <= change.attempt);
  const i = attempts.findIndex((a) => a.number === change.attempt);
  const own = i >= 0 ? attempts[i] : undefined;
  let mine: Attempt | undefined;
  if (change.status === 'RUNNING' && change.attempt > 0) {
    mine = {
      number: change.attempt, workerId: change.workerId ?? own?.workerId ?? '', startedAt: own?.startedAt ?? change.startedAt ?? change.at,
      endedAt: null, status: 'RUNNING', error: null,
    };
  } else if (change.previousStatus === 'RUNNING' && change.attempt > 0 && (!own || own.endedAt === null)) {
    mine = {
      number: change.attempt, workerId: own?.workerId ?? '', startedAt: own?.startedAt ?? change.startedAt ?? change.at,
      endedAt: change.at, status: attemptOutcome(change.status), error: change.error,
    };
  }
  if (mine && i >= 0) attempts[i] = mine;
  else if (mine) attempts.push(mine);
  return {
    ...base, status: change.status, attempt: change.attempt, error: change.error, output: change.output, runAt: change.runAt,
    workflowId: change.workflowId, labels: change.labels, replayOf: change.replayOf, startedAt: change.startedAt,
    finishedAt: change.finishedAt, updatedAt: change.at, attempts,
  };
}

/** A task known only from its event (its row is gone or unread): what the event records, spec fields empty. */
export function taskFromChange(namespace: string, change: TaskChange): Task {
  const base: Task = {
    id: change.taskId, namespace, type: change.type, queue: change.queue, payload: null, priority: 0, runAt: change.runAt,
    retryPolicy: { maxAttempts: 0, initialBackoffMs: 0, maxBackoffMs: 0, multiplier: 0, jitter: 0 }, timeoutMs: null,
    idempotencyKey: change.idempotencyKey, labels: change.labels, notify: change.notify, status: change.status, attempt: change.attempt,
    output: change.output, error: change.error, version: 0, workflowId: change.workflowId, createdAt: change.createdAt ?? change.at,
    updatedAt: change.at, startedAt: change.startedAt, finishedAt: change.finishedAt, attempts: [], replayOf: change.replayOf, checkpoint: null,
    correlationId: change.correlationId,
  };
  return taskAsOf(base, change);
}
