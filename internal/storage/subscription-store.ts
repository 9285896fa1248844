import { sql } from 'drizzle-orm';
import { emptyFilter, type EventFilter } from '../domain/event-filter.js';
import type { Channel, Subscription } from '../domain/subscription.js';
import { rows, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

interface SubscriptionRow {
  id: string; namespace: string; name: string; channel: Channel; target: string; filter: Partial<EventFilter> | string;
  created_at: Date | string;
}

/** A subscription with its signing secret, as the notifier matches and signs with it. */
export interface SubscriptionTarget extends Subscription {
  secret: string | null;
}

const COLUMNS = sql`id, namespace, name, channel, target, filter, created_at`;

function subscriptionFromRow(r: SubscriptionRow): Subscription {
  const f = (typeof r.filter === 'string' ? JSON.parse(r.filter) : r.filter) as Partial<EventFilter>;
  return {
    id: r.id, namespace: r.namespace, name: r.name, channel: r.channel, target: r.target, createdAt: new Date(r.created_at),
    filter: { ...emptyFilter(), ...f },
  };
}

/** Inserts a subscription and returns it (without its secret). */
export async function subscriptionInsert(
  ex: Executor,
  p: { id: string; namespace: string; name: string; channel: Channel; target: string; filter: EventFilter; secret: string | null; now: Date },
): Promise<Subscription> {
  const [r] = await rows<SubscriptionRow>(
    ex,
    sql`insert into subscriptions (id, namespace, name, channel, target, filter, secret, created_at)
        values (${p.id}, ${p.namespace}, ${p.name}, ${p.channel}, ${p.target}, ${JSON.stringify(p.filter)}::jsonb, ${p.secret}, ${p.now})
        returning ${COLUMNS}`,
  );
  return subscriptionFromRow(r as SubscriptionRow);
}

/** Subscription `id` of `namespace`; undefined when there is none. */
export async function subscriptionGet(ex: Executor, p: { namespace: string; id: string }): Promise<Subscription | undefined> {
  const [r] = await rows<SubscriptionRow>(ex, sql`select ${COLUMNS} from subscriptions where namespace = ${p.namespace} and id = ${p.id}`);
  return r && subscriptionFromRow(r);
}

/** A namespace's subscriptions, newest first (ids are UUIDv7), after `afterId`. */
export async function subscriptionList(ex: Executor, p: { namespace: string; afterId?: string; limit: number }): Promise<Subscription[]> {
  const after = p.afterId ? sql`and id < ${p.afterId}` : sql``;
  const r = await rows<SubscriptionRow>(
    ex,
    sql`select ${COLUMNS} from subscriptions where namespace = ${p.namespace} ${after} order by namespace, id desc limit ${p.limit}`,
  );
  return r.map(subscriptionFromRow);
}

/**
 * Deletes subscription `id` of `namespace` and ends its pending deliveries as FAILED
 * ("subscription deleted"); their history stays. Returns false when there was none.
 */
export async function subscriptionDelete(ex: Executor, p: { namespace: string; id: string; now: Date }): Promise<boolean> {
  const gone = await rows<{ id: string }>(ex, sql`delete from subscriptions where namespace = ${p.namespace} and id = ${p.id} returning id`);
  if (gone.length === 0) return false;
  await ex.execute(sql`update deliveries set status = 'FAILED', last_error = 'subscription deleted', claim_token = null, updated_at = ${p.now}
    where subscription_id = ${p.id} and status = 'PENDING'`);
  return true;
}

/** Every subscription of these namespaces, with secrets: what the notifier matches events against. */
export async function subscriptionsOf(ex: Executor, p: { namespaces: string[] }): Promise<SubscriptionTarget[]> {
  if (p.namespaces.length === 0) return [];
  const r = await rows<SubscriptionRow & { secret: string | null }>(
    ex,
    sql`select ${COLUMNS}, secret from subscriptions where namespace = any(${toPgArray(p.namespaces)}::text[])`,
  );
  return r.map((x) => ({ ...subscriptionFromRow(x), secret: x.secret }));
}
