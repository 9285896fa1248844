import { describe, expect, it } from 'vitest';
import type { StoredEvent } from './stored-event.js';
import { taskAsOf, taskChangeOf, taskFromChange } from './task-change.js';
import type { Task } from './task.js';

const T0 = '2026-11-23T10:00:00.000000Z';
const T1 = '2026-11-23T10:00:01.000000Z';
const T2 = '2026-11-23T10:00:02.000000Z';

const event = (type: string, data: Record<string, unknown>, occurredAt: string): StoredEvent => ({
  sequence: 1, id: `ev-${type}`, namespace: 'default', type, aggregateType: 'task', aggregateId: 't1', occurredAt,
  data: { taskId: 't1', taskType: 'noop', queue: 'default', labels: { a: 'b' }, createdAt: T0, ...data },
});

const queued = event('task.created', { status: 'TASK_STATUS_QUEUED', previousStatus: null, attempt: 0 }, T0);
const started = event('task.started', { status: 'TASK_STATUS_RUNNING', previousStatus: 'TASK_STATUS_QUEUED', attempt: 1, workerId: 'w1', startedAt: T1 }, T1);
const succeeded = event('task.succeeded', {
  status: 'TASK_STATUS_SUCCEEDED', previousStatus: 'TASK_STATUS_RUNNING', attempt: 1, startedAt: T1, finishedAt: T2, output: { ok: true },
}, T2);

describe('taskAsOf', () => {
  const snapshot = taskFromChange('default', taskChangeOf(queued));

  it('moves an older read forward event by event, opening and ending the attempt', () => {
    const running = taskAsOf(snapshot, taskChangeOf(started));
    expect(running).toMatchObject({ status: 'RUNNING', attempt: 1, startedAt: new Date(T1), finishedAt: null, output: null });
    expect(running.attempts).toEqual([{ number: 1, workerId: 'w1', startedAt: new Date(T1), endedAt: null, status: 'RUNNING', error: null }]);
    const done = taskAsOf(running, taskChangeOf(succeeded));
    expect(done).toMatchObject({ status: 'SUCCEEDED', output: { ok: true }, finishedAt: new Date(T2), updatedAt: new Date(T2) });
    expect(done.attempts).toEqual([{ number: 1, workerId: 'w1', startedAt: new Date(T1), endedAt: new Date(T2), status: 'SUCCEEDED', error: null }]);
  });

  it('winds a newer read back to the event: later attempts dropped, the event\'s attempt shown running', () => {
    const now: Task = {
      ...taskAsOf(taskAsOf(snapshot, taskChangeOf(started)), taskChangeOf(succeeded)), version: 7,
      attempts: [{ number: 1, workerId: 'w1', startedAt: new Date(T1), endedAt: new Date(T2), status: 'SUCCEEDED', error: null }],
    };
    const asStarted = taskAsOf(now, taskChangeOf(started));
    expect(asStarted).toMatchObject({ status: 'RUNNING', output: null, finishedAt: null, version: 7 });
    expect(asStarted.attempts).toEqual([{ number: 1, workerId: 'w1', startedAt: new Date(T1), endedAt: null, status: 'RUNNING', error: null }]);
    const asQueued = taskAsOf(now, taskChangeOf(queued));
    expect([asQueued.status, asQueued.attempts]).toEqual(['QUEUED', []]);
  });

  it('ends a failed attempt as FAILED when the task retries', () => {
    const retrying = event('task.retrying', {
      status: 'TASK_STATUS_PENDING', previousStatus: 'TASK_STATUS_RUNNING', attempt: 1, startedAt: T1, runAt: T2,
      error: { message: 'boom', kind: 'handler', retryable: true },
    }, T1);
    const t = taskAsOf(taskAsOf(snapshot, taskChangeOf(started)), taskChangeOf(retrying));
    expect(t).toMatchObject({ status: 'PENDING', runAt: new Date(T2), error: { message: 'boom', kind: 'handler', retryable: true } });
    expect(t.attempts[0]).toMatchObject({ status: 'FAILED', endedAt: new Date(T1), error: { message: 'boom' } });
  });

  it('refuses an event that is not a task event', () => {
    expect(() => taskChangeOf({ ...queued, aggregateType: 'workflow', type: 'workflow.created' })).toThrow('event ev-task.created (workflow.created) is not a task event with a status');
  });
});
