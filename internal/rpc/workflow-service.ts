import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  CancelWorkflowResponseSchema, GetWorkflowResponseSchema, ListWorkflowsResponseSchema, SubmitWorkflowResponseSchema,
  WatchWorkflowResponseSchema, WorkflowService, type WatchWorkflowRequest,
} from '../../gen/taskd/v1/workflow_service_pb.js';
import type { WorkflowApi } from '../api/workflow-api.js';
import { DomainError } from '../domain/errors.js';
import { workflowSpecFromPb, workflowStatusFromPb, workflowStatusToPb, workflowTaskToPb, workflowToPb } from './convert/workflow.js';
import { requestIdOf } from './request-context.js';

/** WorkflowService over the domain WorkflowApi: conversion only. */
export function workflowServiceImpl(api: WorkflowApi): ServiceImpl<typeof WorkflowService> {
  return {
    async submitWorkflow(req, ctx) {
      if (!req.workflow) throw DomainError.invalid([{ field: 'workflow', description: 'is required' }]);
      return create(SubmitWorkflowResponseSchema, { workflow: workflowToPb(await api.submit(workflowSpecFromPb(req.workflow), requestIdOf(ctx))) });
    },
    async getWorkflow(req) {
      return create(GetWorkflowResponseSchema, { workflow: workflowToPb(await api.get(req.namespace, req.id)) });
    },
    async listWorkflows(req) {
      const statuses = req.statuses.map((s, i) => {
        const d = workflowStatusFromPb(s);
        if (!d) throw DomainError.invalid([{ field: `statuses[${i}]`, description: 'is not a workflow status' }]);
        return d;
      });
      const r = await api.list({ namespace: req.namespace, statuses, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListWorkflowsResponseSchema, { workflows: r.workflows.map(workflowToPb), nextPageToken: r.nextPageToken });
    },
    async cancelWorkflow(req) {
      return create(CancelWorkflowResponseSchema, { workflow: workflowToPb(await api.cancel(req.namespace, req.id, req.reason)) });
    },
    async *watchWorkflow(req: WatchWorkflowRequest, ctx: HandlerContext) {
      for await (const m of api.watch({ namespace: req.namespace, id: req.id, afterEventId: req.afterEventId }, ctx.signal)) {
        yield create(WatchWorkflowResponseSchema, {
          task: m.task && workflowTaskToPb(m.task), status: workflowStatusToPb(m.status), counts: m.counts, eventId: m.eventId,
        });
      }
    },
  };
}
