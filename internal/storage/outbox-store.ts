import { sql } from 'drizzle-orm';
import { rows, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

/** One outbox row (table `events`) as the relay reads it: text only, ready to embed in a message. */
export interface OutboxRow {
  /** `bigserial` as decimal text (an int64 in proto3 JSON is a string too). */
  sequence: string;
  id: string;
  namespace: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  /** RFC 3339 in UTC with microseconds, as the triggers format timestamps (`taskd_ts`). */
  occurredAt: string;
  /** The row's `data` as JSON text (jsonb's own rendering), never parsed on the hot path. */
  data: string;
}

/**
 * The oldest `limit` unsent rows, in `sequence` order, through the partial index
 * `events_unsent` (an idle outbox costs one probe of an empty index).
 *
 * Sequences are taken before commit, so a row with a smaller sequence may become
 * visible after a larger one: that row is simply returned by a later call. Within one
 * aggregate it cannot happen (a change of the same row waits for the earlier change's
 * commit before its trigger takes a sequence), so per-aggregate order is kept.
 */
export async function outboxReadUnsent(ex: Executor, p: { limit: number }): Promise<OutboxRow[]> {
  return rows<OutboxRow>(
    ex,
    // Pick the sequences first (the partial index, whatever the planner's row estimate), and
    // render only those rows: rendering before the limit costs the whole backlog.
    sql`select e.sequence::text as "sequence", e.id, e.namespace, e.type, e.aggregate_type as "aggregateType",
          e.aggregate_id as "aggregateId", taskd_ts(e.occurred_at) as "occurredAt", e.data::text as data
        from (select sequence from events where sent_at is null order by sequence limit ${p.limit}) n
        join events e on e.sequence = n.sequence
        order by e.sequence`,
  );
}

/**
 * Marks rows sent (only those still unsent) and returns how many changed. The caller
 * runs it in the leader's fenced transaction, after the broker acknowledged the rows.
 */
export async function outboxMarkSent(ex: Executor, p: { sequences: string[]; now: Date }): Promise<number> {
  if (p.sequences.length === 0) return 0;
  const r = await rows<{ n: number }>(
    ex,
    sql`with marked as (
          update events set sent_at = ${p.now}
          where sequence = any(${toPgArray(p.sequences)}::bigint[]) and sent_at is null returning 1)
        select count(*)::int as n from marked`,
  );
  return r[0]?.n ?? 0;
}

/**
 * Deletes up to `limit` rows sent before `sentBefore`, looking only at the `limit`
 * oldest sent rows by sequence (the primary key: no index on `sent_at` needed, since
 * rows are sent in about sequence order; unsent rows are stepped over and never
 * deleted). Returns how many rows were deleted; `limit` means the whole head was old
 * enough (call again to go on).
 */
export async function outboxPrune(ex: Executor, p: { sentBefore: Date; limit: number }): Promise<number> {
  const r = await rows<{ n: number }>(
    ex,
    sql`with head as (select sequence, sent_at from events where sent_at is not null order by sequence limit ${p.limit}),
          gone as (
            delete from events e using head h
            where e.sequence = h.sequence and h.sent_at < ${p.sentBefore}
            returning 1)
        select count(*)::int as n from gone`,
  );
  return r[0]?.n ?? 0;
}

/**
 * The unsent backlog: how many rows, and when the oldest of them (by sequence)
 * occurred. Counts the partial index `events_unsent`: cheap for a metrics scrape, linear
 * in the backlog.
 */
export async function outboxBacklog(ex: Executor): Promise<{ unsent: number; oldestOccurredAt: Date | null }> {
  const [r] = await rows<{ unsent: number; oldest: string | null }>(
    ex,
    sql`select (select count(*)::int from events where sent_at is null) as unsent,
          (select taskd_ts(occurred_at) from events where sent_at is null order by sequence limit 1) as oldest`,
  );
  return { unsent: r?.unsent ?? 0, oldestOccurredAt: r?.oldest ? new Date(r.oldest) : null };
}

/**
 * Without a relay (no Kafka) nothing is ever "sent": deletes up to `limit` of the oldest
 * events that occurred before `before`, whatever their `sent_at`. Consumers of the outbox
 * (the notifier's cursor, watch streams resuming) must not lag by more than the
 * retention. Returns how many rows were deleted.
 */
export async function outboxPruneOccurred(ex: Executor, p: { before: Date; limit: number }): Promise<number> {
  const r = await rows<{ n: number }>(
    ex,
    sql`with head as (select sequence from events where occurred_at < ${p.before} order by sequence limit ${p.limit}),
          gone as (delete from events e using head h where e.sequence = h.sequence returning 1)
        select count(*)::int as n from gone`,
  );
  return r[0]?.n ?? 0;
}
