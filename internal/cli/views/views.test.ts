import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { TaskSchema, TaskStatus } from '../../../gen/taskd/v1/task_pb.js';
import { renderFields, renderTable } from '../table.js';
import { valueOfJson } from '../task-spec-flags.js';
import { ageText } from './format.js';
import { taskDetails, taskStatusLine, tasksTable } from './task-view.js';
import { countsText, progressBar, progressOf, workflowProgressLine } from './workflow-view.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');

describe('tables', () => {
  it('columns are padded to the widest cell, two spaces apart, without trailing spaces', () => {
    expect(renderTable(['ID', 'STATUS'], [['a', 'RUNNING'], ['bbbb', 'x\ny']])).toBe('ID    STATUS\na     RUNNING\nbbbb  x y\n');
    expect(renderTable(['ID'], [], 'No tasks.')).toBe('No tasks.\n');
    expect(renderFields([['ID', 'a'], ['Empty', ''], ['Status', 'QUEUED']])).toBe('ID:      a\nStatus:  QUEUED\n');
  });

  it('ages are coarse', () => {
    expect([5_000, 150_000, 7_200_000, 5 * 86_400_000].map((ms) => ageText(timestampFromMs(NOW - ms), NOW))).toEqual(['5s', '2m', '2h', '5d']);
  });
});

describe('task views', () => {
  const task = create(TaskSchema, {
    id: '019a-1', type: 'noop', queue: 'default', status: TaskStatus.RUNNING, attemptCount: 2, retryPolicy: { maxAttempts: 3 }, priority: 5,
    createdAt: timestampFromMs(NOW - 4_200), payload: valueOfJson({ a: 1 }),
    attempts: [
      { number: 1, workerId: 'w0', status: TaskStatus.FAILED, startedAt: timestampFromMs(NOW - 4_000), endedAt: timestampFromMs(NOW - 3_000), error: { kind: 'handler', message: 'boom' } },
      { number: 2, workerId: 'w1', status: TaskStatus.RUNNING, startedAt: timestampFromMs(NOW - 1_000) },
    ],
  });

  it('list rows, details with attempts, and the live status line', () => {
    expect(tasksTable([task], NOW)).toBe('ID      TYPE  QUEUE    STATUS   ATTEMPTS  PRIORITY  AGE\n019a-1  noop  default  RUNNING  2/3       5         4s\n');
    const d = taskDetails(task, NOW);
    expect(d).toContain('Status:    RUNNING');
    expect(d).toContain('Payload:   {"a":1}');
    expect(d).toMatch(/Attempts:\n#\s+STATUS\s+WORKER.*\n1\s+FAILED\s+w0\s+2026-11-23T09:59:56Z\s+1.0s\s+handler: boom\n2\s+RUNNING\s+w1/);
    expect(taskStatusLine(task, NOW)).toBe('019a-1  RUNNING  attempt 2/3 on w1  4.2s');
  });
});

describe('workflow progress', () => {
  const counts = { SUCCEEDED: 5, RUNNING: 2, QUEUED: 1, SKIPPED: 1, FAILED: 1 };

  it('counts terminal tasks as done, live statuses first in the text', () => {
    expect(progressOf(counts)).toEqual({ done: 7, total: 10 });
    expect(countsText(counts)).toBe('RUNNING 2 · QUEUED 1 · SUCCEEDED 5 · FAILED 1 · SKIPPED 1');
    expect(progressBar(7, 10, 10)).toBe('[███████░░░]');
    expect(progressBar(0, 0, 4)).toBe('[░░░░]');
    expect(workflowProgressLine({ RUNNING: 1, SUCCEEDED: 1 }, 30)).toBe(`[${'█'.repeat(5)}${'░'.repeat(5)}] 1/2  RUNNING 1 …`);
    const narrow = workflowProgressLine(counts, 80);
    expect(narrow).toMatch(/^\[█{18}░{8}\] 7\/10  RUNNING 2 · QUEUED 1 · .*…$/);
    expect(narrow.length).toBe(79);
    expect(workflowProgressLine(counts, 120)).toBe(`[${'█'.repeat(28)}${'░'.repeat(12)}] 7/10  RUNNING 2 · QUEUED 1 · SUCCEEDED 5 · FAILED 1 · SKIPPED 1`);
  });
});
