import type { Channel } from './subscription.js';

/** PENDING: waiting for its next attempt; DELIVERED; FAILED: attempts exhausted or refused for good. */
export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['PENDING', 'DELIVERED', 'FAILED'];

/** One event on its way to one target, with the record of its attempts. */
export interface Delivery {
  id: string;
  namespace: string;
  eventId: string;
  eventType: string;
  /** The task the event is about, if any. */
  taskId: string | null;
  /** Null for a task's own notify target. */
  subscriptionId: string | null;
  channel: Channel;
  target: string;
  status: DeliveryStatus;
  /** Attempts started so far. */
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** When a PENDING delivery is due (or, while an attempt runs, when its claim lapses). */
  nextAttemptAt: Date;
  deliveredAt: Date | null;
}

/** A delivery the notifier decided to create for an event. */
export interface NewDelivery {
  id: string;
  namespace: string;
  eventId: string;
  eventType: string;
  taskId: string | null;
  subscriptionId: string | null;
  /** Unique per event: "sub:<subscription id>", "notify:webhook" or "notify:email". */
  dedupKey: string;
  channel: Channel;
  target: string;
  /** The Event proto3 JSON, sent as the webhook body. */
  payload: string;
}
