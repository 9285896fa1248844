import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  CancelTaskResponseSchema, DeleteTaskResponseSchema, GetTaskResponseSchema, ListTasksResponseSchema, RetryTaskResponseSchema, SubmitTaskResponseSchema,
  SubmitTasksResponseSchema, TaskService, UpdateTaskResponseSchema, WatchTaskResponseSchema,
} from '../../gen/taskd/v1/task_service_pb.js';
import type { TaskApi } from '../api/task-api.js';
import { DomainError } from '../domain/errors.js';
import type { TaskStatus } from '../domain/task.js';
import { dateOf, jsonOf, msOf } from './convert/json.js';
import { specFromPb, statusFromPb, taskToPb } from './convert/task.js';
import { requestIdOf } from './request-context.js';

/** TaskService over the domain TaskApi: conversion only, no logic. */
export function taskServiceImpl(api: TaskApi): ServiceImpl<typeof TaskService> {
  return {
    async submitTask(req, ctx) {
      if (!req.task) throw DomainError.invalid([{ field: 'task', description: 'is required' }]);
      const [r] = await api.submit([specFromPb(req.task)], 'task', false, requestIdOf(ctx));
      return create(SubmitTaskResponseSchema, { task: taskToPb(r!.task), existing: r!.existing });
    },
    async submitTasks(req, ctx) {
      const rs = await api.submit(req.tasks.map(specFromPb), 'tasks', true, requestIdOf(ctx));
      return create(SubmitTasksResponseSchema, { tasks: rs.map((r) => taskToPb(r.task)) });
    },
    async getTask(req) {
      return create(GetTaskResponseSchema, { task: taskToPb(await api.get(req.namespace, req.id)) });
    },
    async listTasks(req) {
      const statuses: TaskStatus[] = req.statuses.map((s, i) => {
        const d = statusFromPb(s);
        if (!d) throw DomainError.invalid([{ field: `statuses[${i}]`, description: 'is not a task status' }]);
        return d;
      });
      const r = await api.list({
        namespace: req.namespace, statuses, type: req.type, queue: req.queue, workflowId: req.workflowId,
        pageSize: req.pageSize, pageToken: req.pageToken, labels: req.labels,
      });
      return create(ListTasksResponseSchema, { tasks: r.tasks.map(taskToPb), nextPageToken: r.nextPageToken });
    },
    async updateTask(req) {
      const task = await api.update({
        namespace: req.namespace, id: req.id, version: Number(req.version), fields: req.updateMask?.paths ?? [],
        priority: req.priority, runAt: dateOf(req.runAt), delayMs: msOf(req.delay), payload: jsonOf(req.payload),
        labels: req.labels,
      });
      return create(UpdateTaskResponseSchema, { task: taskToPb(task) });
    },
    async cancelTask(req) {
      return create(CancelTaskResponseSchema, { task: taskToPb(await api.cancel(req.namespace, req.id, req.reason)) });
    },
    async deleteTask(req) {
      await api.delete(req.namespace, req.id);
      return create(DeleteTaskResponseSchema, {});
    },
    async retryTask(req, ctx) {
      return create(RetryTaskResponseSchema, { task: taskToPb(await api.retry(req.namespace, req.id, requestIdOf(ctx))) });
    },
    async *watchTask(req, ctx) {
      for await (const m of api.watch({ namespace: req.namespace, id: req.id, afterEventId: req.afterEventId }, ctx.signal)) {
        yield create(WatchTaskResponseSchema, { task: taskToPb(m.task), eventId: m.eventId });
      }
    },
  };
}
