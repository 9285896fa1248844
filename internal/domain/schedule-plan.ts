import { v7 as uuidv7 } from 'uuid';
import type { CronSchedule } from './cron-schedule.js';
import type { ScheduleDef, ScheduleLimits } from './schedule.js';
import { validateTaskSpec } from './task-spec.js';
import type { NewTask } from './task.js';
import { validateWorkflow, type NewWorkflow } from './workflow.js';

/** The timing part of a schedule that planning reads. */
export type ScheduleTiming = Pick<ScheduleDef, 'startAt' | 'endAt' | 'misfirePolicy' | 'misfireCap' | 'misfireGraceMs'>;

/** What one pass decided for a schedule. */
export interface FirePlan {
  /** Fire instants (ms) to run now, ascending. */
  runs: number[];
  /** The new cursor: every fire at or before it is decided. */
  cursor: number;
  /** Missed fires the misfire policy dropped: their range, else null. */
  dropped: { after: number; until: number } | null;
}

/**
 * Decides the fires due at `now` for a schedule whose fires up to `cursor` are decided.
 * Due = the fires in (cursor, now] within [start_at, end_at]. A due fire earlier than
 * now - misfire_grace is missed; later ones are on time and always run. Missed fires:
 * SKIP runs none; FIRE_ONCE runs one, for the latest missed instant; FIRE_ALL runs each,
 * but at most misfire_cap, the latest ones. At most `maxRuns` on-time fires per pass; the
 * cursor then stops at the last of them, so the next pass continues there.
 */
export function planFires(cron: CronSchedule, s: ScheduleTiming, cursor: number, now: number, maxRuns = 1000): FirePlan {
  const after = Math.max(cursor, (s.startAt?.getTime() ?? -Infinity) - 1);
  const until = Math.min(now, s.endAt?.getTime() ?? Infinity);
  if (until <= after) return { runs: [], cursor: Math.max(cursor, Math.min(now, until)), dropped: null };
  const missedUntil = Math.min(until, now - s.misfireGraceMs - 1);
  const onTime = cron.between(Math.max(after, missedUntil), until, maxRuns);
  const full = onTime.length >= maxRuns;
  const newCursor = full ? (onTime[onTime.length - 1] as number) : until;
  const firstMissed = missedUntil > after ? cron.between(after, missedUntil, 1)[0] : undefined;
  if (firstMissed === undefined) return { runs: onTime, cursor: newCursor, dropped: null };
  const keep = s.misfirePolicy === 'SKIP' ? 0 : s.misfirePolicy === 'FIRE_ONCE' ? 1 : s.misfireCap;
  const missed = cron.latest(after, missedUntil, keep);
  const firstKept = missed[0];
  const dropped = firstKept === firstMissed ? null : { after, until: (firstKept ?? missedUntil + 1) - 1 };
  return { runs: [...missed, ...onTime], cursor: newCursor, dropped };
}

/** The first fire after `cursor` within [start_at, end_at], or null when there is none. */
export function nextFireAt(cron: CronSchedule, s: Pick<ScheduleDef, 'startAt' | 'endAt'>, cursor: number): Date | null {
  const after = Math.max(cursor, (s.startAt?.getTime() ?? -Infinity) - 1);
  const t = cron.next(after);
  if (t === undefined || (s.endAt && t > s.endAt.getTime())) return null;
  return new Date(t);
}

/** The next `n` fires after `after` within [start_at, end_at]. */
export function upcomingFires(cron: CronSchedule, s: Pick<ScheduleDef, 'startAt' | 'endAt'>, after: number, n: number): Date[] {
  const from = Math.max(after, (s.startAt?.getTime() ?? -Infinity) - 1);
  const until = s.endAt?.getTime() ?? from + 10 * 366 * 86_400_000;
  return cron.between(from, until, n).map((t) => new Date(t));
}

/** One fire's run, ready to insert. */
export type ScheduledRun = { kind: 'task'; task: NewTask } | { kind: 'workflow'; id: string; workflow: NewWorkflow };

/**
 * Builds the run for one fire from the schedule's template, with fresh ids; a delay in
 * the template counts from `now`. Every task gets the idempotency key
 * `schedule:<id>:<fire instant>` (manual fires: `schedule:<id>:manual:<fire id>`), so a
 * handler can deduplicate per fire. Throws DomainError `invalid` when the template no
 * longer passes validation under `limits`.
 */
export function scheduledRun(
  s: Pick<ScheduleDef, 'namespace' | 'name' | 'template'> & { id: string },
  fire: { id: string; at: Date; manual: boolean },
  limits: ScheduleLimits,
  now: number,
): ScheduledRun {
  const key = fire.manual ? `schedule:${s.id}:manual:${fire.id}` : `schedule:${s.id}:${fire.at.toISOString()}`;
  const t = s.template;
  if (t.kind === 'task') {
    return { kind: 'task', task: validateTaskSpec({ ...t.task, namespace: s.namespace, idempotencyKey: key }, 'schedule.task', limits, now) };
  }
  const wf = validateWorkflow({
    ...t.workflow, namespace: s.namespace, name: t.workflow.name || s.name,
    tasks: t.workflow.tasks.map((x) => ({ ...x, task: { ...x.task, namespace: s.namespace, idempotencyKey: `${key}:${x.name}` } })),
  }, limits, now);
  return { kind: 'workflow', id: uuidv7(), workflow: wf };
}
