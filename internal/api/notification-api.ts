import { v7 as uuidv7 } from 'uuid';
import type { Delivery, DeliveryStatus } from '../domain/delivery.js';
import { DomainError, type FieldViolation } from '../domain/errors.js';
import { validateSubscription, type Subscription, type SubscriptionInput } from '../domain/subscription.js';
import type { Base } from '../shared/base.js';
import { isUuid } from '../shared/is-uuid.js';
import type { Db } from '../storage/db.js';
import { deliveryList } from '../storage/delivery-store.js';
import { subscriptionDelete, subscriptionGet, subscriptionInsert, subscriptionList } from '../storage/subscription-store.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';

/** A ListDeliveries request; empty strings do not filter. */
export interface DeliveryListInput {
  namespace: string;
  subscriptionId: string;
  taskId: string;
  eventId: string;
  statuses: DeliveryStatus[];
  pageSize: number;
  pageToken: string;
}

/**
 * Notification subscriptions and the delivery record, protocol-free. Every request
 * stays inside its namespace (empty = "default"); the auth interceptor has checked the
 * caller may act there, and ids of other namespaces are `not_found`.
 */
export class NotificationApi {
  constructor(private readonly base: Base, private readonly opts: { db: Db }) {}

  /**
   * Stores a subscription and returns it with its webhook signing secret (generated
   * when the request has none), which no other call returns. Throws `invalid` naming
   * each bad field.
   */
  async create(p: SubscriptionInput): Promise<{ subscription: Subscription; secret: string | null }> {
    const v = validateSubscription(p);
    const subscription = await this.opts.db.tx((tx) => subscriptionInsert(tx, { id: uuidv7(), ...v, now: new Date(this.base.clock.now()) }));
    return { subscription, secret: v.secret };
  }

  /** One subscription, without its secret. Throws `invalid` (id) or `not_found`. */
  async get(namespace: string, id: string): Promise<Subscription> {
    const s = await subscriptionGet(this.opts.db.orm, { namespace: namespace || 'default', id: checkId(id) });
    if (!s) throw notFound(id);
    return s;
  }

  /** A namespace's subscriptions newest first, one keyset page at a time. */
  async list(p: { namespace: string; pageSize: number; pageToken: string }): Promise<{ subscriptions: Subscription[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const found = await subscriptionList(this.opts.db.orm, { namespace: p.namespace || 'default', afterId: pageAfterId(p.pageToken), limit: limit + 1 });
    const { page, nextPageToken } = keysetPage(found, limit);
    return { subscriptions: page, nextPageToken };
  }

  /** Deletes a subscription; its pending deliveries end FAILED, its history stays. Throws `invalid` (id) or `not_found`. */
  async delete(namespace: string, id: string): Promise<void> {
    const key = checkId(id);
    const ok = await this.opts.db.tx((tx) => subscriptionDelete(tx, { namespace: namespace || 'default', id: key, now: new Date(this.base.clock.now()) }));
    if (!ok) throw notFound(id);
  }

  /** A namespace's deliveries newest first, filtered, one keyset page at a time. Throws `invalid` naming a malformed id filter. */
  async listDeliveries(p: DeliveryListInput): Promise<{ deliveries: Delivery[]; nextPageToken: string }> {
    const v: FieldViolation[] = [];
    for (const [field, value] of [['subscription_id', p.subscriptionId], ['task_id', p.taskId], ['event_id', p.eventId]] as const) {
      if (value && !isUuid(value)) v.push({ field, description: 'must be a UUID' });
    }
    if (v.length > 0) throw DomainError.invalid(v);
    const limit = pageLimit(p.pageSize);
    const found = await deliveryList(this.opts.db.orm, {
      namespace: p.namespace || 'default', subscriptionId: p.subscriptionId.toLowerCase() || undefined, taskId: p.taskId.toLowerCase() || undefined,
      eventId: p.eventId.toLowerCase() || undefined, statuses: p.statuses, afterId: pageAfterId(p.pageToken), limit: limit + 1,
    });
    const { page, nextPageToken } = keysetPage(found, limit);
    return { deliveries: page, nextPageToken };
  }
}

const notFound = (id: string): DomainError => new DomainError('not_found', `subscription ${id} not found`);
