import type pg from 'pg';
import { sleep } from '../internal/shared/sleep.js';

/** Task counts by outcome. */
export interface Progress {
  succeeded: number;
  /** FAILED, DEAD_LETTERED or CANCELLED: a noop task should never end so. */
  failed: number;
  total: number;
}

/** Options of {@link waitAllSucceeded}. */
export interface WaitOptions {
  pollMs: number;
  /** Epoch ms after which waiting fails. */
  deadline: number;
  signal: AbortSignal;
  /** Called after every poll with the tasks not yet ended. */
  onPoll?: (remaining: number) => void;
  /** Returns why waiting is pointless (a process died), checked after every poll. */
  broken?: () => string | undefined;
}

/** Thrown by {@link waitAllSucceeded} when its deadline passed; carries the counts then. */
export class WaitTimeout extends Error {
  constructor(message: string, readonly progress: Progress) {
    super(message);
    this.name = 'WaitTimeout';
  }
}

/** Counts tasks by outcome (one scan of `tasks`). */
export async function progress(sql: pg.Pool): Promise<Progress> {
  const r = await sql.query<{ ok: number; bad: number; total: number }>(
    `select count(*) filter (where status = 'SUCCEEDED')::int ok,
            count(*) filter (where status in ('FAILED', 'DEAD_LETTERED', 'CANCELLED'))::int bad,
            count(*)::int total
     from tasks`,
  );
  const row = r.rows[0];
  return { succeeded: row?.ok ?? 0, failed: row?.bad ?? 0, total: row?.total ?? 0 };
}

/**
 * Tasks not yet ended (PENDING, QUEUED or RUNNING), counted through the partial
 * indexes on each status, so a poll costs in proportion to the work left rather
 * than to the table (a full count of 1M tasks costs ~0.3 s of Postgres time).
 */
export async function remaining(sql: pg.Pool): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `select ((select count(*) from tasks where status = 'QUEUED') + (select count(*) from tasks where status = 'RUNNING')
             + (select count(*) from tasks where status = 'PENDING'))::int n`,
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * Polls Postgres every `pollMs` until no task is left to run, then checks that
 * `count` tasks SUCCEEDED. Throws when they did not, when `broken` reports a
 * reason, or when `signal` aborts; past the deadline throws a {@link WaitTimeout}.
 */
export async function waitAllSucceeded(sql: pg.Pool, count: number, o: WaitOptions): Promise<void> {
  for (;;) {
    const left = await remaining(sql);
    o.onPoll?.(left);
    if (left === 0) {
      const p = await progress(sql);
      if (p.succeeded >= count) return;
      throw new Error(`tasks ended unsuccessfully or are missing: ${describe(p, count)}`);
    }
    const why = o.broken?.();
    if (why !== undefined) throw new Error(`the stack broke (${left} tasks left): ${why}`);
    if (Date.now() > o.deadline) {
      const p = await progress(sql);
      throw new WaitTimeout(`timed out waiting for tasks: ${describe(p, count)}`, p);
    }
    if (!(await sleep(o.pollMs, o.signal))) throw new Error(`interrupted with ${left} tasks left`);
  }
}

function describe(p: Progress, count: number): string {
  return `${p.succeeded} of ${count} SUCCEEDED, ${p.failed} failed, ${p.total} stored`;
}
