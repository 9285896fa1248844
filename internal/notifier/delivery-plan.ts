import type { NewDelivery } from '../domain/delivery.js';
import { NOTIFY_EVENT_TYPES } from '../domain/event-facts.js';
import { eventMatches } from '../domain/event-filter.js';
import type { Subscription } from '../domain/subscription.js';
import type { ReceivedEvent } from './received-event.js';

/**
 * The deliveries one event calls for:
 * - for a terminal task event ({@link NOTIFY_EVENT_TYPES}), the task's own `notify`
 *   targets (its webhook and its email, each once);
 * - every subscription of the event's namespace, created no later than the event
 *   occurred, whose filter matches it.
 * Each carries its dedup key, so recording the same event twice creates nothing new.
 */
export function planDeliveries(e: ReceivedEvent, subscriptions: readonly Subscription[], newId: () => string): NewDelivery[] {
  const f = e.facts;
  const base = {
    namespace: f.namespace, eventId: f.id, eventType: f.type, payload: e.body,
    taskId: f.aggregateType === 'task' && f.task ? f.task.taskId : null,
  };
  const out: NewDelivery[] = [];
  if (f.task && NOTIFY_EVENT_TYPES.has(f.type)) {
    const { webhookUrl, email } = f.task.notify;
    if (webhookUrl) out.push({ ...base, id: newId(), subscriptionId: null, dedupKey: 'notify:webhook', channel: 'webhook', target: webhookUrl });
    if (email) out.push({ ...base, id: newId(), subscriptionId: null, dedupKey: 'notify:email', channel: 'email', target: email });
  }
  const occurred = Date.parse(f.occurredAt);
  for (const s of subscriptions) {
    if (s.namespace !== f.namespace) continue;
    // A subscription hears of what happens after it exists, even when the notifier catches up on older events.
    if (Number.isFinite(occurred) && s.createdAt.getTime() > occurred) continue;
    if (!eventMatches(s.filter, f)) continue;
    out.push({ ...base, id: newId(), subscriptionId: s.id, dedupKey: `sub:${s.id}`, channel: s.channel, target: s.target });
  }
  return out;
}
