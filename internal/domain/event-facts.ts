/**
 * An outbox event (proto/taskd/v1/events/events.proto) as the notifier reads it: the
 * envelope and, for task events, the facts notifications need. Parsed from the Event's
 * proto3 JSON, which is also what webhooks receive verbatim.
 */
export interface EventFacts {
  /** Unique; the deduplication key. */
  id: string;
  namespace: string;
  /** "task.succeeded", "workflow.failed", "schedule.fired", ... */
  type: string;
  /** "task", "workflow" or "schedule". */
  aggregateType: string;
  aggregateId: string;
  /** Decimal text (an int64). */
  sequence: string;
  /** RFC 3339. */
  occurredAt: string;
  task?: TaskEventFacts;
}

/** The task as an event left it. Timestamps are RFC 3339, absent when unset. */
export interface TaskEventFacts {
  taskId: string;
  taskType: string;
  queue: string;
  /** The proto enum name without its prefix: "SUCCEEDED", "FAILED", ... */
  status: string;
  attempt: number;
  error?: { message: string; kind: string };
  labels: Record<string, string>;
  notify: { webhookUrl: string; email: string };
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * Task event types whose task's own `notify` targets are delivered to: the terminal
 * outcomes a submitter waits for. `task.skipped` is not among them (a workflow's failure
 * is told by the task that failed, and a replay can re-arm a skipped task), nor is
 * `task.deleted`.
 */
export const NOTIFY_EVENT_TYPES: ReadonlySet<string> = new Set(['task.succeeded', 'task.failed', 'task.dead_lettered', 'task.cancelled']);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const opt = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Parses an Event's proto3 JSON text. Throws an Error naming what is missing or wrong
 * (not JSON, no `id`, `namespace`, `type` or `aggregateId`).
 */
export function parseEventFacts(json: string): EventFacts {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`event is not JSON: ${(e as Error).message}`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('event is not a JSON object');
  for (const k of ['id', 'namespace', 'type', 'aggregateId']) {
    if (typeof o[k] !== 'string' || o[k] === '') throw new Error(`event lacks "${k}"`);
  }
  const t = o.task as Record<string, unknown> | undefined;
  const facts: EventFacts = {
    id: str(o.id), namespace: str(o.namespace), type: str(o.type), aggregateType: str(o.aggregateType),
    aggregateId: str(o.aggregateId), sequence: typeof o.sequence === 'number' ? String(o.sequence) : str(o.sequence), occurredAt: str(o.occurredAt),
  };
  if (t && typeof t === 'object') facts.task = taskFacts(t, facts.aggregateId);
  return facts;
}

function taskFacts(t: Record<string, unknown>, aggregateId: string): TaskEventFacts {
  const err = t.error as Record<string, unknown> | undefined;
  const notify = (t.notify ?? {}) as Record<string, unknown>;
  const labels = t.labels && typeof t.labels === 'object' ? Object.fromEntries(Object.entries(t.labels as object).map(([k, v]) => [k, String(v)])) : {};
  return {
    taskId: str(t.taskId) || aggregateId, taskType: str(t.taskType), queue: str(t.queue),
    status: str(t.status).replace(/^TASK_STATUS_/, ''), attempt: typeof t.attempt === 'number' ? t.attempt : 0,
    error: err && typeof err === 'object' ? { message: str(err.message), kind: str(err.kind) } : undefined,
    labels, notify: { webhookUrl: str(notify.webhookUrl), email: str(notify.email) },
    createdAt: opt(t.createdAt), startedAt: opt(t.startedAt), finishedAt: opt(t.finishedAt),
  };
}
