import { cpus, loadavg } from 'node:os';
import type { BenchOptions } from './args.js';
import { busyCores, cpuTotals, type CpuTotals } from './machine.js';
import { ProcessSampler, type ProcessFigures } from './process-sampler.js';
import type { BenchServers } from './servers.js';
import { sleep } from '../internal/shared/sleep.js';
import { BenchStack } from './stack.js';

/** What every mode gets from main. */
export interface ModeContext {
  servers: BenchServers;
  opts: BenchOptions;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Progress lines (stderr), not part of the report. */
  log: (msg: string) => void;
  /** End-to-end tasks/s the throughput mode measured in this run, once it has run. */
  maxRate?: number;
}

/**
 * How busy the machine was while a mode ran. Other work on the machine competes for
 * the same CPUs, so figures taken while `otherCores` is high understate taskd.
 */
export interface MachineLoad {
  cpus: number;
  /** Average busy cores of the whole machine (/proc/stat). */
  busyCores: number;
  /** Of which: taskd, Postgres, Redis and the bench itself. */
  benchCores: number;
  /** The rest: processes that are not part of this bench. */
  otherCores: number;
  loadAvg1Start: number;
  loadAvg1End: number;
}

/** A running mode's stack and its process sampler. */
export interface ModeRun {
  stack: BenchStack;
  procs: ProcessSampler;
  /** Epoch ms after which the mode fails (`--timeout` from when the stack was up). */
  deadline: number;
}

/**
 * Starts a fresh stack (`workers` workers, `--slots` each) on a new database, samples
 * memory and CPU of its processes, Postgres, Redis and the bench itself every 500 ms
 * while `fn` runs, then kills the stack whatever happened. Returns `fn`'s result with
 * the process figures.
 */
export async function withStack<T>(
  ctx: ModeContext,
  p: { label: string; workers: number },
  fn: (run: ModeRun) => Promise<T>,
): Promise<{ result: T; processes: ProcessFigures[]; load: MachineLoad }> {
  ctx.log(`${p.label}: starting 1 apiserver, 1 scheduler, ${p.workers} workers × ${ctx.opts.slots} slots`);
  const stack = await BenchStack.start(ctx.servers, { label: p.label, workers: p.workers, slots: ctx.opts.slots, events: ctx.opts.events });
  const procs = new ProcessSampler(500);
  const stopSampling = new AbortController();
  let sampling: Promise<void> | undefined;
  try {
    for (const proc of stack.processes()) procs.track(proc.name, proc.pid);
    const pgPid = ctx.servers.postgresPid;
    if (pgPid !== undefined) procs.track('postgres (all processes, Pss)', pgPid, true);
    const redisPid = ctx.servers.redis.runningPid();
    if (redisPid !== undefined) procs.track('redis-server', redisPid);
    const kafkaPid = ctx.servers.kafka?.runningPid();
    if (kafkaPid !== undefined) procs.track('kafka (JVM)', kafkaPid);
    procs.track('bench (load generator)', process.pid);
    sampling = procs.run(stopSampling.signal);
    const before = { cpu: cpuTotals(), load: loadavg()[0] ?? Number.NaN, at: performance.now() };
    const result = await fn({ stack, procs, deadline: Date.now() + ctx.opts.timeoutSec * 1000 });
    if (ctx.opts.events === 'kafka') await logRelayDrain(ctx, stack, p.label);
    procs.sampleOnce();
    const figures = procs.figures();
    return { result, processes: figures, load: machineLoad(before, figures) };
  } finally {
    stopSampling.abort();
    await sampling;
    await stack.stop();
  }
}

/** With --events kafka: how many events were still unsent when the mode's work ended, and how long the relay took to send them. */
async function logRelayDrain(ctx: ModeContext, stack: BenchStack, label: string): Promise<void> {
  const unsent = async (): Promise<number> =>
    Number((await stack.cluster.sql.query<{ n: string }>('select count(*) n from events where sent_at is null')).rows[0]?.n);
  const start = performance.now();
  const atEnd = await unsent();
  let left = atEnd;
  while (left > 0 && !ctx.signal.aborted && performance.now() - start < 600_000) {
    await sleep(100, ctx.signal);
    left = await unsent();
  }
  const total = Number((await stack.cluster.sql.query<{ n: string }>('select count(*) n from events')).rows[0]?.n);
  ctx.log(`${label}: relay: ${atEnd} of ${total} events unsent when the tasks were done; drained in ${Math.round(performance.now() - start)} ms` +
    (left > 0 ? ` (NOT drained: ${left} left)` : ''));
}

function machineLoad(before: { cpu: CpuTotals; load: number; at: number }, figures: ProcessFigures[]): MachineLoad {
  const n = cpus().length;
  const busy = busyCores(before.cpu, cpuTotals(), n);
  const windowSec = (performance.now() - before.at) / 1000;
  const bench = figures.reduce((sum, f) => sum + f.cpuSec, 0) / windowSec;
  return {
    cpus: n, busyCores: busy, benchCores: bench, otherCores: Math.max(0, busy - bench),
    loadAvg1Start: before.load, loadAvg1End: loadavg()[0] ?? Number.NaN,
  };
}
