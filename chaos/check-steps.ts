import type { AttemptRow, TaskRow } from './collect.js';
import type { Violation } from './violation.js';

/** How retried `steps` tasks resumed. */
export interface StepsStats {
  /** SUCCEEDED steps tasks. */
  succeeded: number;
  /** Of those, dispatched more than once. */
  retried: number;
  /** Retried ones whose earlier attempts had (at least) stored a checkpoint. */
  checkpointedBeforeRetry: number;
  /** Retried ones whose last attempt started from a checkpoint (output.resumedFrom > 0). */
  resumed: number;
  /** Retried ones whose earlier attempts stored no checkpoint, so starting at 0 was right. */
  restartedFromZero: number;
}

interface StepsOutput {
  steps: number;
  resumedFrom: number;
}

function stepsOutput(v: unknown): StepsOutput | undefined {
  const o = v as Partial<StepsOutput> | null;
  return o && typeof o.steps === 'number' && typeof o.resumedFrom === 'number' ? { steps: o.steps, resumedFrom: o.resumedFrom } : undefined;
}

/**
 * Checkpoints resume work. The `steps` handler stores `{ step }` after each of its n
 * steps; checkpoints are fenced by lease token, so only the current attempt stores
 * any, and with correct resumption every step is checkpointed at most once: a
 * checkpoint version above n means a step ran again after its checkpoint was stored.
 * (Below n is possible: a checkpoint whose answer was lost is skipped.) A successful
 * last attempt stored at most n - resumedFrom checkpoints, so the earlier attempts
 * stored at least version - (n - resumedFrom); if that is positive, the last attempt
 * must have resumed (resumedFrom > 0).
 */
export function checkSteps(tasks: TaskRow[], byTask: Map<string, AttemptRow[]>): { stats: StepsStats; violations: Violation[] } {
  const stats: StepsStats = { succeeded: 0, retried: 0, checkpointedBeforeRetry: 0, resumed: 0, restartedFromZero: 0 };
  const violations: Violation[] = [];
  for (const t of tasks) {
    if (t.type !== 'steps' || t.status !== 'SUCCEEDED') continue;
    stats.succeeded++;
    const out = stepsOutput(t.output);
    if (!out) {
      violations.push({ check: 'steps-output', taskId: t.id, detail: `output is not { steps, resumedFrom }: ${JSON.stringify(t.output)}` });
      continue;
    }
    const earlierCheckpoints = t.checkpointVersion - (out.steps - out.resumedFrom);
    if (t.checkpointVersion > out.steps) {
      violations.push({
        check: 'steps-redone', taskId: t.id,
        detail: `${out.steps} steps but checkpoint version ${t.checkpointVersion} (resumedFrom ${out.resumedFrom}): a step ran again after its checkpoint was stored`,
      });
    }
    if ((byTask.get(t.id)?.length ?? 0) < 2) continue;
    stats.retried++;
    if (out.resumedFrom > 0) stats.resumed++;
    if (earlierCheckpoints > 0 || out.resumedFrom > 0) stats.checkpointedBeforeRetry++;
    else stats.restartedFromZero++;
    if (earlierCheckpoints > 0 && out.resumedFrom === 0) {
      violations.push({ check: 'steps-not-resumed', taskId: t.id, detail: `earlier attempts stored ${earlierCheckpoints} checkpoint(s) but the last one started at 0` });
    }
  }
  return { stats, violations };
}
