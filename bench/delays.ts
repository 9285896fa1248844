import { durationFromMs } from '@bufbuild/protobuf/wkt';
import type pg from 'pg';
import type { ProcessFigures } from './process-sampler.js';
import { checkAttempts, type AttemptCheck } from './queries.js';
import { summarize, type Summary } from './stats.js';
import { WORKERS } from './stack.js';
import { noopBatch } from './submit.js';
import { withStack, type MachineLoad, type ModeContext } from './mode.js';
import { waitAllSucceeded } from './wait.js';

/** Delays are spread uniformly over this many seconds after submit. */
const SPREAD_S = 10;

/** Figures of the delays mode: how late delayed tasks start. */
export interface DelaysResult {
  tasks: number;
  spreadSeconds: number;
  workers: number;
  slots: number;
  /** Tasks whose first attempt started before their run_at: must be 0. */
  early: number;
  /** First attempt's started_at − run_at, ms. */
  latenessMs: Summary;
  attempts: AttemptCheck;
  processes: ProcessFigures[];
  load: MachineLoad;
}

/**
 * Submits `--tasks` noop tasks (default 20,000; try 5,000) with delays spread uniformly over
 * SPREAD_S seconds, in one burst of batches, then measures how late each started.
 */
export async function runDelays(ctx: ModeContext): Promise<DelaysResult> {
  const total = ctx.opts.tasks;
  const batch = ctx.opts.batch ?? 500;
  const { result, processes, load } = await withStack(ctx, { label: 'delays', workers: WORKERS }, async (run) => {
    const client = run.stack.cluster.client();
    ctx.log(`delays: submitting ${total} tasks delayed 0-${SPREAD_S} s`);
    for (let first = 0; first < total; first += batch) {
      const tasks = noopBatch(first, Math.min(batch, total - first)).map((t) => ({
        ...t, start: { case: 'delay' as const, value: durationFromMs(Math.floor(Math.random() * SPREAD_S * 1000)) },
      }));
      await client.submitTasks({ tasks }, { signal: ctx.signal });
    }
    await waitAllSucceeded(run.stack.cluster.sql, total, { pollMs: 200, deadline: run.deadline, signal: ctx.signal, broken: () => run.stack.failure() });
    return { ...(await lateness(run.stack.cluster.sql)), attempts: await checkAttempts(run.stack.cluster.sql) };
  });
  return {
    tasks: total, spreadSeconds: SPREAD_S, workers: WORKERS, slots: ctx.opts.slots, early: result.early,
    latenessMs: summarize(result.late), attempts: result.attempts, processes, load,
  };
}

async function lateness(sql: pg.Pool): Promise<{ early: number; late: Float64Array }> {
  const r = await sql.query<[number]>({
    text: `select (extract(epoch from a.started_at - coalesce(t.run_at, t.created_at)) * 1000)::float8
           from tasks t join attempts a on a.task_id = t.id and a.number = 1`,
    rowMode: 'array',
  });
  const late = Float64Array.from(r.rows.map(([ms]) => ms));
  return { early: late.filter((ms) => ms < 0).length, late };
}
