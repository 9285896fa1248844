import { sql } from 'drizzle-orm';
import type { Delivery, DeliveryStatus, NewDelivery } from '../domain/delivery.js';
import type { Channel } from '../domain/subscription.js';
import { rows, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

interface DeliveryRow {
  id: string; namespace: string; event_id: string; event_type: string; task_id: string | null; subscription_id: string | null;
  channel: Channel; target: string; status: DeliveryStatus; attempts: number; last_error: string | null;
  created_at: Date | string; updated_at: Date | string; next_attempt_at: Date | string; delivered_at: Date | string | null;
}

/** A delivery claimed for one attempt: what to send, how to sign it, and the token fencing its result. */
export interface ClaimedDelivery extends Delivery {
  payload: string;
  claimToken: string;
  /** The subscription's signing secret; null for a task's own target or an email. */
  secret: string | null;
  /** Its subscription was deleted since it was created. */
  subscriptionGone: boolean;
}

const COLUMNS = sql`id, namespace, event_id, event_type, task_id, subscription_id, channel, target, status, attempts, last_error,
  created_at, updated_at, next_attempt_at, delivered_at`;

function deliveryFromRow(r: DeliveryRow): Delivery {
  return {
    id: r.id, namespace: r.namespace, eventId: r.event_id, eventType: r.event_type, taskId: r.task_id, subscriptionId: r.subscription_id,
    channel: r.channel, target: r.target, status: r.status, attempts: r.attempts, lastError: r.last_error,
    createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at), nextAttemptAt: new Date(r.next_attempt_at),
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
  };
}

/**
 * Inserts deliveries as PENDING and due now, skipping any whose (event, target) exists
 * already — the deduplication of at-least-once consumption. Returns the ids inserted.
 */
export async function deliveryInsertMany(ex: Executor, p: { deliveries: NewDelivery[]; now: Date }): Promise<string[]> {
  if (p.deliveries.length === 0) return [];
  const json = JSON.stringify(p.deliveries.map((d) => ({
    id: d.id, namespace: d.namespace, event_id: d.eventId, event_type: d.eventType, task_id: d.taskId, subscription_id: d.subscriptionId,
    dedup_key: d.dedupKey, channel: d.channel, target: d.target, payload: d.payload,
  })));
  const r = await rows<{ id: string }>(
    ex,
    sql`insert into deliveries (id, namespace, event_id, event_type, task_id, subscription_id, dedup_key, channel, target, payload,
          status, next_attempt_at, created_at, updated_at)
        select x.id, x.namespace, x.event_id, x.event_type, x.task_id, x.subscription_id, x.dedup_key, x.channel, x.target, x.payload,
          'PENDING', ${p.now}, ${p.now}, ${p.now}
        from jsonb_to_recordset(${json}::jsonb) as x(id uuid, namespace text, event_id uuid, event_type text, task_id uuid,
          subscription_id uuid, dedup_key text, channel text, target text, payload text)
        on conflict (event_id, dedup_key) do nothing
        returning id`,
  );
  return r.map((x) => x.id);
}

/**
 * Claims up to `limit` due PENDING deliveries (oldest due first) for one attempt each:
 * counts the attempt, sets `claimToken` and moves `next_attempt_at` to `claimUntil`, so
 * nobody else takes them while the attempt runs and they come due again if this
 * claimant dies. Rows other notifiers hold are skipped (`skip locked`).
 */
