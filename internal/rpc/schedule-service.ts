import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  CreateScheduleResponseSchema, DeleteScheduleResponseSchema, GetScheduleResponseSchema, ListSchedulesResponseSchema,
  PauseScheduleResponseSchema, ResumeScheduleResponseSchema, ScheduleService, TriggerScheduleResponseSchema,
  UpdateScheduleResponseSchema,
} from '../../gen/taskd/v1/schedule_service_pb.js';
import type { ScheduleApi } from '../api/schedule-api.js';
import { DomainError } from '../domain/errors.js';
import { fireToPb, scheduleSpecFromPb, scheduleToPb } from './convert/schedule.js';
import { requestIdOf } from './request-context.js';

/** ScheduleService over the domain ScheduleApi: conversion only. */
export function scheduleServiceImpl(api: ScheduleApi): ServiceImpl<typeof ScheduleService> {
  return {
    async createSchedule(req) {
      if (!req.schedule) throw DomainError.invalid([{ field: 'schedule', description: 'is required' }]);
      return create(CreateScheduleResponseSchema, { schedule: scheduleToPb(await api.create(scheduleSpecFromPb(req.schedule))) });
    },
    async getSchedule(req) {
      return create(GetScheduleResponseSchema, { schedule: scheduleToPb(await api.get(req.namespace, req.id)) });
    },
    async listSchedules(req) {
      const r = await api.list({ namespace: req.namespace, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListSchedulesResponseSchema, { schedules: r.schedules.map(scheduleToPb), nextPageToken: r.nextPageToken });
    },
    async updateSchedule(req) {
      if (!req.schedule) throw DomainError.invalid([{ field: 'schedule', description: 'is required' }]);
      const s = await api.update({
        namespace: req.schedule.namespace, id: req.schedule.id, version: Number(req.schedule.version),
        fields: req.updateMask?.paths ?? [], spec: scheduleSpecFromPb(req.schedule),
      });
      return create(UpdateScheduleResponseSchema, { schedule: scheduleToPb(s) });
    },
    async deleteSchedule(req) {
      await api.delete(req.namespace, req.id);
      return create(DeleteScheduleResponseSchema, {});
    },
    async pauseSchedule(req) {
      return create(PauseScheduleResponseSchema, { schedule: scheduleToPb(await api.pause(req.namespace, req.id)) });
    },
    async resumeSchedule(req) {
      return create(ResumeScheduleResponseSchema, { schedule: scheduleToPb(await api.resume(req.namespace, req.id)) });
    },
    async triggerSchedule(req, ctx) {
      const r = await api.trigger(req.namespace, req.id, requestIdOf(ctx));
      return create(TriggerScheduleResponseSchema, { schedule: scheduleToPb(r.schedule), fire: fireToPb(r.fire) });
    },
  };
}
