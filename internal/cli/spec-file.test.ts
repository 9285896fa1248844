import { toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ScheduleSchema } from '../../gen/taskd/v1/schedule_service_pb.js';
import { FailurePolicy, WorkflowSpecSchema } from '../../gen/taskd/v1/workflow_service_pb.js';
import { normalizeSpecJson, parseSpec } from './spec-file.js';

describe('spec files', () => {
  it('YAML with short enum names and any duration unit becomes a WorkflowSpec', () => {
    const spec = parseSpec(WorkflowSpecSchema, `
name: nightly
failurePolicy: continue
tasks:
  - name: extract
    task: { type: http, payload: { timeout: 5m, failurePolicy: keep }, timeout: 1m30s, retry_policy: { maxAttempts: 5, initialBackoff: 500ms } }
  - name: load
    dependsOn: [extract]
    task: { type: load, labels: { delay: 5m } }
`, 'wf.yaml');
    expect(spec.failurePolicy).toBe(FailurePolicy.CONTINUE);
    expect(toJson(WorkflowSpecSchema, spec)).toEqual({
      name: 'nightly',
      failurePolicy: 'FAILURE_POLICY_CONTINUE',
      tasks: [
        // payload and labels are the user's data: left exactly as written
        { name: 'extract', task: { type: 'http', payload: { timeout: '5m', failurePolicy: 'keep' }, timeout: '90s', retryPolicy: { maxAttempts: 5, initialBackoff: '0.500s' } } },
        { name: 'load', dependsOn: ['extract'], task: { type: 'load', labels: { delay: '5m' } } },
      ],
    });
  });

  it('JSON is YAML too, and protobuf spellings pass unchanged', () => {
    const j = { failurePolicy: 'FAILURE_POLICY_FAIL_FAST', tasks: [{ name: 'a', task: { type: 'noop', delay: '30s' } }] };
    expect(normalizeSpecJson(j)).toEqual(j);
    expect(parseSpec(WorkflowSpecSchema, JSON.stringify(j), 'wf.json').tasks[0]?.task?.start).toMatchObject({ case: 'delay' });
  });

  it('schedules: misfire and overlap policies by short name', () => {
    const s = parseSpec(ScheduleSchema, 'name: n\ncron: "* * * * *"\nmisfirePolicy: fire-all\noverlap_policy: skip_if_running\ntask: { type: noop }\n', 's.yaml');
    expect(toJson(ScheduleSchema, s)).toMatchObject({ misfirePolicy: 'MISFIRE_POLICY_FIRE_ALL', overlapPolicy: 'OVERLAP_POLICY_SKIP_IF_RUNNING' });
  });

  it('unknown fields, non-objects and bad enum values are usage errors naming the source', () => {
    expect(() => parseSpec(WorkflowSpecSchema, 'tasks: [{ name: a, tsk: {} }]', 'wf.yaml')).toThrow(/^wf.yaml: .*tsk/);
    expect(() => parseSpec(WorkflowSpecSchema, '- a', 'wf.yaml')).toThrow('wf.yaml: expected an object (a WorkflowSpec)');
    expect(() => parseSpec(WorkflowSpecSchema, 'failurePolicy: sometimes', 'wf.yaml')).toThrow(/^wf.yaml: .*FAILURE_POLICY_SOMETIMES/);
    expect(() => parseSpec(WorkflowSpecSchema, 'tasks: [{ task: { timeout: soon } }]', 'wf.yaml')).toThrow(/timeout: "soon" is not a duration/);
  });
});
