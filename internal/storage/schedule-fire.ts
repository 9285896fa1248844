import { sql } from 'drizzle-orm';
import { v7 as uuidv7 } from 'uuid';
import { DomainError } from '../domain/errors.js';
import { scheduledRun, type ScheduledRun } from '../domain/schedule-plan.js';
import { withOrigin, type TaskOrigin } from '../domain/task.js';
import type { Schedule, ScheduleLimits } from '../domain/schedule.js';
import { rows, type Executor } from './db.js';
import { scheduleFireInsert } from './schedule-store.js';
import { taskCancel } from './task-mutations.js';
import { taskInsertMany } from './task-store.js';
import { workflowCancel, workflowInsert } from './workflow-store.js';

/** What one fire did, and what the leader must be told after the commit. */
export interface FireOutcome {
  id: string;
  fireAt: Date;
  manual: boolean;
  /** False when this fire time was already recorded: nothing was created. */
  recorded: boolean;
  taskId: string | null;
  workflowId: string | null;
  /** Why no run was created (overlap policy, invalid template); null when one was. */
  skippedReason: string | null;
  readyQueues: string[];
  /** Earliest run_at of a delayed task it created (ms), or null. */
  dueAtMs: number | null;
  /** Running attempts cancelled by CANCEL_PREVIOUS; their workers must be told. */
  cancelled: { taskId: string; attempt: number }[];
}

/**
 * Fires `schedule` for instant `fireAt` in the caller's transaction: records the fire
 * and creates its run, or records why not. The fire row goes first, `on conflict do
 * nothing`: when the time is already recorded nothing else happens, so a fire time can
 * never get two runs. The overlap policy applies to scheduled fires only (a manual fire
 * always runs). The caller updates the schedule's cursor and last run. The run's tasks
 * get `origin` (a manual fire's request); without a correlation id, the fire's own id.
 */
export async function scheduleFire(
  ex: Executor,
  p: { schedule: Schedule; fireAt: Date; manual: boolean; epoch: number; limits: ScheduleLimits; now: Date; origin?: TaskOrigin },
): Promise<FireOutcome> {
  const s = p.schedule;
  const id = uuidv7();
  const active = !p.manual && s.overlapPolicy !== 'ALLOW' && (await previousRunActive(ex, s));
  let run: ScheduledRun | undefined;
  let skippedReason: string | null = null;
  if (active && s.overlapPolicy === 'SKIP_IF_RUNNING') skippedReason = 'the previous run has not ended (SKIP_IF_RUNNING)';
  else {
    try {
      run = scheduledRun(s, { id, at: p.fireAt, manual: p.manual }, p.limits, p.now.getTime());
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      skippedReason = `the template is no longer valid: ${e.message}`;
    }
  }
  const taskId = run?.kind === 'task' ? run.task.id : null;
  const workflowId = run?.kind === 'workflow' ? run.id : null;
  const out: FireOutcome = {
    id, fireAt: p.fireAt, manual: p.manual, recorded: false, taskId, workflowId, skippedReason, readyQueues: [], dueAtMs: null, cancelled: [],
  };
  out.recorded = await scheduleFireInsert(ex, {
    id, scheduleId: s.id, fireAt: p.fireAt, manual: p.manual, taskId, workflowId, skippedReason, epoch: p.epoch, now: p.now,
  });
  if (!out.recorded || !run) return out;
  if (active && s.overlapPolicy === 'CANCEL_PREVIOUS') out.cancelled = await cancelPrevious(ex, s, p.fireAt, p.now);
  await insertRun(ex, run, p.now, { correlationId: p.origin?.correlationId ?? id, traceContext: p.origin?.traceContext ?? null }, out);
  return out;
}

async function insertRun(ex: Executor, run: ScheduledRun, now: Date, origin: TaskOrigin, out: FireOutcome): Promise<void> {
  if (run.kind === 'task') {
    const [r] = await taskInsertMany(ex, { tasks: withOrigin([run.task], origin), now });
    if (r?.task.status === 'QUEUED') out.readyQueues = [r.task.queue];
    else if (r?.task.runAt) out.dueAtMs = r.task.runAt.getTime();
    return;
  }
  await workflowInsert(ex, { id: run.id, wf: run.workflow, now, origin });
  const roots = run.workflow.tasks.filter((t) => t.dependsOn.length === 0);
  out.readyQueues = [...new Set(roots.filter((t) => !t.task.runAt).map((t) => t.task.queue))];
  const due = roots.filter((t) => t.task.runAt).map((t) => (t.task.runAt as Date).getTime());
  out.dueAtMs = due.length > 0 ? Math.min(...due) : null;
}

/** True while the schedule's latest run (task or workflow) has not ended. */
async function previousRunActive(ex: Executor, s: Schedule): Promise<boolean> {
  if (s.lastTaskId) {
    const [t] = await rows<{ status: string }>(ex, sql`select status from tasks where id = ${s.lastTaskId}`);
    return !!t && ['PENDING', 'QUEUED', 'RUNNING'].includes(t.status);
  }
  if (s.lastWorkflowId) {
    const [w] = await rows<{ finished_at: Date | string | null }>(ex, sql`select finished_at from workflows where id = ${s.lastWorkflowId}`);
    return !!w && w.finished_at === null;
  }
  return false;
}

/** Cancels the schedule's latest run; returns the running attempts that were cancelled. */
async function cancelPrevious(ex: Executor, s: Schedule, fireAt: Date, now: Date): Promise<{ taskId: string; attempt: number }[]> {
  const reason = `cancelled by schedule ${s.name}: superseded by the fire at ${fireAt.toISOString()} (CANCEL_PREVIOUS)`;
  if (s.lastTaskId) {
    const c = await taskCancel(ex, { namespace: s.namespace, id: s.lastTaskId, reason, now });
    if (c.kind !== 'cancelled') return [];
    return [...(c.wasRunning ? [{ taskId: s.lastTaskId, attempt: c.attempt }] : []), ...(c.propagation?.cancelled ?? [])];
  }
  if (s.lastWorkflowId) return (await workflowCancel(ex, { namespace: s.namespace, id: s.lastWorkflowId, reason, now })) ?? [];
  return [];
}
