import { create, type DescMethod } from '@bufbuild/protobuf';
import * as reflectionV1 from '../../gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionV1alpha from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { describe, expect, it } from 'vitest';
import { UpdateScheduleRequestSchema } from '../../gen/taskd/v1/schedule_service_pb.js';
import { SubmitTasksRequestSchema } from '../../gen/taskd/v1/task_service_pb.js';
import { SubmitWorkflowRequestSchema } from '../../gen/taskd/v1/workflow_service_pb.js';
import { valueOf } from './convert/json.js';
import { methodAccess, requestNamespaces } from './method-access.js';
import { taskdServices } from '../../test/taskd-services.js';


describe('methodAccess (from the proto options)', () => {
  it('every taskd method declares a required_role', async () => {
    const missing = (await taskdServices()).flatMap((s) => s.methods).filter((m) => methodAccess(m).role === 'refused').map((m) => methodAccess(m).name);
    expect(missing, 'methods without option (taskd.v1.required_role)').toEqual([]);
  });

  it('classifies methods on one resource by their REST path, with its noun', async () => {
    const byId = Object.fromEntries((await taskdServices()).flatMap((s) => s.methods).map((m) => [methodAccess(m).name, methodAccess(m).byId]));
    expect(byId['taskd.v1.TaskService/GetTask']).toEqual({ path: ['id'], noun: 'task' });
    expect(byId['taskd.v1.TaskService/SubmitTask']).toBeUndefined();
    expect(byId['taskd.v1.DeadLetterService/ReplayDeadLetter']).toEqual({ path: ['id'], noun: 'dead letter' });
    expect(byId['taskd.v1.ScheduleService/UpdateSchedule']).toEqual({ path: ['schedule', 'id'], noun: 'schedule' });
    expect(byId['taskd.v1.ScheduleService/CreateSchedule']).toBeUndefined();
    expect(byId['taskd.v1.ApiKeyService/RevokeApiKey']).toEqual({ path: ['id'], noun: 'api key' });
    expect(byId['taskd.v1.ClusterService/GetCluster']).toBeUndefined();
    expect(byId['taskd.internal.v1.LinkService/Link']).toBeUndefined();
  });

  it('gRPC reflection needs only an identity; a method without the option elsewhere is refused', () => {
    for (const m of [...reflectionV1.ServerReflection.methods, ...reflectionV1alpha.ServerReflection.methods]) {
      expect(methodAccess(m).role).toBe('authenticated');
    }
    // Any other method without the option (the reflection method, under another service's name).
    const stray = { ...reflectionV1.ServerReflection.methods[0], parent: { typeName: 'taskd.v1.Stray' } } as unknown as DescMethod;
    expect(methodAccess(stray).role).toBe('refused');
  });
});

describe('requestNamespaces', () => {
  it('reads each task of a batch, empty as "default"', () => {
    const m = create(SubmitTasksRequestSchema, { tasks: [{ type: 'a', namespace: 'x' }, { type: 'b' }, { type: 'c', namespace: 'y', payload: valueOf({ namespace: 'z' }) }] });
    expect(requestNamespaces(SubmitTasksRequestSchema, m).sort()).toEqual(['default', 'x', 'y']);
  });

  it('a workflow\'s tasks count only when they name a namespace', () => {
    const m = create(SubmitWorkflowRequestSchema, { workflow: { namespace: 'a', tasks: [{ name: 't', task: { type: 'x' } }, { name: 'u', task: { type: 'x', namespace: 'b' } }] } });
    expect(requestNamespaces(SubmitWorkflowRequestSchema, m).sort()).toEqual(['a', 'b']);
  });

  it('looks into a oneof (a schedule\'s template)', () => {
    const m = create(UpdateScheduleRequestSchema, { schedule: { namespace: 'a', template: { case: 'task', value: { type: 'x', namespace: 'c' } } } });
    expect(requestNamespaces(UpdateScheduleRequestSchema, m).sort()).toEqual(['a', 'c']);
  });
});
