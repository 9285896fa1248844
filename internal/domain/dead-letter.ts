import type { Attempt, Json, NewTask, Task, TaskError } from './task.js';

/**
 * A task whose retries were exhausted, as read back. Its id is the task's id (one dead
 * letter per task); `payload` and `attempts` are the task's.
 */
export interface DeadLetter {
  id: string;
  taskId: string;
  namespace: string;
  type: string;
  queue: string;
  payload: Json | null;
  /** The last attempt's error. */
  error: TaskError | null;
  /** Every attempt, oldest first; empty in listings. */
  attempts: Attempt[];
  createdAt: Date;
  /** Set once replayed: the fresh task. */
  replayedTaskId: string | null;
  replayedAt: Date | null;
}

/**
 * The submission that replays `original` under the fresh id `id`: the same type, queue,
 * payload, priority, retry policy, timeout, labels, notify and namespace, runnable now,
 * linked to the original by `replayOf`.
 */
export function replayTaskOf(original: Task, id: string): NewTask {
  return {
    id,
    namespace: original.namespace,
    type: original.type,
    queue: original.queue,
    payload: original.payload,
    priority: original.priority,
    runAt: null,
    retryPolicy: original.retryPolicy,
    timeoutMs: original.timeoutMs,
    // No idempotency key: the original still holds it, and a replay is by definition a
    // second, deliberate run. Handlers see an empty key for the replay.
    idempotencyKey: null,
    labels: original.labels,
    notify: original.notify,
    replayOf: original.id,
  };
}