export async function deliveryClaimDue(
  ex: Executor, p: { now: Date; limit: number; claimUntil: Date; claimToken: string },
): Promise<ClaimedDelivery[]> {
  const r = await rows<DeliveryRow & { payload: string; secret: string | null; subscription_gone: boolean }>(
    ex,
    sql`with due as (
          select id from deliveries where status = 'PENDING' and next_attempt_at <= ${p.now}
          order by next_attempt_at limit ${p.limit} for update skip locked)
        update deliveries d set attempts = d.attempts + 1, claim_token = ${p.claimToken}, next_attempt_at = ${p.claimUntil}, updated_at = ${p.now}
        from due where d.id = due.id
        returning d.id, d.namespace, d.event_id, d.event_type, d.task_id, d.subscription_id, d.channel, d.target, d.status, d.attempts,
          d.last_error, d.created_at, d.updated_at, d.next_attempt_at, d.delivered_at, d.payload,
          (select s.secret from subscriptions s where s.id = d.subscription_id) as secret,
          (d.subscription_id is not null and not exists (select 1 from subscriptions s where s.id = d.subscription_id)) as subscription_gone`,
  );
  return r.map((x) => ({ ...deliveryFromRow(x), payload: x.payload, claimToken: p.claimToken, secret: x.secret, subscriptionGone: x.subscription_gone }));
}

/** The outcome of one attempt. */
export type AttemptRecord =
  | { status: 'DELIVERED' }
  | { status: 'PENDING'; error: string; nextAttemptAt: Date }
  | { status: 'FAILED'; error: string };

/**
 * Records an attempt's outcome, fenced by its claim token: a result that arrives after
 * its claim lapsed (and someone else claimed the delivery) changes nothing. Returns
 * whether it was recorded.
 */
export async function deliveryRecord(ex: Executor, p: { id: string; claimToken: string; outcome: AttemptRecord; now: Date }): Promise<boolean> {
  const o = p.outcome;
  const error = o.status === 'DELIVERED' ? null : o.error;
  const next = o.status === 'PENDING' ? o.nextAttemptAt : p.now;
  const delivered = o.status === 'DELIVERED' ? p.now : null;
  const r = await rows<{ id: string }>(
    ex,
    sql`update deliveries set status = ${o.status}, last_error = coalesce(${error}, last_error), next_attempt_at = ${next},
          delivered_at = ${delivered}, claim_token = null, updated_at = ${p.now}
        where id = ${p.id} and claim_token = ${p.claimToken} returning id`,
  );
  return r.length > 0;
}

/**
 * Gives a claimed delivery back untried (the notifier is stopping): the attempt is not
 * counted and the delivery is due at once. Fenced by the claim token like a result.
 */
export async function deliveryRelease(ex: Executor, p: { id: string; claimToken: string; now: Date }): Promise<boolean> {
  const r = await rows<{ id: string }>(
    ex,
    sql`update deliveries set attempts = greatest(attempts - 1, 0), next_attempt_at = ${p.now}, claim_token = null, updated_at = ${p.now}
        where id = ${p.id} and claim_token = ${p.claimToken} returning id`,
  );
  return r.length > 0;
}

/** Filters of {@link deliveryList}; unset ones do not filter. */
export interface DeliveryListFilter {
  namespace: string;
  subscriptionId?: string;
  taskId?: string;
  eventId?: string;
  statuses?: DeliveryStatus[];
  afterId?: string;
  limit: number;
}

/** A namespace's deliveries newest first (ids are UUIDv7), filtered. */
export async function deliveryList(ex: Executor, p: DeliveryListFilter): Promise<Delivery[]> {
  const conds = [sql`namespace = ${p.namespace}`];
  if (p.subscriptionId) conds.push(sql`subscription_id = ${p.subscriptionId}`);
  if (p.taskId) conds.push(sql`task_id = ${p.taskId}`);
  if (p.eventId) conds.push(sql`event_id = ${p.eventId}`);
  if (p.statuses && p.statuses.length > 0) conds.push(sql`status = any(${toPgArray(p.statuses)}::text[])`);
  if (p.afterId) conds.push(sql`id < ${p.afterId}`);
  const r = await rows<DeliveryRow>(
    ex,
    sql`select ${COLUMNS} from deliveries where ${sql.join(conds, sql` and `)} order by namespace, id desc limit ${p.limit}`,
  );
  return r.map(deliveryFromRow);
}
