import type { EventFacts } from '../domain/event-facts.js';

/** An email's subject and plain-text body. */
export interface EmailMessage {
  subject: string;
  text: string;
}

/**
 * The email of an event. For a task event: the subject names the task's type, its
 * outcome and id; the body lists namespace, task id, type, queue, status, attempt,
 * error, the created/started/finished timestamps, labels and the event. Other events:
 * their type, aggregate and time.
 */
export function emailMessage(e: EventFacts): EmailMessage {
  const t = e.task;
  if (!t) {
    return {
      subject: `[taskd] ${e.type} ${e.aggregateType} ${e.aggregateId}`,
      text: lines([
        `${e.aggregateType} ${e.aggregateId}: ${e.type}.`, '',
        ['Namespace', e.namespace], ['Event', `${e.type} ${e.id}`], ['Occurred', e.occurredAt],
      ]),
    };
  }
  const outcome = t.status.toLowerCase().replace(/_/g, ' ');
  const error = t.error && (t.error.message || t.error.kind) ? `${t.error.kind ? `${t.error.kind}: ` : ''}${t.error.message}` : 'none';
  const labels = Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(', ');
  return {
    subject: `[taskd] task ${t.taskType} ${outcome}: ${t.taskId}`,
    text: lines([
      `Task ${t.taskId} (type ${t.taskType}) ${outcome}.`, '',
      ['Namespace', e.namespace], ['Task', t.taskId], ['Type', t.taskType], ['Queue', t.queue], ['Status', t.status],
      ['Attempt', String(t.attempt)], ['Error', error],
      ['Created', t.createdAt ?? '-'], ['Started', t.startedAt ?? '-'], ['Finished', t.finishedAt ?? '-'],
      ['Labels', labels || '-'], ['Event', `${e.type} ${e.id} at ${e.occurredAt}`],
    ]),
  };
}

function lines(parts: (string | [string, string])[]): string {
  return `${parts.map((p) => (typeof p === 'string' ? p : `${`${p[0]}:`.padEnd(11)}${p[1]}`)).join('\n')}\n`;
}
