import { MisfirePolicy, OverlapPolicy, type Schedule, type ScheduleFire } from '../../../gen/taskd/v1/schedule_service_pb.js';
import { renderFields, renderTable, truncate } from '../table.js';
import { durationText, jsonText, labelsText, timeText } from './format.js';

/** What a schedule's fires create: `task noop` or `workflow nightly (3 tasks)`. */
export function templateText(s: Schedule): string {
  if (s.template.case === 'task') return `task ${s.template.value.type}`;
  if (s.template.case === 'workflow') return `workflow ${s.template.value.name || '(unnamed)'} (${s.template.value.tasks.length} tasks)`;
  return '';
}

/** Schedules as a table: ID, NAME, CRON, TZ, STATE, NEXT FIRE, CREATES. */
export function schedulesTable(list: Schedule[]): string {
  return renderTable(
    ['ID', 'NAME', 'CRON', 'TZ', 'STATE', 'NEXT FIRE', 'CREATES'],
    list.map((s) => [s.id, s.name, s.cron, s.timeZone || 'UTC', s.paused ? 'paused' : 'active', timeText(s.nextFireTimes[0]), templateText(s)]),
    'No schedules.',
  );
}

/** One schedule: its fields, template and next fire times. */
export function scheduleDetails(s: Schedule): string {
  const t = s.template.case === 'task' ? s.template.value : undefined;
  return renderFields([
    ['ID', s.id],
    ['Name', s.name],
    ['Namespace', s.namespace],
    ['Cron', s.cron],
    ['Time zone', s.timeZone || 'UTC'],
    ['State', s.paused ? 'paused' : 'active'],
    ['Creates', templateText(s)],
    ['Queue', t?.queue],
    ['Payload', t ? truncate(jsonText(t.payload), 500) : undefined],
    ['Labels', t ? labelsText(t.labels) : undefined],
    ['Misfire policy', s.misfirePolicy ? MisfirePolicy[s.misfirePolicy] : ''],
    ['Misfire cap', s.misfireCap ? String(s.misfireCap) : ''],
    ['Misfire grace', durationText(s.misfireGrace)],
    ['Overlap policy', s.overlapPolicy ? OverlapPolicy[s.overlapPolicy] : ''],
    ['Start at', timeText(s.startAt)],
    ['End at', timeText(s.endAt)],
    ['Next fires', s.nextFireTimes.map(timeText).join(', ')],
    ['Last fire', timeText(s.lastFireAt)],
    ['Last task', s.lastTaskId],
    ['Last workflow', s.lastWorkflowId],
    ['Version', String(s.version)],
    ['Created', timeText(s.createdAt)],
    ['Updated', timeText(s.updatedAt)],
  ]);
}

/** A fire as one line: `fired 2026-…Z → task <id>` or the reason it created nothing. */
export function fireText(f: ScheduleFire | undefined): string {
  if (!f) return '';
  const what = f.taskId ? `task ${f.taskId}` : f.workflowId ? `workflow ${f.workflowId}` : `no run (${f.skippedReason})`;
  return `fired ${timeText(f.fireAt)}${f.manual ? ' (manual)' : ''} → ${what}`;
}
