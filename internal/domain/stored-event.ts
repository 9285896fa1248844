import type { FilterableEvent } from './event-filter.js';

/**
 * One state change as the outbox stored it (table `events`, written by triggers in the
 * transaction of the change; proto/taskd/v1/events/events.proto describes each field).
 * What watch streams and ListEvents serve.
 */
export interface StoredEvent {
  /** Position in the outbox: grows with every event, per aggregate in commit order. */
  sequence: number;
  /** Unique; what clients resume after (`after_event_id`). */
  id: string;
  namespace: string;
  /** "task.created", "workflow.succeeded", "schedule.fired", … */
  type: string;
  /** "task", "workflow" or "schedule". */
  aggregateType: string;
  aggregateId: string;
  /** RFC 3339 in UTC with microseconds. */
  occurredAt: string;
  /** The aggregate's event message (TaskEvent, WorkflowEvent, ScheduleEvent) as proto3 JSON. */
  data: Record<string, unknown>;
}

/** The workflow an event belongs to: a workflow's own events and its tasks' ("" for none). */
export function eventWorkflowId(e: StoredEvent): string {
  if (e.aggregateType === 'workflow') return e.aggregateId;
  const w = e.aggregateType === 'task' ? e.data.workflowId : undefined;
  return typeof w === 'string' ? w : '';
}

/** What an EventFilter looks at in `e` (see internal/domain/event-filter.ts). */
export function filterable(e: StoredEvent): FilterableEvent {
  if (e.aggregateType !== 'task') return { type: e.type, aggregateId: e.aggregateId };
  const labels = e.data.labels && typeof e.data.labels === 'object' ? (e.data.labels as Record<string, string>) : {};
  return { type: e.type, aggregateId: e.aggregateId, task: { taskType: String(e.data.taskType ?? ''), labels } };
}
