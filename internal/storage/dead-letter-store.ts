import { sql } from 'drizzle-orm';
import type { DeadLetter } from '../domain/dead-letter.js';
import { rows, type Executor } from './db.js';
import { deadLetterFromRow, type DeadLetterRow } from './dead-letter-rows.js';
import type { AttemptRow } from './task-rows.js';
import { toPgArray } from './task-store.js';

/** Filters for `deadLetterList`; unset fields do not filter. */
export interface DeadLetterListParams {
  namespace: string;
  type?: string;
  queue?: string;
  /** Rows after this id in the listing order (newest first): the keyset cursor. */
  afterId?: string;
  limit: number;
}

/**
 * Lists dead letters newest first (ids are the tasks' UUIDv7 ids, so id order is
 * creation order), each with its task's payload. Attempts are not loaded.
 */
export async function deadLetterList(ex: Executor, p: DeadLetterListParams): Promise<DeadLetter[]> {
  const conds = [sql`d.namespace = ${p.namespace}`];
  if (p.type) conds.push(sql`d.type = ${p.type}`);
  if (p.queue) conds.push(sql`d.queue = ${p.queue}`);
  if (p.afterId) conds.push(sql`d.id < ${p.afterId}`);
  const found = await rows<DeadLetterRow>(
    ex,
    sql`select d.*, t.payload from dead_letters d join tasks t on t.id = d.task_id
        where ${sql.join(conds, sql` and `)} order by d.namespace, d.id desc nulls last limit ${p.limit}`,
  );
  return found.map((r) => deadLetterFromRow(r));
}

/** Reads one dead letter with its task's payload and every attempt (oldest first), or undefined. Never crosses namespaces. */
export async function deadLetterGet(ex: Executor, p: { namespace: string; id: string }): Promise<DeadLetter | undefined> {
  const [row] = await rows<DeadLetterRow>(
    ex,
    sql`select d.*, t.payload from dead_letters d join tasks t on t.id = d.task_id
        where d.id = ${p.id} and d.namespace = ${p.namespace}`,
  );
  if (!row) return undefined;
  const atts = await rows<AttemptRow>(ex, sql`select * from attempts where task_id = ${row.task_id} order by number`);
  return deadLetterFromRow(row, atts);
}

/**
 * Records that dead letter `id` was replayed as `replayedTaskId` — a compare-and-set:
 * only if it was not replayed yet. Returns false (and changes nothing) otherwise, or
 * when there is no such dead letter. A concurrent replay waits on the row lock and then
 * loses, so each dead letter is replayed at most once.
 */
export async function deadLetterMarkReplayed(
  ex: Executor,
  p: { id: string; replayedTaskId: string; now: Date },
): Promise<boolean> {
  const done = await rows<{ id: string }>(
    ex,
    sql`update dead_letters set replayed_task_id = ${p.replayedTaskId}, replayed_at = ${p.now}
        where id = ${p.id} and replayed_task_id is null
        returning id`,
  );
  return done.length > 0;
}

/**
 * Deletes dead letters of `namespace` (never their tasks): those in `ids` when given,
 * those created before `before` when given; both given = both must hold. Returns how
 * many were deleted. Throws when neither is given, rather than purge everything.
 */
export async function deadLetterPurge(
  ex: Executor,
  p: { namespace: string; ids?: string[]; before?: Date },
): Promise<number> {
  const hasIds = p.ids !== undefined && p.ids.length > 0;
  if (!hasIds && !p.before) throw new Error('deadLetterPurge: ids or before is required');
  const conds = [sql`namespace = ${p.namespace}`];
  if (hasIds) conds.push(sql`id = any(${toPgArray(p.ids ?? [])}::uuid[])`);
  if (p.before) conds.push(sql`created_at < ${p.before}`);
  const gone = await rows<{ id: string }>(ex, sql`delete from dead_letters where ${sql.join(conds, sql` and `)} returning id`);
  return gone.length;
}
