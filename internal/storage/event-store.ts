import { sql, type SQL } from 'drizzle-orm';
import type { EventFilter } from '../domain/event-filter.js';
import type { StoredEvent } from '../domain/stored-event.js';
import { rows, type Db, type Executor } from './db.js';
import { toPgArray } from './task-store.js';

/*
 * Reads of the outbox (table `events`) for watch streams and ListEvents. The relay's
 * reads and writes are in outbox-store.ts.
 */

interface EventRow {
  sequence: string;
  id: string;
  namespace: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

const COLUMNS = sql`e.sequence::text as sequence, e.id, e.namespace, e.type, e.aggregate_type, e.aggregate_id,
  taskd_ts(e.occurred_at) as occurred_at, e.data`;

function eventOf(r: EventRow): StoredEvent {
  return {
    sequence: Number(r.sequence), id: r.id, namespace: r.namespace, type: r.type, aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id, occurredAt: r.occurred_at, data: r.data ?? {},
  };
}

/**
 * The highest sequence handed out so far (0 before the first event), committed or not:
 * `pg_sequence_last_value`, which reads the sequence outside any snapshot. Every event
 * that will ever have a sequence at or below it was taken before this call returned.
 */
export async function eventSequenceHigh(ex: Executor): Promise<number> {
  const [r] = await rows<{ s: string | null }>(ex, sql`
    select pg_sequence_last_value(pg_get_serial_sequence('events', 'sequence')::regclass)::text as s`);
  return Number(r?.s ?? 0);
}

/** One look at the outbox tail, all in one statement (so under one snapshot). */
export interface TailRead {
  /** True when every transaction of `xids` had ended before the snapshot (true for none). */
  settled: boolean;
  /** Events with `after` < sequence ≤ `upTo`, in order, at most `limit`. */
  events: StoredEvent[];
}

/**
 * Events after `after` up to `upTo` (see {@link TailRead}), with whether the
 * transactions `xids` (xid8 as text) have all ended before the same snapshot
 * (`pg_visible_in_snapshot`: ids at or above its xmax count as running).
 */
export async function eventReadTail(ex: Executor, p: { after: number; upTo: number; limit: number; xids: string[] }): Promise<TailRead> {
  const r = await rows<EventRow & { settled: boolean }>(ex, sql`
    with s as (select pg_current_snapshot() as snap),
      st as (select coalesce(bool_and(pg_visible_in_snapshot(x, s.snap)), true) as settled
             from s cross join unnest(${toPgArray(p.xids)}::xid8[]) as x)
    select st.settled, t.*
    from s cross join st left join lateral (
      select ${COLUMNS} from events e
      where e.sequence > ${p.after} and e.sequence <= ${p.upTo} order by e.sequence limit ${p.limit}) t on true
    order by t.sequence::bigint`);
  const first = r[0];
  return {
    settled: first?.settled ?? true,
    events: r.filter((x) => x.sequence !== null).map(eventOf),
  };
}

/**
 * Every transaction (xid8 as text) that may be in progress now and held a transaction id
 * before this call: a snapshot's in-progress list covers only ids below its xmax (the
 * latest completed id + 1), so the ids from there up to one assigned here are added
 * (none of those has completed, or xmax would be above it). Costs a transaction id, in a
 * transaction that writes nothing and commits without waiting for a flush.
 */
export async function eventWritersInProgress(db: Db): Promise<string[]> {
  const [r] = await db.tx(async (tx) => {
    await tx.execute(sql`set local synchronous_commit = off`);
    return rows<{ snap: string; own: string }>(tx, sql`select pg_current_snapshot()::text as snap, pg_current_xact_id()::text as own`);
  });
  if (!r) throw new Error('eventWritersInProgress: no row');
  const [, xmax, xip] = r.snap.split(':');
  const ids = xip ? xip.split(',') : [];
  for (let x = BigInt(xmax ?? r.own); x < BigInt(r.own); x++) ids.push(x.toString());
  return ids;
}

/** Where an event stands, for resuming after it; undefined when no such event is stored in `namespace`. */
export async function eventFind(ex: Executor, p: { namespace: string; id: string }): Promise<StoredEvent | undefined> {
  const [r] = await rows<EventRow>(ex, sql`select ${COLUMNS} from events e where e.id = ${p.id} and e.namespace = ${p.namespace}`);
  return r && eventOf(r);
}

/** What `eventList` reads; unset fields do not filter. */
export interface EventListParams {
  namespace: string;
  /** Only events with a larger sequence. */
  after: number;
  /** Only events up to this sequence. */
  upTo?: number;
  limit: number;
  filter?: EventFilter;
  /** Only events of this task. */
  aggregateId?: string;
  /** Only this workflow's events and its tasks'. */
  workflowId?: string;
}

/**
 * A namespace's events in sequence order, filtered like `eventMatches`
 * (internal/domain/event-filter.ts) does in memory: types exactly or by prefix,
 * aggregate ids, and for task events the task type and labels. Reads the index
 * `events_aggregate` for one aggregate, else `events_namespace`.
 */
export async function eventList(ex: Executor, p: EventListParams): Promise<StoredEvent[]> {
  const conds: SQL[] = [sql`e.namespace = ${p.namespace}`, sql`e.sequence > ${p.after}`];
  if (p.upTo !== undefined) conds.push(sql`e.sequence <= ${p.upTo}`);
  if (p.aggregateId) conds.push(sql`e.aggregate_id = ${p.aggregateId}`);
  if (p.workflowId) conds.push(sql`(e.aggregate_id = ${p.workflowId} or (e.aggregate_type = 'task' and e.data->>'workflowId' = ${p.workflowId}))`);
  if (p.filter) conds.push(...filterConditions(p.filter));
  const r = await rows<EventRow>(ex, sql`
    select ${COLUMNS} from events e where ${sql.join(conds, sql` and `)} order by e.sequence limit ${p.limit}`);
  return r.map(eventOf);
}

const likePrefix = (s: string): string => `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function filterConditions(f: EventFilter): SQL[] {
  const conds: SQL[] = [];
  if (f.types.length > 0) {
    const exact = f.types.filter((t) => !t.endsWith('*'));
    const prefixes = f.types.filter((t) => t.endsWith('*')).map((t) => likePrefix(t.slice(0, -1)));
    conds.push(sql`(e.type = any(${toPgArray(exact)}::text[]) or e.type like any(${toPgArray(prefixes)}::text[]))`);
  }
  if (f.aggregateIds.length > 0) conds.push(sql`e.aggregate_id = any(${toPgArray(f.aggregateIds.map((id) => id.toLowerCase()))}::uuid[])`);
  if (f.taskTypes.length > 0) conds.push(sql`e.aggregate_type = 'task' and e.data->>'taskType' = any(${toPgArray(f.taskTypes)}::text[])`);
  for (const l of f.labels) {
    const label = { [l.slice(0, l.indexOf('='))]: l.slice(l.indexOf('=') + 1) };
    conds.push(sql`e.aggregate_type = 'task' and e.data->'labels' @> ${JSON.stringify(label)}::jsonb`);
  }
  return conds;
}

/**
 * Runs `fn` in one read-only REPEATABLE READ transaction: every statement sees the same
 * snapshot, so a state read and the events read with it agree.
 */
export function eventSnapshotRead<T>(db: Db, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return db.tx(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`);
    return fn(tx);
  });
}
