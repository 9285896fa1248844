import type { AttemptRow, TaskRow } from './collect.js';
import type { Violation } from './violation.js';

/** Why an earlier attempt may legitimately be followed by another: its lease expired or it timed out. */
export const EXPLAINED_KINDS: ReadonlySet<string> = new Set(['worker_lost', 'timeout']);

/** Re-executions: tasks dispatched more than once, and why. */
export interface DuplicateStats {
  /** Tasks with more than one attempt. */
  tasks: number;
  /** Of those, every earlier attempt ended FAILED as worker_lost or timeout. */
  explained: number;
  unexplained: number;
  /** Earlier (superseded) attempts by how they ended: `FAILED/worker_lost`, … */
  earlierByOutcome: Record<string, number>;
}

/** Attempts grouped by task id, each group in attempt-number order. */
export function attemptsByTask(attempts: AttemptRow[]): Map<string, AttemptRow[]> {
  const out = new Map<string, AttemptRow[]>();
  for (const a of attempts) {
    const list = out.get(a.taskId);
    if (list) list.push(a);
    else out.set(a.taskId, [a]);
  }
  for (const list of out.values()) list.sort((x, y) => x.number - y.number);
  return out;
}

/**
 * Fenced results and at-least-once only after a lapse: each task's attempt history is
 * 1..n with n = tasks.attempt; at most one attempt SUCCEEDED (and it is the last, for a
 * SUCCEEDED task); every attempt before the last ended FAILED as `worker_lost` or
 * `timeout`, anything else is an unexplained re-execution (those attempts are returned
 * in `unexplained`; `context` adds to their description, e.g. the fault they followed).
 */
export function checkAttempts(
  tasks: TaskRow[],
  byTask: Map<string, AttemptRow[]>,
  context: (a: AttemptRow) => string = () => '',
): { stats: DuplicateStats; violations: Violation[]; unexplained: AttemptRow[] } {
  const violations: Violation[] = [];
  const unexplained: AttemptRow[] = [];
  const stats: DuplicateStats = { tasks: 0, explained: 0, unexplained: 0, earlierByOutcome: {} };
  for (const t of tasks) {
    const list = byTask.get(t.id) ?? [];
    violations.push(...historyViolations(t, list));
    if (list.length < 2) continue;
    stats.tasks++;
    const earlier = list.slice(0, -1);
    for (const a of earlier) {
      const outcome = `${a.status}/${a.kind ?? '-'}`;
      stats.earlierByOutcome[outcome] = (stats.earlierByOutcome[outcome] ?? 0) + 1;
    }
    const bad = earlier.filter((a) => a.status !== 'FAILED' || a.kind === null || !EXPLAINED_KINDS.has(a.kind));
    if (bad.length === 0) {
      stats.explained++;
      continue;
    }
    stats.unexplained++;
    unexplained.push(...bad);
    const why = bad.map((a) => `attempt ${a.number} on ${a.workerId} (${span(a)}${context(a)}) ended ${a.status}/${a.kind ?? '-'}: ${a.message ?? ''}`).join('; ');
    violations.push({ check: 'unexplained-duplicate', taskId: t.id, detail: `${t.type} ran ${list.length} times; ${why}` });
  }
  return { stats, violations, unexplained };
}

/** "16:21:00.912–16:21:06.031 epoch 2": when an attempt ran, wall clock UTC. */
function span(a: AttemptRow): string {
  const t = (ms: number | null): string => (ms === null ? '?' : new Date(ms).toISOString().slice(11, 23));
  return `${t(a.startedAt)}–${t(a.endedAt)} epoch ${a.epoch}`;
}

function historyViolations(t: TaskRow, list: AttemptRow[]): Violation[] {
  const out: Violation[] = [];
  const numbers = list.map((a) => a.number).join(',');
  if (list.length !== t.attempt || list.some((a, i) => a.number !== i + 1)) {
    out.push({ check: 'attempt-history', taskId: t.id, detail: `tasks.attempt is ${t.attempt} but the attempts are [${numbers}]` });
  }
  const succeeded = list.filter((a) => a.status === 'SUCCEEDED');
  if (succeeded.length > 1) {
    out.push({ check: 'double-success', taskId: t.id, detail: `attempts ${succeeded.map((a) => a.number).join(', ')} all SUCCEEDED` });
  }
  if (t.status === 'SUCCEEDED' && list.at(-1)?.status !== 'SUCCEEDED') {
    out.push({ check: 'attempt-history', taskId: t.id, detail: `task SUCCEEDED but its last attempt is ${list.at(-1)?.status ?? 'missing'}` });
  }
  return out;
}
