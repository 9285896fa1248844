import { create } from '@bufbuild/protobuf';
import {
  MisfirePolicy as PbMisfire, OverlapPolicy as PbOverlap, ScheduleFireSchema, ScheduleSchema, type Schedule as PbSchedule,
  type ScheduleFire as PbFire,
} from '../../../gen/taskd/v1/schedule_service_pb.js';
import { TaskSpecSchema, type TaskSpec } from '../../../gen/taskd/v1/task_pb.js';
import { FailurePolicy as PbFailurePolicy, WorkflowSpecSchema, type WorkflowSpec } from '../../../gen/taskd/v1/workflow_service_pb.js';
import type { ScheduleView } from '../../api/schedule-api.js';
import { DomainError } from '../../domain/errors.js';
import type { MisfirePolicy, OverlapPolicy, ScheduleSpecInput, ScheduleTemplate } from '../../domain/schedule.js';
import type { TaskSpecInput } from '../../domain/task-spec.js';
import type { WorkflowSpecInput } from '../../domain/workflow.js';
import type { FireOutcome } from '../../storage/schedule-fire.js';
import { dateOf, durationOf, msOf, timestampOf, valueOf } from './json.js';
import { specFromPb } from './task.js';
import { workflowSpecFromPb } from './workflow.js';

const MISFIRE: Record<MisfirePolicy, PbMisfire> = { SKIP: PbMisfire.SKIP, FIRE_ONCE: PbMisfire.FIRE_ONCE, FIRE_ALL: PbMisfire.FIRE_ALL };
const OVERLAP: Record<OverlapPolicy, PbOverlap> = {
  ALLOW: PbOverlap.ALLOW, SKIP_IF_RUNNING: PbOverlap.SKIP_IF_RUNNING, CANCEL_PREVIOUS: PbOverlap.CANCEL_PREVIOUS,
};

/** The domain value of a protobuf enum number; undefined for UNSPECIFIED; `invalid` naming `field` for unknown numbers. */
function enumFromPb<D extends string>(map: Record<D, number>, n: number, field: string): D | undefined {
  if (n === 0) return undefined;
  const d = (Object.keys(map) as D[]).find((k) => map[k] === n);
  if (!d) throw DomainError.invalid([{ field, description: `${n} is not one of ${Object.keys(map).join(', ')}` }]);
  return d;
}

/** A schedule as the client wrote it, for the domain validator; output-only fields are ignored. */
export function scheduleSpecFromPb(s: PbSchedule | undefined): ScheduleSpecInput {
  if (!s) return {};
  let template: ScheduleTemplate | undefined;
  if (s.template.case === 'task') template = { kind: 'task', task: specFromPb(s.template.value) };
  else if (s.template.case === 'workflow') template = { kind: 'workflow', workflow: workflowSpecFromPb(s.template.value) };
  return {
    namespace: s.namespace, name: s.name, cron: s.cron, timeZone: s.timeZone, template,
    misfirePolicy: enumFromPb(MISFIRE, s.misfirePolicy, 'schedule.misfire_policy'),
    misfireCap: s.misfireCap, misfireGraceMs: msOf(s.misfireGrace),
    overlapPolicy: enumFromPb(OVERLAP, s.overlapPolicy, 'schedule.overlap_policy'),
    startAt: dateOf(s.startAt), endAt: dateOf(s.endAt), paused: s.paused,
  };
}

/** A stored template task as the TaskSpec it was submitted as. */
export function taskSpecToPb(t: TaskSpecInput): TaskSpec {
  const rp = t.retryPolicy;
  return create(TaskSpecSchema, {
    namespace: t.namespace ?? '', type: t.type ?? '', queue: t.queue ?? '',
    payload: t.payload === undefined ? undefined : valueOf(t.payload), priority: t.priority ?? 0,
    start: t.delayMs !== undefined ? { case: 'delay', value: durationOf(t.delayMs)! } : { case: undefined },
    retryPolicy: rp
      ? {
          maxAttempts: rp.maxAttempts, initialBackoff: durationOf(rp.initialBackoffMs), maxBackoff: durationOf(rp.maxBackoffMs),
          multiplier: rp.multiplier ?? 0, jitter: rp.jitter,
        }
      : undefined,
    timeout: durationOf(t.timeoutMs), labels: t.labels ?? {},
    notify: t.notify ? { webhookUrl: t.notify.webhookUrl ?? '', email: t.notify.email ?? '' } : undefined,
  });
}

function workflowSpecToPb(w: WorkflowSpecInput): WorkflowSpec {
  return create(WorkflowSpecSchema, {
    namespace: w.namespace ?? '', name: w.name ?? '',
    failurePolicy: w.failurePolicy === 'CONTINUE' ? PbFailurePolicy.CONTINUE : w.failurePolicy === 'FAIL_FAST' ? PbFailurePolicy.FAIL_FAST : PbFailurePolicy.UNSPECIFIED,
    tasks: w.tasks.map((t) => ({ name: t.name, dependsOn: t.dependsOn, task: t.task ? taskSpecToPb(t.task) : undefined })),
  });
}

/** A schedule as read back over the API. */
export function scheduleToPb(s: ScheduleView): PbSchedule {
  return create(ScheduleSchema, {
    id: s.id, namespace: s.namespace, name: s.name, cron: s.cron, timeZone: s.timeZone,
    template: s.template.kind === 'task'
      ? { case: 'task', value: taskSpecToPb(s.template.task) }
      : { case: 'workflow', value: workflowSpecToPb(s.template.workflow) },
    misfirePolicy: MISFIRE[s.misfirePolicy], misfireCap: s.misfireCap, misfireGrace: durationOf(s.misfireGraceMs),
    overlapPolicy: OVERLAP[s.overlapPolicy], startAt: timestampOf(s.startAt), endAt: timestampOf(s.endAt), paused: s.paused,
    nextFireTimes: s.nextFireTimes.map((d) => timestampOf(d)!), lastFireAt: timestampOf(s.lastFireAt),
    lastTaskId: s.lastTaskId ?? '', lastWorkflowId: s.lastWorkflowId ?? '', version: BigInt(s.version),
    createdAt: timestampOf(s.createdAt), updatedAt: timestampOf(s.updatedAt),
  });
}

/** One fire as TriggerSchedule answers it. */
export function fireToPb(f: FireOutcome): PbFire {
  return create(ScheduleFireSchema, {
    id: f.id, fireAt: timestampOf(f.fireAt), manual: f.manual, taskId: f.taskId ?? '', workflowId: f.workflowId ?? '',
    skippedReason: f.skippedReason ?? '',
  });
}
