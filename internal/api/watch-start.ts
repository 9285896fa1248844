import { DomainError } from '../domain/errors.js';
import type { StoredEvent } from '../domain/stored-event.js';
import type { FeedSubscription } from '../events/feed-subscription.js';
import type { Executor } from '../storage/db.js';
import { eventFind, eventList, type EventListParams } from '../storage/event-store.js';
import { checkId } from './check-id.js';

/** Rows per read when a watch replays the table. */
const PAGE = 2_000;

/**
 * The event a stream resumes after (`after_event_id`), read in the caller's snapshot.
 * Throws `invalid` for a malformed id and `not_found` naming it when no such event is
 * stored in `namespace` (never was, or pruned after the retention).
 */
export async function resumeAnchor(tx: Executor, namespace: string, afterEventId: string): Promise<StoredEvent> {
  const id = checkId(afterEventId, 'after_event_id');
  const anchor = await eventFind(tx, { namespace, id });
  if (!anchor) {
    throw new DomainError('not_found',
      `after_event_id: event ${afterEventId} not found in namespace "${namespace}": it never existed, or it was pruned ` +
      '(events are kept for TASKD_EVENTS_RETENTION_MS once relayed); watch without after_event_id to start from the current state');
  }
  return anchor;
}

/** Every event `p` selects (no limit: read page by page), in sequence order. */
export async function eventsAll(tx: Executor, p: Omit<EventListParams, 'limit'>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (let after = p.after; ;) {
    const page = await eventList(tx, { ...p, after, limit: PAGE });
    out.push(...page);
    if (page.length < PAGE) return out;
    after = (page[page.length - 1] as StoredEvent).sequence;
  }
}

/** The live events of `sub`, batch by batch, until `signal` aborts or the subscription ends (its error is thrown). */
export async function* liveBatches(sub: FeedSubscription, signal: AbortSignal): AsyncGenerator<StoredEvent[]> {
  for (;;) {
    const batch = await sub.take(signal);
    if (!batch) return;
    yield batch;
  }
}
