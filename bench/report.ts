import type { BacklogResult } from './backlog.js';
import type { BenchOptions } from './args.js';
import type { DelaysResult } from './delays.js';
import type { LatencyResult } from './latency.js';
import type { MachineInfo } from './machine.js';
import type { MachineLoad } from './mode.js';
import { attemptsOk, type AttemptCheck } from './queries.js';
import type { ProcessFigures } from './process-sampler.js';
import type { Summary } from './stats.js';
import { fmtInt, fmtMiB, fmtMs, fmtSec, renderTable } from './table.js';
import type { ThroughputResult } from './throughput.js';

/** The report's opening: machine, versions and settings. */
export function renderHeader(m: MachineInfo, o: BenchOptions): string {
  return [
    '== taskd benchmark ==',
    `code      ${m.code}`,
    `machine   ${m.cpuModel}, ${m.cpuCount} CPUs, ${(m.totalMemBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.kernel}`,
    `node      ${m.node}`,
    `load      1-minute load average ${m.loadAvg1.toFixed(2)} at start (other work on the machine skews every figure)`,
    `postgres  ${m.postgres}`,
    '          throwaway cluster: fsync=off, synchronous_commit=off, full_page_writes=off, max_connections=300',
    `stack     1 apiserver, 1 scheduler, 2 workers × ${o.slots} slots each; taskd default settings; all on 127.0.0.1`,
    `modes     ${o.modes.join(', ')}; --timeout ${o.timeoutSec} s per mode`,
    `events    ${{ outbox: 'outbox rows written, no relay', kafka: 'outbox rows relayed to Kafka (one local broker, replication 1, 3 partitions)', off: "tasks' event triggers disabled (no outbox)" }[o.events]}`,
  ].join('\n');
}

/** A latency table: one row per named distribution, in ms. */
export function renderLatencies(rows: Array<[string, Summary]>): string {
  return renderTable(
    ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'max'],
    rows.map(([name, s]) => [name, fmtInt(s.count), fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99), fmtMs(s.max)]),
  );
}

/**
 * Peak memory and CPU use per process over the mode (from stack start to the last
 * check), and how busy the machine was meanwhile.
 */
export function renderProcesses(procs: ProcessFigures[], load: MachineLoad): string {
  const table = renderTable(
    ['process', 'pid', 'peak RSS (500 ms samples)', 'peak RSS (VmHWM)', 'RSS at end', 'CPU s', 'avg cores'],
    procs.map((p) => [
      p.name, String(p.pid), fmtMiB(p.peakBytes), fmtMiB(p.hwmBytes), fmtMiB(p.lastBytes), p.cpuSec.toFixed(1),
      p.wallSec > 0 ? (p.cpuSec / p.wallSec).toFixed(2) : '-',
    ]),
  );
  const other = load.otherCores > 0.25 * load.cpus ? '  <- other work competed for the CPUs: figures are pessimistic' : '';
  return [
    table,
    `machine CPU: ${load.busyCores.toFixed(2)} of ${load.cpus} cores busy on average; this bench ${load.benchCores.toFixed(2)}, ` +
      `other processes ${load.otherCores.toFixed(2)}${other}`,
    `load average (1 min): ${load.loadAvg1Start.toFixed(2)} at start, ${load.loadAvg1End.toFixed(2)} at end`,
  ].join('\n');
}

/** The "exactly one attempt per task" verdict. */
export function renderAttempts(c: AttemptCheck): string {
  if (attemptsOk(c)) return `attempts: 0 violations among ${fmtInt(c.tasks)} tasks (every task that ran, ran exactly once)`;
  return [
    `attempts: VIOLATIONS among ${fmtInt(c.tasks)} tasks: ${c.counterNot1} with attempt counter ≠ 1, ` +
      `${c.manyAttempts} with > 1 attempts row, ${c.noAttempt} with none`,
    `          e.g. ${c.examples.join(', ')}`,
  ].join('\n');
}

