import type { DeadLetter } from '../../../gen/taskd/v1/dead_letter_service_pb.js';
import { renderFields, renderTable, truncate } from '../table.js';
import { ageText, jsonText, timeText } from './format.js';
import { attemptsTable, taskErrorText } from './task-view.js';

/** Dead letters as a table: ID, TYPE, QUEUE, ERROR, REPLAYED AS, AGE (lists carry no attempts). */
export function deadLettersTable(dls: DeadLetter[], now: number): string {
  return renderTable(
    ['ID', 'TYPE', 'QUEUE', 'ERROR', 'REPLAYED AS', 'AGE'],
    dls.map((d) => [d.id, d.type, d.queue, truncate(taskErrorText(d.error), 60), d.replayedTaskId, ageText(d.createdAt, now)]),
    'No dead letters.',
  );
}

/** One dead letter: its fields, payload, last error and every attempt. */
export function deadLetterDetails(d: DeadLetter, now: number): string {
  const fields = renderFields([
    ['ID', d.id],
    ['Task', d.taskId],
    ['Namespace', d.namespace],
    ['Type', d.type],
    ['Queue', d.queue],
    ['Error', taskErrorText(d.error)],
    ['Created', timeText(d.createdAt)],
    ['Replayed as', d.replayedTaskId],
    ['Replayed at', timeText(d.replayedAt)],
    ['Payload', truncate(jsonText(d.payload), 2_000)],
  ]);
  return d.attempts.length > 0 ? `${fields}\nAttempts:\n${attemptsTable(d.attempts, now)}` : fields;
}
