import { create, toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ScheduleSchema } from '../../gen/taskd/v1/schedule_service_pb.js';
import { WorkflowSpecSchema } from '../../gen/taskd/v1/workflow_service_pb.js';
import { applyScheduleFlags } from './schedule-flags.js';
import { valueOfJson } from './task-spec-flags.js';

describe('schedule flags', () => {
  it('create: flags build the schedule and its task template', () => {
    const { schedule, mask } = applyScheduleFlags(create(ScheduleSchema), {
      name: 'nightly', cron: '30 2 * * *', tz: 'Europe/Berlin', taskType: 'report', maxAttempts: '5', misfirePolicy: 'fire-all',
      misfireCap: '10', misfireGrace: '5m', overlapPolicy: 'skip-if-running', endAt: '2030-01-01T00:00:00Z',
    }, valueOfJson({ kind: 'daily' }), undefined);
    expect(toJson(ScheduleSchema, schedule)).toEqual({
      name: 'nightly', cron: '30 2 * * *', timeZone: 'Europe/Berlin', task: { type: 'report', payload: { kind: 'daily' }, retryPolicy: { maxAttempts: 5 } },
      misfirePolicy: 'MISFIRE_POLICY_FIRE_ALL', misfireCap: 10, misfireGrace: '300s', overlapPolicy: 'OVERLAP_POLICY_SKIP_IF_RUNNING', endAt: '2030-01-01T00:00:00Z',
    });
    expect(mask).toEqual(['name', 'cron', 'time_zone', 'misfire_policy', 'misfire_cap', 'misfire_grace', 'overlap_policy', 'end_at', 'task']);
  });

  it('update: task flags edit the current template; the mask names only what changed; the base is not touched', () => {
    const base = create(ScheduleSchema, { id: 's1', version: 4n, cron: '* * * * *', template: { case: 'task', value: { type: 'report', queue: 'q', labels: { a: '1' } } } });
    const { schedule, mask } = applyScheduleFlags(base, { label: ['b=2'] }, undefined, undefined);
    expect(mask).toEqual(['task']);
    expect(toJson(ScheduleSchema, schedule)).toMatchObject({ id: 's1', version: '4', task: { type: 'report', queue: 'q', labels: { a: '1', b: '2' } } });
    expect(base.template.case === 'task' && base.template.value.labels).toEqual({ a: '1' });
    expect(applyScheduleFlags(base, { cron: '0 * * * *' }, undefined, undefined).mask).toEqual(['cron']);
  });

  it('a workflow template, and the combinations that make no sense', () => {
    const wf = create(WorkflowSpecSchema, { name: 'w', tasks: [{ name: 'a', task: { type: 'noop' } }] });
    expect(applyScheduleFlags(create(ScheduleSchema), {}, undefined, wf).schedule.template.case).toBe('workflow');
    expect(() => applyScheduleFlags(create(ScheduleSchema), { taskType: 'x' }, undefined, wf)).toThrow('--workflow-file cannot be combined');
    expect(() => applyScheduleFlags(create(ScheduleSchema), { queue: 'q' }, undefined, undefined)).toThrow('give --task-type');
    expect(() => applyScheduleFlags(create(ScheduleSchema), { overlapPolicy: 'sometimes' }, undefined, undefined)).toThrow(/--overlap-policy/);
  });
});
