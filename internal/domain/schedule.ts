import { CronError, CronSchedule } from './cron-schedule.js';
import { TimeZone } from './time-zone.js';
import { DomainError, type FieldViolation } from './errors.js';
import { DEFAULT_LIMITS, validateTaskSpec, type TaskSpecInput } from './task-spec.js';
import { validateWorkflow, type WorkflowLimits, type WorkflowSpecInput } from './workflow.js';

/** What to do with fires that came due while no leader ran (see docs/schedules.md). */
export type MisfirePolicy = 'SKIP' | 'FIRE_ONCE' | 'FIRE_ALL';
/** What a fire does while the schedule's previous run has not ended. */
export type OverlapPolicy = 'ALLOW' | 'SKIP_IF_RUNNING' | 'CANCEL_PREVIOUS';

/** What each fire creates: one task, or one workflow. */
export type ScheduleTemplate = { kind: 'task'; task: TaskSpecInput } | { kind: 'workflow'; workflow: WorkflowSpecInput };

/** A schedule as the RPC edge hands it over; unset = undefined. */
export interface ScheduleSpecInput {
  namespace?: string;
  name?: string;
  cron?: string;
  timeZone?: string;
  template?: ScheduleTemplate;
  misfirePolicy?: MisfirePolicy;
  misfireCap?: number;
  misfireGraceMs?: number;
  overlapPolicy?: OverlapPolicy;
  startAt?: Date;
  endAt?: Date;
  paused?: boolean;
}

/** A validated schedule definition, every default filled in. */
export interface ScheduleDef {
  namespace: string;
  name: string;
  cron: string;
  timeZone: string;
  template: ScheduleTemplate;
  misfirePolicy: MisfirePolicy;
  /** FIRE_ALL: the most missed fires run in one catch-up. */
  misfireCap: number;
  /** A fire later than this when the leader reaches it counts as missed. */
  misfireGraceMs: number;
  overlapPolicy: OverlapPolicy;
  startAt: Date | null;
  endAt: Date | null;
}

