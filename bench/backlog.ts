import type { ProcessFigures } from './process-sampler.js';
import { checkAttempts, timespan, type AttemptCheck } from './queries.js';
import { progress, waitAllSucceeded, WaitTimeout } from './wait.js';
import { perSecond, summarize, type Summary } from './stats.js';
import { WORKERS } from './stack.js';
import { submitAll } from './submit.js';
import { withStack, type MachineLoad, type ModeContext, type ModeRun } from './mode.js';

/** Figures of the backlog mode; durations in ms, rates in tasks/s. */
export interface BacklogResult {
  tasks: number;
  batch: number;
  concurrency: number;
  workers: number;
  slots: number;
  submitMs: number;
  submitRate: number;
  submitCallMs: Summary;
  /** Tasks SUCCEEDED when the drain ended: all of them, unless it timed out. */
  drained: number;
  /** Set when the drain did not finish within `--timeout`; the rates then cover `drained` tasks. */
  failure: string | undefined;
  /** From launching the workers to the last finished_at. */
  drainMs: number;
  drainRate: number;
  /** From the first attempt's start to the last finished_at (worker start-up excluded). */
  dispatchMs: number;
  dispatchRate: number;
  /** Time to launch both workers until the leader welcomed them. */
  workerStartMs: number;
  attempts: AttemptCheck;
  processes: ProcessFigures[];
  load: MachineLoad;
}

/**
 * With no worker connected, queues `--backlog` noop tasks; then starts the workers
 * and measures how fast they drain it, sampling memory all along. After `--timeout`
 * it gives up and reports what was drained so far, with `failure` set.
 */
export async function runBacklog(ctx: ModeContext): Promise<BacklogResult> {
  const { backlog: tasks, concurrency, slots } = ctx.opts;
  const batch = ctx.opts.batch ?? 1_000;
  const { result, processes, load } = await withStack(ctx, { label: 'backlog', workers: 0 }, async (run) => {
    const sub = await fill(ctx, run, batch);
    ctx.log(`backlog: queued ${tasks} tasks in ${sub.endedAt - sub.startedAt} ms; starting ${WORKERS} workers`);
    const launchedAt = Date.now();
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => run.stack.startWorker()));
    const workerStartMs = Date.now() - launchedAt;
    for (const w of workers) run.procs.track(w.name, w.pid);
    const failure = await drain(ctx, run, launchedAt);
    const span = await timespan(run.stack.cluster.sql);
    return { sub, launchedAt, workerStartMs, span, failure, attempts: await checkAttempts(run.stack.cluster.sql) };
  });
  const { sub, launchedAt, workerStartMs, span, failure, attempts } = result;
  const drained = span.finished;
  const submitMs = sub.endedAt - sub.startedAt;
  const drainMs = span.lastFinished - launchedAt;
  const dispatchMs = span.lastFinished - span.firstStarted;
  return {
    tasks, batch, concurrency, workers: WORKERS, slots,
    submitMs, submitRate: perSecond(tasks, submitMs), submitCallMs: summarize(sub.callMs), drained, failure,
    drainMs, drainRate: perSecond(drained, drainMs), dispatchMs, dispatchRate: perSecond(drained, dispatchMs),
    workerStartMs, attempts, processes, load,
  };
}

/**
 * Waits until the whole backlog SUCCEEDED, polling every 2 s (the rates come from
 * Postgres timestamps, not from the polls). On timeout returns why, so that the
 * caller reports the partial drain.
 */
async function drain(ctx: ModeContext, run: ModeRun, launchedAt: number): Promise<string | undefined> {
  const total = ctx.opts.backlog;
  let lastLog = 0;
  try {
    await waitAllSucceeded(run.stack.cluster.sql, total, {
      pollMs: 2_000, deadline: run.deadline, signal: ctx.signal, broken: () => run.stack.failure(),
      onPoll: (left) => {
        if (Date.now() - lastLog < 10_000) return;
        lastLog = Date.now();
        ctx.log(`backlog: ${total - left} of ${total} ended after ${Math.round((lastLog - launchedAt) / 1000)} s`);
      },
    });
    return undefined;
  } catch (e) {
    if (!(e instanceof WaitTimeout)) throw e;
    ctx.log(`backlog: ${e.message}; reporting the partial drain`);
    return `--timeout ${ctx.opts.timeoutSec} s passed: ${e.message}`;
  }
}

/** Submits the backlog and checks that none of it ran (no worker was connected). */
async function fill(ctx: ModeContext, run: ModeRun, batch: number): Promise<Awaited<ReturnType<typeof submitAll>>> {
  const { backlog: total, concurrency } = ctx.opts;
  ctx.log(`backlog: queueing ${total} tasks (batches of ${batch}, ${concurrency} submitters), no workers`);
  let lastLog = Date.now();
  const sub = await submitAll(run.stack.cluster.client(), {
    total, batch, concurrency, signal: ctx.signal, deadline: run.deadline,
    onBatch: (sent) => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      ctx.log(`backlog: ${sent} of ${total} queued`);
    },
  });
  const p = await progress(run.stack.cluster.sql);
  if (p.total !== total || p.succeeded !== 0) {
    throw new Error(`backlog: expected ${total} stored and none run before workers start; got ${JSON.stringify(p)}`);
  }
  return sub;
}
