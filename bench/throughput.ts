import type { ProcessFigures } from './process-sampler.js';
import { checkAttempts, latencies, timespan, type AttemptCheck } from './queries.js';
import { waitAllSucceeded } from './wait.js';
import { perSecond, summarize, type Summary } from './stats.js';
import { WORKERS } from './stack.js';
import { submitAll } from './submit.js';
import { withStack, type MachineLoad, type ModeContext } from './mode.js';
import { warmUp } from './warmup.js';

/** Figures of the throughput mode; durations in ms, rates in tasks/s. */
export interface ThroughputResult {
  tasks: number;
  /** Tasks run before measuring, not in the figures (but in the attempts check). */
  warmup: number;
  batch: number;
  concurrency: number;
  workers: number;
  slots: number;
  submitMs: number;
  submitRate: number;
  /** From the first SubmitTasks call to the last finished_at. */
  endToEndMs: number;
  endToEndRate: number;
  submitCallMs: Summary;
  submitToStartMs: Summary;
  submitToDoneMs: Summary;
  attempts: AttemptCheck;
  processes: ProcessFigures[];
  load: MachineLoad;
}

/**
 * After a warm-up, submits `--tasks` noop tasks as fast as `--concurrency` submitters
 * can, waits until all SUCCEEDED (polling every 200 ms) and measures rates and
 * latencies of those tasks.
 */
export async function runThroughput(ctx: ModeContext): Promise<ThroughputResult> {
  const { tasks, concurrency, slots } = ctx.opts;
  const batch = ctx.opts.batch ?? 500;
  const { result, processes, load } = await withStack(ctx, { label: 'throughput', workers: WORKERS }, async (run) => {
    const { stack, deadline } = run;
    const after = await warmUp(ctx, run);
    ctx.log(`throughput: submitting ${tasks} tasks (batches of ${batch}, ${concurrency} submitters)`);
    const sub = await submitAll(stack.cluster.client(), { total: tasks, batch, concurrency, signal: ctx.signal, deadline });
    ctx.log(`throughput: submitted in ${sub.endedAt - sub.startedAt} ms; waiting for all to succeed`);
    await waitAllSucceeded(stack.cluster.sql, ctx.opts.warmup + tasks, {
      pollMs: 200, deadline, signal: ctx.signal, broken: () => stack.failure(),
    });
    const span = await timespan(stack.cluster.sql, after);
    const lat = await latencies(stack.cluster.sql, after);
    return { sub, span, lat, attempts: await checkAttempts(stack.cluster.sql) };
  });
  const { sub, span, lat, attempts } = result;
  const submitMs = sub.endedAt - sub.startedAt;
  const endToEndMs = span.lastFinished - sub.startedAt;
  return {
    tasks, warmup: ctx.opts.warmup, batch, concurrency, workers: WORKERS, slots,
    submitMs, submitRate: perSecond(tasks, submitMs),
    endToEndMs, endToEndRate: perSecond(tasks, endToEndMs),
    submitCallMs: summarize(sub.callMs),
    submitToStartMs: summarize(lat.submitToStart),
    submitToDoneMs: summarize(lat.submitToDone),
    attempts, processes, load,
  };
}
