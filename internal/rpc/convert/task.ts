import { create } from '@bufbuild/protobuf';
import type { TaskSpecInput } from '../../domain/task-spec.js';
import type { Attempt, Task, TaskError, TaskStatus } from '../../domain/task.js';
import {
  AttemptSchema, TaskErrorSchema, TaskSchema, TaskStatus as PbStatus, type Attempt as PbAttempt, type Task as PbTask, type TaskError as PbTaskError,
  type TaskSpec,
} from '../../../gen/taskd/v1/task_pb.js';
import { dateOf, durationOf, jsonOf, msOf, timestampOf, valueOf } from './json.js';

const STATUS_TO_PB: Record<TaskStatus, PbStatus> = {
  PENDING: PbStatus.PENDING,
  QUEUED: PbStatus.QUEUED,
  RUNNING: PbStatus.RUNNING,
  SUCCEEDED: PbStatus.SUCCEEDED,
  FAILED: PbStatus.FAILED,
  DEAD_LETTERED: PbStatus.DEAD_LETTERED,
  CANCELLED: PbStatus.CANCELLED,
  SKIPPED: PbStatus.SKIPPED,
};

export const statusToPb = (s: TaskStatus): PbStatus => STATUS_TO_PB[s];

/** The domain status of a protobuf enum value; undefined for UNSPECIFIED or unknown numbers. */
export function statusFromPb(s: PbStatus): TaskStatus | undefined {
  return (Object.keys(STATUS_TO_PB) as TaskStatus[]).find((k) => STATUS_TO_PB[k] === s);
}

/** A submitted spec as the domain validator takes it; unset fields stay undefined. */
export function specFromPb(s: TaskSpec | undefined): TaskSpecInput {
  if (!s) return {};
  const rp = s.retryPolicy;
  return {
    namespace: s.namespace,
    type: s.type,
    queue: s.queue,
    payload: jsonOf(s.payload),
    priority: s.priority,
    delayMs: s.start.case === 'delay' ? msOf(s.start.value) : undefined,
    runAt: s.start.case === 'runAt' ? dateOf(s.start.value) : undefined,
    retryPolicy: rp
      ? {
          maxAttempts: rp.maxAttempts,
          initialBackoffMs: msOf(rp.initialBackoff),
          maxBackoffMs: msOf(rp.maxBackoff),
          multiplier: rp.multiplier || undefined,
          jitter: rp.jitter,
        }
      : undefined,
    timeoutMs: msOf(s.timeout),
    idempotencyKey: s.idempotencyKey,
    labels: s.labels,
    notify: s.notify ? { webhookUrl: s.notify.webhookUrl || null, email: s.notify.email || null } : undefined,
  };
}

export function errorToPb(e: TaskError | null): PbTaskError | undefined {
  return e ? create(TaskErrorSchema, { message: e.message, kind: e.kind, retryable: e.retryable }) : undefined;
}

export function errorFromPb(e: PbTaskError): TaskError {
  return { message: e.message, kind: e.kind || 'handler', retryable: e.retryable };
}

/** One attempt as read back over the API. */
export function attemptToPb(a: Attempt): PbAttempt {
  return create(AttemptSchema, {
    number: a.number,
    workerId: a.workerId,
    startedAt: timestampOf(a.startedAt),
    endedAt: timestampOf(a.endedAt),
    status: statusToPb(a.status),
    error: errorToPb(a.error),
  });
}

/** A domain task as read back over the API. */
export function taskToPb(t: Task): PbTask {
  return create(TaskSchema, {
    id: t.id,
    namespace: t.namespace,
    type: t.type,
    queue: t.queue,
    payload: valueOf(t.payload),
    priority: t.priority,
    runAt: timestampOf(t.runAt),
    retryPolicy: {
      maxAttempts: t.retryPolicy.maxAttempts,
      initialBackoff: durationOf(t.retryPolicy.initialBackoffMs),
      maxBackoff: durationOf(t.retryPolicy.maxBackoffMs),
      multiplier: t.retryPolicy.multiplier,
      jitter: t.retryPolicy.jitter,
    },
    timeout: durationOf(t.timeoutMs),
    idempotencyKey: t.idempotencyKey ?? '',
    labels: t.labels,
    notify: t.notify ? { webhookUrl: t.notify.webhookUrl ?? '', email: t.notify.email ?? '' } : undefined,
    status: statusToPb(t.status),
    attempts: t.attempts.map(attemptToPb),
    output: t.output === null ? undefined : valueOf(t.output),
    error: errorToPb(t.error),
    version: BigInt(t.version),
    workflowId: t.workflowId ?? '',
    createdAt: timestampOf(t.createdAt),
    updatedAt: timestampOf(t.updatedAt),
    startedAt: timestampOf(t.startedAt),
    finishedAt: timestampOf(t.finishedAt),
    attemptCount: t.attempt,
    checkpoint: t.checkpoint ? valueOf(t.checkpoint.data) : undefined,
    checkpointVersion: BigInt(t.checkpoint?.version ?? 0),
    replayOf: t.replayOf ?? '',
    correlationId: t.correlationId ?? '',
  });
}
