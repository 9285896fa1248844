import { describe, expect, it } from 'vitest';
import { parseEventFacts as parseEvent } from './event-facts.js';

describe('parseEventFacts', () => {
  it('reads the envelope and a task event\'s facts from the Event proto3 JSON', () => {
    const e = parseEvent(JSON.stringify({
      id: 'e1', namespace: 'default', type: 'task.failed', aggregateType: 'task', aggregateId: 't1', sequence: '42', occurredAt: '2026-01-01T00:00:00.000001Z',
      task: {
        taskId: 't1', taskType: 'noop', queue: 'q', status: 'TASK_STATUS_FAILED', attempt: 2, error: { message: 'boom', kind: 'handler' },
        labels: { a: 'b' }, notify: { webhookUrl: 'http://h/x' }, createdAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z',
      },
    }));
    expect(e).toEqual({
      id: 'e1', namespace: 'default', type: 'task.failed', aggregateType: 'task', aggregateId: 't1', sequence: '42', occurredAt: '2026-01-01T00:00:00.000001Z',
      task: {
        taskId: 't1', taskType: 'noop', queue: 'q', status: 'FAILED', attempt: 2, error: { message: 'boom', kind: 'handler' }, labels: { a: 'b' },
        notify: { webhookUrl: 'http://h/x', email: '' }, createdAt: '2026-01-01T00:00:00Z', startedAt: undefined, finishedAt: '2026-01-01T00:00:01Z',
      },
    });
  });

  it('names what is wrong', () => {
    expect(() => parseEvent('{')).toThrow(/^event is not JSON: /);
    expect(() => parseEvent('[]')).toThrow('event is not a JSON object');
    expect(() => parseEvent('{"id":"x","namespace":"n","type":"t"}')).toThrow('event lacks "aggregateId"');
  });
});
