import { sleep } from '../internal/shared/sleep.js';
import type { ProcessFigures } from './process-sampler.js';
import { checkAttempts, latencies, type AttemptCheck } from './queries.js';
import { waitAllSucceeded } from './wait.js';
import { dueByNow, perSecond, summarize, type Summary } from './stats.js';
import { WORKERS } from './stack.js';
import { noopBatch, type TaskClient } from './submit.js';
import { withStack, type MachineLoad, type ModeContext } from './mode.js';
import { warmUp } from './warmup.js';

/** Submissions are sent every this many ms, each carrying what fell due since the last. */
const TICK_MS = 10;
/** Calls allowed in flight before the sender waits (it then falls behind schedule, which is reported). */
const MAX_IN_FLIGHT = 64;

/** Figures of the latency mode; durations in ms, rates in tasks/s. */
export interface LatencyResult {
  targetRate: number;
  /** With `--rate half`: the throughput mode's end-to-end rate that `targetRate` is half of. */
  halfOf: number | undefined;
  seconds: number;
  tickMs: number;
  tasks: number;
  /** Tasks run before measuring, not in the figures (but in the attempts check). */
  warmup: number;
  workers: number;
  slots: number;
  /** Tasks over the time from the first call to the last answer. */
  achievedRate: number;
  /** How far behind schedule the sender fell at worst. */
  maxLagMs: number;
  submitCallMs: Summary;
  submitToStartMs: Summary;
  submitToDoneMs: Summary;
  attempts: AttemptCheck;
  processes: ProcessFigures[];
  load: MachineLoad;
}

/** After a warm-up, submits noop tasks at `--rate` per second for `--seconds`, then reports their latencies. */
export async function runLatency(ctx: ModeContext): Promise<LatencyResult> {
  const { seconds, slots } = ctx.opts;
  const rate = targetRate(ctx);
  const total = rate * seconds;
  const { result, processes, load } = await withStack(ctx, { label: 'latency', workers: WORKERS }, async (run) => {
    const { stack, deadline } = run;
    const after = await warmUp(ctx, run);
    ctx.log(`latency: submitting ${rate} tasks/s for ${seconds} s every ${TICK_MS} ms`);
    const sent = await submitAtRate(stack.cluster.client(), { rate, total, signal: ctx.signal });
    await waitAllSucceeded(stack.cluster.sql, ctx.opts.warmup + total, {
      pollMs: 200, deadline, signal: ctx.signal, broken: () => stack.failure(),
    });
    return { sent, lat: await latencies(stack.cluster.sql, after), attempts: await checkAttempts(stack.cluster.sql) };
  });
  const { sent, lat, attempts } = result;
  return {
    targetRate: rate, halfOf: ctx.opts.rate === 'half' ? ctx.maxRate : undefined, seconds, tickMs: TICK_MS, tasks: total, warmup: ctx.opts.warmup, workers: WORKERS, slots,
    achievedRate: perSecond(total, sent.endedAt - sent.startedAt), maxLagMs: sent.maxLagMs,
    submitCallMs: summarize(sent.callMs),
    submitToStartMs: summarize(lat.submitToStart),
    submitToDoneMs: summarize(lat.submitToDone),
    attempts, processes, load,
  };
}

function targetRate(ctx: ModeContext): number {
  if (ctx.opts.rate !== 'half') return ctx.opts.rate;
  if (ctx.maxRate === undefined || !(ctx.maxRate >= 2)) throw new Error('--rate half: the throughput mode measured no rate');
  return Math.round(ctx.maxRate / 2);
}

interface RateResult {
  startedAt: number;
  endedAt: number;
  maxLagMs: number;
  callMs: number[];
}

/**
 * Every TICK_MS, sends what fell due at `rate` since the start as one SubmitTasks call,
 * without waiting for earlier calls (up to MAX_IN_FLIGHT). Throws the first failed call's error.
 */
async function submitAtRate(client: TaskClient, p: { rate: number; total: number; signal: AbortSignal }): Promise<RateResult> {
  const inFlight = new Set<Promise<void>>();
  const callMs: number[] = [];
  let error: unknown;
  let sent = 0;
  let maxLagMs = 0;
  const t0 = performance.now();
  const startedAt = Date.now();
  for (let tick = 1; sent < p.total && error === undefined; tick++) {
    if (!(await sleep(t0 + tick * TICK_MS - performance.now(), p.signal))) throw new Error('interrupted while submitting');
    maxLagMs = Math.max(maxLagMs, performance.now() - (t0 + tick * TICK_MS));
    const due = dueByNow(p.rate, performance.now() - t0, p.total) - sent;
    if (due <= 0) continue;
    const started = performance.now();
    const call: Promise<void> = client.submitTasks({ tasks: noopBatch(sent, due) }, { signal: p.signal }).then(
      () => void callMs.push(performance.now() - started),
      (e: unknown) => void (error ??= e),
    ).finally(() => inFlight.delete(call));
    inFlight.add(call);
    sent += due;
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (error !== undefined) throw error;
  return { startedAt, endedAt: Date.now(), maxLagMs, callMs };
}
