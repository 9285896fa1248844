import type pg from 'pg';
import { summarize, type Summary } from '../bench/stats.js';

const ms = (expr: string): string => `(extract(epoch from ${expr}) * 1000)::float8`;

/** Dispatch figures of a time window, from Postgres. */
export interface WindowDispatch {
  /** Tasks created in the window. */
  created: number;
  /** Attempts started in the window (any task), per second. */
  startedPerSec: number;
  /** Tasks that reached a terminal state in the window, per second. */
  finishedPerSec: number;
  /** First attempt's started_at − created_at of the tasks created in the window that started, ms. */
  submitToStartMs: Summary;
  /** Tasks created in the window that have not started (yet). */
  notStarted: number;
}

/** Figures for the window (fromMs, toMs], epoch ms. */
export async function windowDispatch(sql: pg.Pool, fromMs: number, toMs: number): Promise<WindowDispatch> {
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const lat = await sql.query<[number | null]>({
    text: `select ${ms('a.started_at - t.created_at')}
           from tasks t left join attempts a on a.task_id = t.id and a.number = 1
           where t.created_at > $1 and t.created_at <= $2`,
    values: [from, to], rowMode: 'array',
  });
  const started = await sql.query<{ n: number }>('select count(*)::int n from attempts where started_at > $1 and started_at <= $2', [from, to]);
  const finished = await sql.query<{ n: number }>('select count(*)::int n from tasks where finished_at > $1 and finished_at <= $2', [from, to]);
  const values = lat.rows.map((r) => r[0]).filter((v): v is number => v !== null);
  const sec = (toMs - fromMs) / 1000;
  return {
    created: lat.rows.length,
    startedPerSec: (started.rows[0]?.n ?? 0) / sec,
    finishedPerSec: (finished.rows[0]?.n ?? 0) / sec,
    submitToStartMs: summarize(values),
    notStarted: lat.rows.length - values.length,
  };
}

/** Dispatch through a failover, from Postgres; times in ms relative to the kill. */
export interface FailoverDispatch {
  /** First attempt started by the new leader, ms after the kill; NaN when none. */
  firstDispatchMs: number;
  /** Last attempt started by the old leader, ms after the kill (negative: before it). */
  lastOldDispatchMs: number;
  /** Attempts the new leader started in the `afterSec` seconds from its first one, per second. */
  rateAfter: number;
  /** Tasks created before the new leader's first dispatch and not started by then: the backlog it inherited. */
  backlogAtFirstDispatch: number;
  /** submit→start of tasks created from the kill to the end of the after-window, ms. */
  submitToStartMs: Summary;
  /** Attempts started and tasks created (stored by the apiserver) per whole second relative to the kill, from -3 s. */
  perSecond: { second: number; started: number; created: number }[];
}

