import { fromJson, type JsonObject } from '@bufbuild/protobuf';
import { EventSchema, type Event } from '../../../gen/taskd/v1/events/events_pb.js';
import type { StoredEvent } from '../../domain/stored-event.js';

const DATA_FIELD: Record<string, string> = { task: 'task', workflow: 'workflow', schedule: 'schedule' };

/** Converted once per event and process: a feed's event goes to many streams. */
const converted = new WeakMap<StoredEvent, Event>();

/**
 * A stored event as taskd.v1.events.Event: the same proto3 JSON the relay publishes to
 * Kafka (internal/events/event-message.ts), parsed. Fields the proto does not know yet
 * are ignored.
 */
export function eventToPb(e: StoredEvent): Event {
  let m = converted.get(e);
  if (m) return m;
  const field = DATA_FIELD[e.aggregateType];
  const json: JsonObject = {
    id: e.id, namespace: e.namespace, type: e.type, aggregateType: e.aggregateType, aggregateId: e.aggregateId,
    sequence: String(e.sequence), occurredAt: e.occurredAt, ...(field ? { [field]: e.data as JsonObject } : {}),
  };
  m = fromJson(EventSchema, json, { ignoreUnknownFields: true });
  converted.set(e, m);
  return m;
}
