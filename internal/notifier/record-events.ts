import { v7 as uuidv7 } from 'uuid';
import type { Executor } from '../storage/db.js';
import { deliveryInsertMany } from '../storage/delivery-store.js';
import { subscriptionsOf } from '../storage/subscription-store.js';
import { planDeliveries } from './delivery-plan.js';
import type { ReceivedEvent } from './received-event.js';

/** What recording a batch of events did. */
export interface Recorded {
  events: number;
  /** Deliveries created. */
  created: number;
  /** Deliveries that existed already (the events were seen before). */
  duplicates: number;
}

/**
 * Records the deliveries `events` call for (see planDeliveries) in the caller's
 * transaction; a delivery that exists already is skipped, so recording an event again
 * changes nothing.
 */
export async function recordEvents(ex: Executor, p: { events: ReceivedEvent[]; now: Date }): Promise<Recorded> {
  if (p.events.length === 0) return { events: 0, created: 0, duplicates: 0 };
  const subs = await subscriptionsOf(ex, { namespaces: [...new Set(p.events.map((e) => e.facts.namespace))] });
  const planned = p.events.flatMap((e) => planDeliveries(e, subs, uuidv7));
  const inserted = await deliveryInsertMany(ex, { deliveries: planned, now: p.now });
  return { events: p.events.length, created: inserted.length, duplicates: planned.length - inserted.length };
}