/** The throughput mode's section. */
export function renderThroughput(r: ThroughputResult): string {
  return [
    `== throughput: ${fmtInt(r.tasks)} noop tasks, batches of ${r.batch}, ${r.concurrency} submitters, ` +
      `${r.workers} workers × ${r.slots} slots (after ${fmtInt(r.warmup)} warm-up tasks, not counted) ==`,
    renderTable(['rate', 'tasks', 'time', 'tasks/s'], [
      ['submit (first call → last answer)', fmtInt(r.tasks), fmtSec(r.submitMs), fmtInt(r.submitRate)],
      ['end-to-end (first submit → last finished_at)', fmtInt(r.tasks), fmtSec(r.endToEndMs), fmtInt(r.endToEndRate)],
    ]),
    '',
    renderLatencies([
      ['submit→start (attempt 1 started_at − created_at)', r.submitToStartMs],
      ['submit→done (finished_at − created_at)', r.submitToDoneMs],
      [`SubmitTasks call (${r.batch} tasks)`, r.submitCallMs],
    ]),
    '',
    renderAttempts(r.attempts),
    '',
    renderProcesses(r.processes, r.load),
  ].join('\n');
}

/** The latency mode's section. */
export function renderLatency(r: LatencyResult): string {
  return [
    `== latency: ${fmtInt(r.targetRate)} tasks/s for ${r.seconds} s (${fmtInt(r.tasks)} noop tasks, one call every ` +
      `${r.tickMs} ms), ${r.workers} workers × ${r.slots} slots (after ${fmtInt(r.warmup)} warm-up tasks, not counted) ==`,
    ...(r.halfOf === undefined ? [] : [`rate = half of the ${fmtInt(r.halfOf)} tasks/s end-to-end the throughput mode measured`]),
    `achieved submit rate ${fmtInt(r.achievedRate)} tasks/s; sender at most ${fmtMs(r.maxLagMs)} ms behind schedule`,
    '',
    renderLatencies([
      ['submit→start (attempt 1 started_at − created_at)', r.submitToStartMs],
      ['submit→done (finished_at − created_at)', r.submitToDoneMs],
      [`SubmitTasks call (~${Math.round((r.targetRate * r.tickMs) / 1000)} tasks)`, r.submitCallMs],
    ]),
    '',
    renderAttempts(r.attempts),
    '',
    renderProcesses(r.processes, r.load),
  ].join('\n');
}

/** The delays mode's section. */
export function renderDelays(r: DelaysResult): string {
  return [
    `== delays: ${fmtInt(r.tasks)} noop tasks delayed uniformly over 0-${r.spreadSeconds} s, ${r.workers} workers × ${r.slots} slots ==`,
    `started early (before run_at): ${fmtInt(r.early)}`,
    '',
    renderLatencies([['lateness (attempt 1 started_at − run_at)', r.latenessMs]]),
    '',
    renderAttempts(r.attempts),
    '',
    renderProcesses(r.processes, r.load),
  ].join('\n');
}

/** The backlog mode's section. */
export function renderBacklog(r: BacklogResult): string {
  return [
    `== backlog: ${fmtInt(r.tasks)} noop tasks queued with no worker (batches of ${r.batch}, ${r.concurrency} ` +
      `submitters), then drained by ${r.workers} workers × ${r.slots} slots ==`,
    ...(r.failure === undefined ? [] : [`FAILED: ${r.failure}; the drain figures cover the ${fmtInt(r.drained)} tasks done`]),
    renderTable(['rate', 'tasks', 'time', 'tasks/s'], [
      ['submit, no workers (first call → last answer)', fmtInt(r.tasks), fmtSec(r.submitMs), fmtInt(r.submitRate)],
      ['drain (workers launched → last finished_at)', fmtInt(r.drained), fmtSec(r.drainMs), fmtInt(r.drainRate)],
      ['drain (first attempt started → last finished_at)', fmtInt(r.drained), fmtSec(r.dispatchMs), fmtInt(r.dispatchRate)],
    ]),
    `workers took ${fmtSec(r.workerStartMs)} from launch to connected`,
    '',
    renderLatencies([[`SubmitTasks call (${r.batch} tasks)`, r.submitCallMs]]),
    '',
    renderAttempts(r.attempts),
    '',
    renderProcesses(r.processes, r.load),
  ].join('\n');
}
