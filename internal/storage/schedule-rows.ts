import type { MisfirePolicy, OverlapPolicy, Schedule, ScheduleTemplate } from '../domain/schedule.js';
import { toDate } from './task-rows.js';

/** A `schedules` row as the drivers return it (snake_case). */
export interface ScheduleRow {
  id: string;
  namespace: string;
  name: string;
  cron: string;
  time_zone: string;
  template: ScheduleTemplate;
  misfire_policy: MisfirePolicy;
  misfire_cap: number;
  misfire_grace_ms: number;
  overlap_policy: OverlapPolicy;
  start_at: Date | string | null;
  end_at: Date | string | null;
  paused: boolean;
  version: number;
  cursor_at: Date | string;
  next_fire_at: Date | string | null;
  last_fire_at: Date | string | null;
  last_task_id: string | null;
  last_workflow_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** Maps a row to the domain Schedule. */
export function scheduleFromRow(r: ScheduleRow): Schedule {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    cron: r.cron,
    timeZone: r.time_zone,
    template: r.template,
    misfirePolicy: r.misfire_policy,
    misfireCap: r.misfire_cap,
    misfireGraceMs: r.misfire_grace_ms,
    overlapPolicy: r.overlap_policy,
    startAt: toDate(r.start_at),
    endAt: toDate(r.end_at),
    paused: r.paused,
    version: r.version,
    cursorAt: toDate(r.cursor_at),
    nextFireAt: toDate(r.next_fire_at),
    lastFireAt: toDate(r.last_fire_at),
    lastTaskId: r.last_task_id,
    lastWorkflowId: r.last_workflow_id,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}
