import { attemptsByTask, checkAttempts, EXPLAINED_KINDS, type DuplicateStats } from './check-attempts.js';
import { checkEpochs, type EpochStats } from './check-epochs.js';
import { checkSteps, type StepsStats } from './check-steps.js';
import { checkSubmissions, type SubmissionStats } from './check-submissions.js';
import type { AttemptRow, Snapshot } from './collect.js';
import type { FaultRecord } from './faults.js';
import type { LeaderEvent } from './leadership-log.js';
import type { SubmitLedger } from './load.js';
import { attributeToFaults, faultAt, faultBefore, measureTakeovers, type TakeoverSample } from './takeover.js';
import { countBy, type Violation } from './violation.js';

/** Everything the checks found. */
export interface Analysis {
  submissions: SubmissionStats;
  duplicates: DuplicateStats;
  /** Lapsed attempts (worker_lost, timeout) by the fault they followed (`none`: no fault near). */
  lapsesByFault: Record<string, number>;
  /** Lapsed attempts that followed a leader change rather than a worker kill: a failover alone should re-run nothing. */
  lapsesAfterLeaderFaults: string[];
  /** Attempts behind unexplained re-executions, by the fault they followed. */
  unexplainedByFault: Record<string, number>;
  takeovers: TakeoverSample[];
  /** Terms after the first by the fault they followed; `none`: a leader lost its lock on a healthy stack (e.g. a renewal timed out under load). */
  leaderChangesByFault: Record<string, number>;
  /** `stepped down` lines by reason. */
  stepDownReasons: Record<string, number>;
  steps: StepsStats;
  epochs: EpochStats;
  violations: Violation[];
}

/** What the analysis reads: the final database state and what the harness saw during the run. */
export interface AnalysisInput {
  snapshot: Snapshot;
  ledger: SubmitLedger;
  faults: FaultRecord[];
  terms: LeaderEvent[];
  /** The schedulers' `stepped down` lines. */
  stepDowns: LeaderEvent[];
  /** Processes that exited without being killed. */
  unexpectedExits: string[];
}

/** Runs every check over a finished run. Pure: no I/O. */
export function analyze(input: AnalysisInput): Analysis {
  const { tasks, attempts, leadershipEpoch } = input.snapshot;
  const byTask = attemptsByTask(attempts);
  const sub = checkSubmissions(input.ledger, tasks);
  const dup = checkAttempts(tasks, byTask, (a) => {
    const f = faultBefore(a, input.faults);
    return f ? `, after ${f.kind} ${f.target} at ${new Date(f.at).toISOString().slice(11, 23)}` : ', no fault near';
  });
  const steps = checkSteps(tasks, byTask);
  const epochs = checkEpochs(attempts, input.terms, leadershipEpoch);
  const lapsed = attempts.filter((a) => a.status === 'FAILED' && a.kind !== null && EXPLAINED_KINDS.has(a.kind));
  const violations: Violation[] = [
    ...sub.violations, ...dup.violations, ...steps.violations, ...epochs.violations,
    ...input.faults.filter((f) => f.error).map((f) => ({ check: 'fault-recovery', detail: `${f.kind} ${f.target}: ${f.error}` })),
    ...input.unexpectedExits.map((detail) => ({ check: 'process-exit', detail })),
  ];
  return {
    submissions: sub.stats,
    duplicates: dup.stats,
    lapsesByFault: attributeToFaults(lapsed, input.faults),
    lapsesAfterLeaderFaults: describeLapses(lapsed, input.faults),
    unexplainedByFault: attributeToFaults(dup.unexplained, input.faults),
    takeovers: measureTakeovers(input.faults, input.terms, attempts),
    leaderChangesByFault: countBy(input.terms.slice(1), (t) => faultAt(t.at, input.faults)?.kind ?? 'none'),
    stepDownReasons: countBy(input.stepDowns, (e) => e.reason ?? '?'),
    steps: steps.stats,
    epochs: epochs.stats,
    violations,
  };
}

/** One line per lapsed attempt whose lapse followed a fault other than a worker kill. */
function describeLapses(lapsed: AttemptRow[], faults: FaultRecord[]): string[] {
  const iso = (ms: number | null): string => (ms === null ? '?' : new Date(ms).toISOString().slice(11, 23));
  return lapsed.flatMap((a) => {
    const f = faultBefore(a, faults);
    if (f?.kind === 'worker-kill') return [];
    const after = f ? `${f.kind} ${f.target} at ${iso(f.at)}` : 'no fault';
    return [`task ${a.taskId} attempt ${a.number} on ${a.workerId}, epoch ${a.epoch}, ${iso(a.startedAt)}–${iso(a.endedAt)} ${a.kind}, after ${after}`];
  });
}
