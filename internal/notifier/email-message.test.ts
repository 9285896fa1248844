import { describe, expect, it } from 'vitest';
import { parseEventFacts } from '../domain/event-facts.js';
import { emailMessage } from './email-message.js';

describe('emailMessage', () => {
  it('a task event: subject with type, outcome and id; body with namespace, status, error and timestamps', () => {
    const m = emailMessage(parseEventFacts(JSON.stringify({
      id: 'e1', namespace: 'team-a', type: 'task.dead_lettered', aggregateType: 'task', aggregateId: 't1', sequence: '1', occurredAt: '2026-01-01T00:00:03Z',
      task: {
        taskId: 't1', taskType: 'email.send', queue: 'default', status: 'TASK_STATUS_DEAD_LETTERED', attempt: 3, error: { message: 'smtp down', kind: 'handler' },
        labels: { team: 'a' }, createdAt: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:02Z',
      },
    })));
    expect(m.subject).toBe('[taskd] task email.send dead lettered: t1');
    expect(m.text).toBe([
      'Task t1 (type email.send) dead lettered.', '',
      'Namespace: team-a', 'Task:      t1', 'Type:      email.send', 'Queue:     default', 'Status:    DEAD_LETTERED', 'Attempt:   3',
      'Error:     handler: smtp down', 'Created:   2026-01-01T00:00:00Z', 'Started:   2026-01-01T00:00:01Z', 'Finished:  2026-01-01T00:00:02Z',
      'Labels:    team=a', 'Event:     task.dead_lettered e1 at 2026-01-01T00:00:03Z', '',
    ].join('\n'));
  });

  it('another event: its type, aggregate and time', () => {
    const m = emailMessage(parseEventFacts('{"id":"e2","namespace":"default","type":"workflow.failed","aggregateType":"workflow","aggregateId":"w1","occurredAt":"2026-01-01T00:00:00Z"}'));
    expect(m.subject).toBe('[taskd] workflow.failed workflow w1');
    expect(m.text).toContain('Event:     workflow.failed e2');
  });
});
