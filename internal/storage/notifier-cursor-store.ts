import { sql } from 'drizzle-orm';
import { rows, type Executor } from './db.js';
import type { OutboxRow } from './outbox-store.js';

/**
 * Locks cursor `name` for the rest of the transaction and returns its sequence (decimal
 * text); a missing cursor is created at 0. Returns undefined when another transaction
 * holds it (`skip locked`): another notifier is reading the outbox right now.
 */
export async function notifierCursorLock(ex: Executor, p: { name: string }): Promise<string | undefined> {
  const lock = () => rows<{ sequence: string }>(ex, sql`select sequence::text as sequence from notifier_cursors where name = ${p.name} for update skip locked`);
  let [r] = await lock();
  if (!r) {
    const created = await rows<{ sequence: string }>(
      ex, sql`insert into notifier_cursors (name, sequence) values (${p.name}, 0) on conflict (name) do nothing returning sequence::text as sequence`,
    );
    // Inserted: this transaction holds the new row. Not inserted: someone else has it (or just made it).
    if (created[0]) return created[0].sequence;
    [r] = await lock();
  }
  return r?.sequence;
}

/** Moves cursor `name` (locked by {@link notifierCursorLock} in this transaction) to `sequence`. */
export async function notifierCursorAdvance(ex: Executor, p: { name: string; sequence: string; now: Date }): Promise<void> {
  await ex.execute(sql`update notifier_cursors set sequence = ${p.sequence}::bigint, updated_at = ${p.now} where name = ${p.name}`);
}

/**
 * Up to `limit` outbox rows after sequence `after`, in sequence order, sent or not
 * (the primary key serves it).
 */
export async function outboxReadAfter(ex: Executor, p: { after: string; limit: number }): Promise<OutboxRow[]> {
  return rows<OutboxRow>(
    ex,
    // Ordered by the column, not the text alias of the same name.
    sql`select e.sequence::text as "sequence", e.id, e.namespace, e.type, e.aggregate_type as "aggregateType",
          e.aggregate_id as "aggregateId", taskd_ts(e.occurred_at) as "occurredAt", e.data::text as data
        from events e where e.sequence > ${p.after}::bigint order by e.sequence limit ${p.limit}`,
  );
}

/**
 * The current snapshot's bounds (full 64-bit transaction ids, decimal text): `xmin`, the
 * oldest transaction still running, and `xmax`, one past the newest one started. Once a
 * later `xmin` reaches an earlier `xmax`, every transaction running at that earlier
 * moment has ended.
 */
export async function transactionHorizon(ex: Executor): Promise<{ xmin: string; xmax: string }> {
  const [r] = await rows<{ xmin: string; xmax: string }>(
    ex,
    sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin, pg_snapshot_xmax(pg_current_snapshot())::text as xmax`,
  );
  if (!r) throw new Error('pg_current_snapshot() returned no row');
  return r;
}

/** This transaction's id, assigning one if it has none yet (costs one transaction id). */
export async function currentTransactionId(ex: Executor): Promise<string> {
  const [r] = await rows<{ id: string }>(ex, sql`select pg_current_xact_id()::text as id`);
  if (!r) throw new Error('pg_current_xact_id() returned no row');
  return r.id;
}
