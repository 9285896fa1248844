import { timestampMs } from '@bufbuild/protobuf/wkt';
import { TaskStatus, type Attempt, type Task, type TaskError } from '../../../gen/taskd/v1/task_pb.js';
import { formatDuration } from '../duration.js';
import { renderFields, renderTable, truncate } from '../table.js';
import { ageText, durationText, jsonText, labelsText, taskStatusName, timeText } from './format.js';

/** `handler: boom` of a task error (the kind only when the message does not start with it); unset → "". */
export const taskErrorText = (e: TaskError | undefined): string => {
  if (e === undefined) return '';
  return e.kind && !e.message.startsWith(`${e.kind}:`) ? `${e.kind}: ${e.message}` : e.message;
};

/** Dispatches so far out of the allowed attempts, e.g. `2/3`. */
export const attemptsText = (t: Task): string => `${t.attemptCount}/${t.retryPolicy?.maxAttempts ?? '?'}`;

/** Tasks as a table: ID, TYPE, QUEUE, STATUS, ATTEMPTS, PRIORITY, AGE. */
export function tasksTable(tasks: Task[], now: number): string {
  return renderTable(
    ['ID', 'TYPE', 'QUEUE', 'STATUS', 'ATTEMPTS', 'PRIORITY', 'AGE'],
    tasks.map((t) => [t.id, t.type, t.queue, taskStatusName(t.status), attemptsText(t), String(t.priority), ageText(t.createdAt, now)]),
    'No tasks.',
  );
}

/** Attempts as a table: #, STATUS, WORKER, STARTED, DURATION, ERROR. */
export function attemptsTable(attempts: Attempt[], now: number): string {
  return renderTable(
    ['#', 'STATUS', 'WORKER', 'STARTED', 'DURATION', 'ERROR'],
    attempts.map((a) => [
      String(a.number), taskStatusName(a.status), a.workerId, timeText(a.startedAt),
      a.startedAt ? formatDuration((a.endedAt ? timestampMs(a.endedAt) : now) - timestampMs(a.startedAt)) : '',
      truncate(taskErrorText(a.error), 80),
    ]),
  );
}

/** One task with every field people look at, its payload and output, then its attempts. */
export function taskDetails(t: Task, now: number): string {
  const fields = renderFields([
    ['ID', t.id],
    ['Type', t.type],
    ['Namespace', t.namespace],
    ['Queue', t.queue],
    ['Status', taskStatusName(t.status)],
    ['Attempts', attemptsText(t)],
    ['Priority', String(t.priority)],
    ['Labels', labelsText(t.labels)],
    ['Workflow', t.workflowId],
    ['Replay of', t.replayOf],
    ['Idempotency key', t.idempotencyKey],
    ['Correlation id', t.correlationId],
    ['Timeout', durationText(t.timeout)],
    ['Created', t.createdAt ? `${timeText(t.createdAt)} (${ageText(t.createdAt, now)} ago)` : ''],
    ['Run at', timeText(t.runAt)],
    ['Started', timeText(t.startedAt)],
    ['Finished', timeText(t.finishedAt)],
    ['Version', String(t.version)],
    ['Error', taskErrorText(t.error)],
    ['Payload', truncate(jsonText(t.payload), 2_000)],
    ['Output', truncate(jsonText(t.output), 2_000)],
    ['Checkpoint', t.checkpoint ? `v${t.checkpointVersion} ${truncate(jsonText(t.checkpoint), 200)}` : ''],
  ]);
  const attempts = t.attempts.length > 0 ? `\nAttempts:\n${attemptsTable(t.attempts, now)}` : '';
  return fields + attempts;
}

/**
 * The one-line live status of a watched task:
 * `<id>  RUNNING  attempt 1/3 on worker-0  4.2s`, with the error once it failed.
 */
export function taskStatusLine(t: Task, now: number): string {
  const last = t.attempts[t.attempts.length - 1];
  const parts = [t.id, taskStatusName(t.status), `attempt ${attemptsText(t)}`];
  if (last?.workerId && t.status === TaskStatus.RUNNING) parts[2] += ` on ${last.workerId}`;
  const start = t.createdAt ? timestampMs(t.createdAt) : now;
  const end = t.finishedAt ? timestampMs(t.finishedAt) : now;
  parts.push(formatDuration(end - start));
  const err = taskErrorText(t.error);
  if (err) parts.push(truncate(err, 120));
  return parts.join('  ');
}
