import type pg from 'pg';

/** Per-task latencies in milliseconds, in no particular order. */
export interface Latencies {
  /** First attempt's started_at − created_at. */
  submitToStart: Float64Array;
  /** finished_at − created_at. */
  submitToDone: Float64Array;
}

/**
 * Reads the latencies of every SUCCEEDED task created after `after` (a timestamptz
 * literal from {@link lastCreated}; all tasks when undefined).
 */
export async function latencies(sql: pg.Pool, after?: string): Promise<Latencies> {
  const r = await sql.query<[number, number]>({
    text: `select (extract(epoch from a.started_at - t.created_at) * 1000)::float8,
                  (extract(epoch from t.finished_at - t.created_at) * 1000)::float8
           from tasks t join attempts a on a.task_id = t.id and a.number = 1
           where t.status = 'SUCCEEDED' and ($1::timestamptz is null or t.created_at > $1::timestamptz)`,
    values: [after ?? null],
    rowMode: 'array',
  });
  const n = r.rows.length;
  const out = { submitToStart: new Float64Array(n), submitToDone: new Float64Array(n) };
  r.rows.forEach(([s, d], i) => {
    out.submitToStart[i] = s;
    out.submitToDone[i] = d;
  });
  return out;
}

/**
 * The newest created_at as exact timestamptz text (no rounding to JS milliseconds),
 * to separate warm-up tasks from measured ones. Undefined when there are no tasks.
 */
export async function lastCreated(sql: pg.Pool): Promise<string | undefined> {
  const r = await sql.query<{ t: string | null }>('select max(created_at)::text t from tasks');
  return r.rows[0]?.t ?? undefined;
}

/** When things happened, as epoch milliseconds (server clocks; everything runs on one machine). */
export interface Timespan {
  /** Tasks with a finished_at, counted in the same snapshot as the extremes. */
  finished: number;
  firstCreated: number;
  lastCreated: number;
  firstStarted: number;
  lastFinished: number;
}

/**
 * The extremes of created_at, first attempts' started_at and finished_at, and the
 * count of finished tasks, over the tasks created after `after` (all when undefined).
 */
export async function timespan(sql: pg.Pool, after?: string): Promise<Timespan> {
  const ms = (expr: string): string => `(extract(epoch from ${expr}) * 1000)::float8`;
  const r = await sql.query<Timespan>(
    `select count(t.finished_at)::int "finished", ${ms('min(t.created_at)')} "firstCreated", ${ms('max(t.created_at)')} "lastCreated",
            ${ms('min(a.started_at)')} "firstStarted", ${ms('max(t.finished_at)')} "lastFinished"
     from tasks t join attempts a on a.task_id = t.id and a.number = 1
     where $1::timestamptz is null or t.created_at > $1::timestamptz`,
    [after ?? null],
  );
  const row = r.rows[0];
  if (!row) throw new Error('timespan: no row');
  return row;
}

/** Tasks that broke "exactly one attempt": counts and a few example ids. */
export interface AttemptCheck {
  tasks: number;
  /** Tasks whose attempt counter is not 1. */
  counterNot1: number;
  /** Tasks with more than one attempts row. */
  manyAttempts: number;
  /** Tasks that left the ready set (not QUEUED or PENDING) without any attempts row. */
  noAttempt: number;
  /** Up to 5 ids of offending tasks. */
  examples: string[];
}

/**
 * Checks that every task was dispatched exactly once; tasks still waiting (QUEUED or
 * PENDING, after a timeout) only must not have been dispatched more than once.
 */
export async function checkAttempts(sql: pg.Pool): Promise<AttemptCheck> {
  const r = await sql.query<{ id: string; attempt: number; n: number }>(
    `with per as (select task_id, count(*)::int n from attempts group by task_id)
     select t.id, t.attempt, coalesce(per.n, 0) n from tasks t left join per on per.task_id = t.id
     where t.attempt > 1 or coalesce(per.n, 0) > 1
        or (t.status not in ('QUEUED', 'PENDING') and (t.attempt <> 1 or per.n is null))`,
  );
  const total = await sql.query<{ n: number }>('select count(*)::int n from tasks');
  return {
    tasks: total.rows[0]?.n ?? 0,
    counterNot1: r.rows.filter((x) => x.attempt !== 1).length,
    manyAttempts: r.rows.filter((x) => x.n > 1).length,
    noAttempt: r.rows.filter((x) => x.n === 0).length,
    examples: r.rows.slice(0, 5).map((x) => x.id),
  };
}

/** True when the check found no violation. */
export function attemptsOk(c: AttemptCheck): boolean {
  return c.counterNot1 === 0 && c.manyAttempts === 0 && c.noAttempt === 0;
}

/** `select version()`. */
export async function postgresVersion(sql: pg.Pool | pg.Client): Promise<string> {
  const r = await sql.query<{ v: string }>('select version() v');
  return r.rows[0]?.v ?? 'unknown';
}
