import { create } from '@bufbuild/protobuf';
import {
  FailurePolicy as PbPolicy, WorkflowSchema, WorkflowStatus as PbStatus, WorkflowTaskSchema, type Workflow, type WorkflowSpec,
  type WorkflowTask,
} from '../../../gen/taskd/v1/workflow_service_pb.js';
import type { FailurePolicy, WorkflowSpecInput, WorkflowStatus } from '../../domain/workflow.js';
import type { WorkflowRecord } from '../../storage/workflow-store.js';
import { timestampOf } from './json.js';
import { specFromPb, taskToPb } from './task.js';

const STATUS: Record<WorkflowStatus, PbStatus> = {
  RUNNING: PbStatus.RUNNING, SUCCEEDED: PbStatus.SUCCEEDED, FAILED: PbStatus.FAILED, CANCELLED: PbStatus.CANCELLED,
};

export const workflowStatusToPb = (s: WorkflowStatus): PbStatus => STATUS[s];

export function workflowStatusFromPb(s: PbStatus): WorkflowStatus | undefined {
  return (Object.keys(STATUS) as WorkflowStatus[]).find((k) => STATUS[k] === s);
}

/** A submitted workflow for the domain validator. */
export function workflowSpecFromPb(w: WorkflowSpec | undefined): WorkflowSpecInput {
  const policy: FailurePolicy | undefined =
    w?.failurePolicy === PbPolicy.CONTINUE ? 'CONTINUE' : w?.failurePolicy === PbPolicy.FAIL_FAST ? 'FAIL_FAST' : undefined;
  return {
    namespace: w?.namespace, name: w?.name, failurePolicy: policy,
    tasks: (w?.tasks ?? []).map((t) => ({ name: t.name, dependsOn: t.dependsOn, task: t.task ? specFromPb(t.task) : undefined })),
  };
}

export function workflowTaskToPb(t: WorkflowRecord['tasks'][number]): WorkflowTask {
  return create(WorkflowTaskSchema, { name: t.name, dependsOn: t.dependsOn, task: taskToPb(t.task) });
}

export function workflowToPb(w: WorkflowRecord): Workflow {
  return create(WorkflowSchema, {
    id: w.id, namespace: w.namespace, name: w.name,
    failurePolicy: w.failurePolicy === 'CONTINUE' ? PbPolicy.CONTINUE : PbPolicy.FAIL_FAST,
    status: STATUS[w.status], counts: w.counts, tasks: w.tasks.map(workflowTaskToPb),
    createdAt: timestampOf(w.createdAt), finishedAt: timestampOf(w.finishedAt),
  });
}
