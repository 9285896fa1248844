import { clone, create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate, type Value } from '@bufbuild/protobuf/wkt';
import type { Command } from 'commander';
import { MisfirePolicy, OverlapPolicy, ScheduleSchema, type Schedule } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskSpecSchema } from '../../gen/taskd/v1/task_pb.js';
import type { WorkflowSpec } from '../../gen/taskd/v1/workflow_service_pb.js';
import { parseEnumName, parseInteger } from './arg-parsers.js';
import { usageError } from './cli-error.js';
import { parseDuration, parseTime } from './duration.js';
import { addTaskSpecFlags, applyTaskSpecFlags, hasTaskSpecFlags, type TaskSpecFlags } from './task-spec-flags.js';

/** The flags of `schedules create` and `schedules update`. */
export interface ScheduleFlags extends TaskSpecFlags {
  name?: string;
  cron?: string;
  tz?: string;
  taskType?: string;
  workflowFile?: string;
  misfirePolicy?: string;
  misfireCap?: string;
  misfireGrace?: string;
  overlapPolicy?: string;
  startAt?: string;
  endAt?: string;
}

/** Adds the schedule flags, including the template's task flags, to `cmd`. */
export function addScheduleFlags(cmd: Command): Command {
  cmd
    .option('--name <name>', 'unique name in the namespace')
    .option('--cron <expr>', 'cron expression, 5 fields (or 6 with seconds first)')
    .option('--tz <zone>', 'IANA time zone the expression is read in (default UTC)')
    .option('--task-type <type>', 'each fire submits a task of this type (task flags below)')
    .option('--workflow-file <path>', 'each fire submits this workflow (YAML/JSON WorkflowSpec)')
    .option('--misfire-policy <policy>', 'skip, fire-once (default) or fire-all')
    .option('--misfire-cap <n>', 'fire-all: most missed fires run in one catch-up')
    .option('--misfire-grace <duration>', 'a fire reached later than this is missed (default 60s)')
    .option('--overlap-policy <policy>', 'allow (default), skip-if-running or cancel-previous')
    .option('--start-at <time>', 'no fire before this ISO 8601 time')
    .option('--end-at <time>', 'no fire after this ISO 8601 time');
  return addTaskSpecFlags(cmd, false);
}

/**
 * Applies the given flags to a copy of `base` and returns it with the update mask
 * naming what changed (proto field names). Task flags edit the base's task template
 * (or start one with `--task-type`); `workflow` is the parsed `--workflow-file`.
 * Throws a usage error for a value that does not parse or a task flag without a task
 * template.
 */
export function applyScheduleFlags(base: Schedule, f: ScheduleFlags, payload: Value | undefined, workflow: WorkflowSpec | undefined): { schedule: Schedule; mask: string[] } {
  const s = clone(ScheduleSchema, base);
  const mask: string[] = [];
  const set = <K extends keyof Schedule>(field: string, key: K, value: Schedule[K]): void => {
    s[key] = value;
    mask.push(field);
  };
  if (f.name !== undefined) set('name', 'name', f.name);
  if (f.cron !== undefined) set('cron', 'cron', f.cron);
  if (f.tz !== undefined) set('time_zone', 'timeZone', f.tz);
  if (f.misfirePolicy !== undefined) set('misfire_policy', 'misfirePolicy', parseEnumName(f.misfirePolicy, MisfirePolicy, 'MISFIRE_POLICY', '--misfire-policy'));
  if (f.misfireCap !== undefined) set('misfire_cap', 'misfireCap', parseInteger(f.misfireCap, '--misfire-cap'));
  if (f.misfireGrace !== undefined) set('misfire_grace', 'misfireGrace', durationFromMs(parseDuration(f.misfireGrace, '--misfire-grace')));
  if (f.overlapPolicy !== undefined) set('overlap_policy', 'overlapPolicy', parseEnumName(f.overlapPolicy, OverlapPolicy, 'OVERLAP_POLICY', '--overlap-policy'));
  if (f.startAt !== undefined) set('start_at', 'startAt', timestampFromDate(parseTime(f.startAt, '--start-at')));
  if (f.endAt !== undefined) set('end_at', 'endAt', timestampFromDate(parseTime(f.endAt, '--end-at')));
  if (workflow !== undefined && (f.taskType !== undefined || hasTaskSpecFlags(f))) {
    throw usageError('--workflow-file cannot be combined with --task-type or task flags');
  }
  if (workflow !== undefined) set('workflow', 'template', { case: 'workflow', value: workflow });
  if (f.taskType !== undefined || hasTaskSpecFlags(f) || payload !== undefined) {
    const task = s.template.case === 'task' ? s.template.value : f.taskType !== undefined ? create(TaskSpecSchema) : undefined;
    if (!task) throw usageError('task flags need a task template: give --task-type');
    if (f.taskType !== undefined) task.type = f.taskType;
    applyTaskSpecFlags(task, f, payload);
    set('task', 'template', { case: 'task', value: task });
  }
  return { schedule: s, mask };
}
