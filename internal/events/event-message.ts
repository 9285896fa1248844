import type { OutboxRow } from '../storage/outbox-store.js';
import type { OutboundMessage } from './ports.js';

/** Where events go: every event to `events`, `task.dead_lettered` also to `deadLetters`. */
export interface EventTopics {
  events: string;
  deadLetters: string;
}

/**
 * Largest value the relay sends, in bytes. Kafka refuses record batches over the
 * broker's `message.max.bytes` (default 1 MiB) for good, so an event near the limit
 * is shrunk (see {@link eventValue}) instead of stalling the outbox forever.
 */
export const MAX_EVENT_BYTES = 900_000;

/** Fields of a data payload kept when even the shrunk form is too large: small scalars only. */
const MAX_KEPT_SCALAR = 1_024;

const DATA_FIELD: Record<string, string> = { task: 'task', workflow: 'workflow', schedule: 'schedule' };

/**
 * The `taskd.v1.events.Event` proto3 JSON of an outbox row, built as text around the
 * row's `data` (already its message's proto3 JSON) without parsing it. A value over
 * `maxBytes` is shrunk: first the task's `output` is dropped, then every field of the
 * data but small scalars; `truncated` tells which happened (consumers read the rest
 * through the API). An unknown aggregate type carries no data.
 */
export function eventValue(row: OutboxRow, maxBytes = MAX_EVENT_BYTES): { value: string; truncated?: 'output' | 'data' } {
  const full = render(row, row.data);
  if (Buffer.byteLength(full) <= maxBytes) return { value: full };
  const data = JSON.parse(row.data) as Record<string, unknown>;
  delete data.output;
  const noOutput = render(row, JSON.stringify(data));
  if (Buffer.byteLength(noOutput) <= maxBytes) return { value: noOutput, truncated: 'output' };
  const small = Object.fromEntries(Object.entries(data).filter(([, v]) =>
    v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= MAX_KEPT_SCALAR)));
  return { value: render(row, JSON.stringify(small)), truncated: 'data' };
}

function render(row: OutboxRow, data: string): string {
  if (!/^\d+$/.test(row.sequence)) throw new Error(`outbox row ${row.id}: sequence "${row.sequence}" is not a decimal integer`);
  const field = DATA_FIELD[row.aggregateType];
  return `{"id":${JSON.stringify(row.id)},"namespace":${JSON.stringify(row.namespace)},"type":${JSON.stringify(row.type)},` +
    `"aggregateType":${JSON.stringify(row.aggregateType)},"aggregateId":${JSON.stringify(row.aggregateId)},` +
    `"sequence":"${row.sequence}","occurredAt":${JSON.stringify(row.occurredAt)}` +
    (field ? `,"${field}":${data}}` : '}');
}

/**
 * The Kafka messages of one outbox row: key = aggregate id (one aggregate's events stay
 * in one partition, in order), value = {@link eventValue}, headers `event-id`,
 * `event-type`, `namespace`, `content-type` (and `truncated` when shrunk). A
 * `task.dead_lettered` event is also sent to the dead-letter topic.
 */
export function eventMessages(row: OutboxRow, topics: EventTopics, maxBytes = MAX_EVENT_BYTES): OutboundMessage[] {
  const { value, truncated } = eventValue(row, maxBytes);
  const headers: Record<string, string> = {
    'event-id': row.id, 'event-type': row.type, namespace: row.namespace, 'content-type': 'application/json',
    ...(truncated ? { truncated } : {}),
  };
  const msg = (topic: string): OutboundMessage => ({ topic, key: row.aggregateId, value, headers });
  return row.type === 'task.dead_lettered' ? [msg(topics.events), msg(topics.deadLetters)] : [msg(topics.events)];
}