/** Reads {@link FailoverDispatch}; `killMs` epoch ms, `endMs` where the timeline stops. */
export async function failoverDispatch(sql: pg.Pool, p: { killMs: number; newEpoch: number; afterSec: number; endMs: number }): Promise<FailoverDispatch> {
  const kill = new Date(p.killMs);
  const first = await sql.query<{ at: number | null }>(`select ${ms('min(started_at)')} at from attempts where epoch = $1`, [p.newEpoch]);
  const lastOld = await sql.query<{ at: number | null }>(`select ${ms('max(started_at)')} at from attempts where epoch < $1`, [p.newEpoch]);
  const firstAt = first.rows[0]?.at ?? null;
  const windowEnd = firstAt === null ? p.endMs : firstAt + p.afterSec * 1000;
  const after = firstAt === null ? 0 : (await sql.query<{ n: number }>(
    'select count(*)::int n from attempts where epoch = $1 and started_at >= $2 and started_at < $3',
    [p.newEpoch, new Date(firstAt), new Date(windowEnd)],
  )).rows[0]?.n ?? 0;
  const backlog = firstAt === null ? 0 : (await sql.query<{ n: number }>(
    `select count(*)::int n from tasks t left join attempts a on a.task_id = t.id and a.number = 1
     where t.created_at < $1 and (a.started_at is null or a.started_at >= $1)`,
    [new Date(firstAt)],
  )).rows[0]?.n ?? 0;
  const lat = await sql.query<[number]>({
    text: `select ${ms('a.started_at - t.created_at')} from tasks t join attempts a on a.task_id = t.id and a.number = 1
           where t.created_at >= $1 and t.created_at < $2`,
    values: [kill, new Date(windowEnd)], rowMode: 'array',
  });
  const timeline = await sql.query<{ s: number; n: number }>(
    `select floor(${ms('started_at')} / 1000 - $1::float8 / 1000)::int s, count(*)::int n from attempts
     where started_at >= $2 and started_at < $3 group by 1 order by 1`,
    [p.killMs, new Date(p.killMs - 3_000), new Date(p.endMs)],
  );
  const createdTimeline = await sql.query<{ s: number; n: number }>(
    `select floor(${ms('created_at')} / 1000 - $1::float8 / 1000)::int s, count(*)::int n from tasks
     where created_at >= $2 and created_at < $3 group by 1 order by 1`,
    [p.killMs, new Date(p.killMs - 3_000), new Date(p.endMs)],
  );
  const counts = new Map(timeline.rows.map((r) => [r.s, r.n]));
  const created = new Map(createdTimeline.rows.map((r) => [r.s, r.n]));
  const lastSecond = Math.ceil((p.endMs - p.killMs) / 1000);
  const perSecond = [];
  for (let s = -3; s < lastSecond; s++) perSecond.push({ second: s, started: counts.get(s) ?? 0, created: created.get(s) ?? 0 });
  return {
    firstDispatchMs: firstAt === null ? Number.NaN : firstAt - p.killMs,
    lastOldDispatchMs: (lastOld.rows[0]?.at ?? Number.NaN) - p.killMs,
    rateAfter: firstAt === null ? 0 : after / p.afterSec,
    backlogAtFirstDispatch: backlog,
    submitToStartMs: summarize(lat.rows.map((r) => r[0])),
    perSecond,
  };
}

/** Tasks that ran more than once, grouped by what ended their first attempt; times in ms relative to the kill. */
export interface RerunGroup {
  firstEpoch: number;
  firstStatus: string;
  /** `error.kind` of the first attempt (worker_lost: its lease lapsed). */
  firstErrorKind: string | null;
  secondEpoch: number;
  tasks: number;
  firstStartedMs: [number, number];
  firstEndedMs: [number | null, number | null];
}

/** Groups the tasks with a second attempt (see {@link RerunGroup}). */
export async function rerunGroups(sql: pg.Pool, killMs: number): Promise<RerunGroup[]> {
  const rel = (expr: string): string => `${ms(expr)} - $1::float8`;
  const r = await sql.query<{ e1: number; s1: string; k1: string | null; e2: number; n: number; s0: number; s9: number; x0: number | null; x9: number | null }>(
    `select a1.epoch e1, a1.status s1, a1.error->>'kind' k1, a2.epoch e2, count(*)::int n,
            ${rel('min(a1.started_at)')} s0, ${rel('max(a1.started_at)')} s9, ${rel('min(a1.ended_at)')} x0, ${rel('max(a1.ended_at)')} x9
     from attempts a1 join attempts a2 on a2.task_id = a1.task_id and a2.number = 2
     where a1.number = 1 group by 1, 2, 3, 4 order by n desc`,
    [killMs],
  );
  return r.rows.map((x) => ({
    firstEpoch: x.e1, firstStatus: x.s1, firstErrorKind: x.k1, secondEpoch: x.e2, tasks: x.n,
    firstStartedMs: [x.s0, x.s9], firstEndedMs: [x.x0, x.x9],
  }));
}