/** A stored schedule. */
export interface Schedule extends ScheduleDef {
  id: string;
  paused: boolean;
  version: number;
  /** Every fire at or before this instant has been decided (run or skipped). */
  cursorAt: Date;
  /** The first fire after the cursor; null when paused or finished. */
  nextFireAt: Date | null;
  /** The latest fire that created a run (scheduled or manual). */
  lastFireAt: Date | null;
  lastTaskId: string | null;
  lastWorkflowId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Bounds and defaults for schedules, on top of those for their templates. */
export interface ScheduleLimits extends WorkflowLimits {
  /** misfire_grace when a schedule sets none. */
  defaultMisfireGraceMs: number;
}

/** Defaults matching the config defaults, for components built without a config. */
export const DEFAULT_SCHEDULE_LIMITS: ScheduleLimits = {
  ...DEFAULT_LIMITS, maxTasks: 10_000, maxEdges: 100_000, defaultMisfireGraceMs: 60_000,
};

/** misfire_cap of a FIRE_ALL schedule that sets none. */
export const DEFAULT_MISFIRE_CAP = 100;
/** The largest misfire_cap: one catch-up creates at most this many runs. */
export const MAX_MISFIRE_CAP = 1000;
const MAX_GRACE_MS = 7 * 86_400_000;
const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Checks a schedule and fills in defaults (UTC, FIRE_ONCE, ALLOW, cap 100, the configured
 * grace). `path` prefixes every field named in an error ("schedule"). Throws DomainError
 * `invalid` listing every violation: a bad cron expression, an unknown time zone, end_at
 * not after start_at, a template that is no valid task or workflow.
 */
export function validateSchedule(input: ScheduleSpecInput, path: string, limits: ScheduleLimits, now: number): ScheduleDef {
  const v: FieldViolation[] = [];
  const bad = (field: string, description: string): void => void v.push({ field: `${path}.${field}`, description });
  const namespace = input.namespace || 'default';
  if (!NAMESPACE.test(namespace)) bad('namespace', 'must be 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit');
  const name = input.name ?? '';
  if (name === '') bad('name', 'is required');
  else if (!NAME.test(name)) bad('name', 'must be 1-128 of A-Z, a-z, 0-9, "_", ".", ":" or "-"');
  const cron = (input.cron ?? '').trim().replace(/\s+/g, ' ');
  const timeZone = input.timeZone || 'UTC';
  const zoneOk = TimeZone.isValid(timeZone);
  if (!zoneOk) bad('time_zone', `"${timeZone}" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")`);
  // With an unknown zone the expression is still checked (in UTC), so both errors show.
  if (cron === '') bad('cron', 'is required');
  else checkCron(cron, zoneOk ? timeZone : 'UTC', now, bad);
  const misfirePolicy = input.misfirePolicy ?? 'FIRE_ONCE';
  const misfireCap = input.misfireCap || (misfirePolicy === 'FIRE_ALL' ? DEFAULT_MISFIRE_CAP : 0);
  if (misfirePolicy !== 'FIRE_ALL' && misfireCap !== 0) bad('misfire_cap', 'applies only to misfire_policy FIRE_ALL');
  else if (!Number.isInteger(misfireCap) || misfireCap < 0 || misfireCap > MAX_MISFIRE_CAP) bad('misfire_cap', `must be from 1 to ${MAX_MISFIRE_CAP}`);
  const misfireGraceMs = input.misfireGraceMs ?? limits.defaultMisfireGraceMs;
  if (!(misfireGraceMs >= 1000 && misfireGraceMs <= MAX_GRACE_MS)) bad('misfire_grace', 'must be from 1 s to 7 days');
  const startAt = input.startAt ?? null;
  const endAt = input.endAt ?? null;
  if (startAt && Number.isNaN(startAt.getTime())) bad('start_at', 'is not a valid timestamp');
  if (endAt && Number.isNaN(endAt.getTime())) bad('end_at', 'is not a valid timestamp');
  else if (startAt && endAt && endAt.getTime() <= startAt.getTime()) bad('end_at', 'must be after start_at');
  if (!input.template) bad('template', 'is required: set task or workflow');
  else v.push(...checkTemplate(input.template, namespace, path, limits, now));
  if (v.length > 0) throw DomainError.invalid(v);
  return {
    namespace, name, cron, timeZone, template: input.template as ScheduleTemplate, misfirePolicy, misfireCap, misfireGraceMs,
    overlapPolicy: input.overlapPolicy ?? 'ALLOW', startAt, endAt,
  };
}

function checkCron(cron: string, timeZone: string, now: number, bad: (field: string, description: string) => void): void {
  try {
    if (CronSchedule.of(cron, timeZone).next(now) === undefined) bad('cron', 'never fires within the next ten years');
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    bad(e.field, e.message);
  }
}

/** Violations of a template: it must be a valid task or workflow, in the schedule's namespace, without run_at or idempotency keys. */
function checkTemplate(t: ScheduleTemplate, namespace: string, path: string, limits: ScheduleLimits, now: number): FieldViolation[] {
  const v: FieldViolation[] = [];
  const specs = t.kind === 'task' ? [{ at: `${path}.task`, spec: t.task }]
    : t.workflow.tasks.map((x, i) => ({ at: `${path}.workflow.tasks[${i}].task`, spec: x.task ?? {} }));
  for (const { at, spec } of specs) {
    if (spec.namespace && spec.namespace !== namespace) v.push({ field: `${at}.namespace`, description: `must be empty or the schedule's namespace "${namespace}"` });
    if (spec.runAt !== undefined) v.push({ field: `${at}.run_at`, description: 'is not allowed in a schedule template; use delay (counted from each fire)' });
    if (spec.idempotencyKey) v.push({ field: `${at}.idempotency_key`, description: 'is set by the schedule for each fire' });
  }
  try {
    if (t.kind === 'task') validateTaskSpec({ ...t.task, namespace }, `${path}.task`, limits, now);
    else validateWorkflow({ ...t.workflow, namespace }, limits, now);
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    const prefix = t.kind === 'workflow' ? `${path}.` : '';
    v.push(...e.violations.map((x) => ({ field: `${prefix}${x.field}`, description: x.description })));
  }
  return v;
}
