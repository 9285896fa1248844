import type { DeadLetter } from '../domain/dead-letter.js';
import type { Json, TaskError } from '../domain/task.js';
import { attemptFromRow, toDate, type AttemptRow } from './task-rows.js';

/** A `dead_letters` row joined with its task's payload (snake_case). */
export interface DeadLetterRow {
  id: string;
  task_id: string;
  namespace: string;
  type: string;
  queue: string;
  payload: Json | null;
  error: TaskError | null;
  created_at: Date | string;
  replayed_task_id: string | null;
  replayed_at: Date | string | null;
}

/** Maps a row (and its task's attempts, oldest first) to the domain DeadLetter. */
export function deadLetterFromRow(r: DeadLetterRow, attempts: AttemptRow[] = []): DeadLetter {
  return {
    id: r.id,
    taskId: r.task_id,
    namespace: r.namespace,
    type: r.type,
    queue: r.queue,
    payload: r.payload,
    error: r.error,
    attempts: attempts.map(attemptFromRow),
    createdAt: toDate(r.created_at),
    replayedTaskId: r.replayed_task_id,
    replayedAt: toDate(r.replayed_at),
  };
}
