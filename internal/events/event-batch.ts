import type { OutboxRow } from '../storage/outbox-store.js';
import { eventMessages, MAX_EVENT_BYTES, type EventTopics } from './event-message.js';
import type { OutboundMessage } from './ports.js';

/** Rows the relay publishes together, and their messages. */
export interface EventBatch {
  rows: OutboxRow[];
  messages: OutboundMessage[];
  /** Acknowledged by the broker; only the marking is left. */
  acked: boolean;
  /** When it was built (ms), for the batch's time from read to marked. */
  readAt: number;
}

/** Per-record overhead counted against the byte budget besides the value (key, headers, framing). */
const RECORD_OVERHEAD = 200;

/**
 * The leading `rows` whose messages fit `maxBatchBytes` (at least one row, whatever its
 * size), as a batch. Kafka refuses a record batch over the broker's `message.max.bytes`,
 * and one partition's share of a batch is at most the whole batch, so the budget keeps
 * every produce under it. Events over `maxEventBytes` are shrunk (see eventValue).
 */
export function eventBatch(
  rows: OutboxRow[], topics: EventTopics, p: { maxBatchBytes: number; maxEventBytes?: number; now: number },
): EventBatch {
  const taken: OutboxRow[] = [];
  const messages: OutboundMessage[] = [];
  let bytes = 0;
  for (const row of rows) {
    const ms = eventMessages(row, topics, p.maxEventBytes ?? MAX_EVENT_BYTES);
    const size = ms.reduce((n, m) => n + Buffer.byteLength(m.value) + RECORD_OVERHEAD, 0);
    if (taken.length > 0 && bytes + size > p.maxBatchBytes) break;
    taken.push(row);
    messages.push(...ms);
    bytes += size;
  }
  return { rows: taken, messages, acked: false, readAt: p.now };
}
