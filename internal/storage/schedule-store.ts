import { sql } from 'drizzle-orm';
import { DomainError } from '../domain/errors.js';
import type { Schedule, ScheduleDef } from '../domain/schedule.js';
import { rows, type Executor } from './db.js';
import { scheduleFromRow, type ScheduleRow } from './schedule-rows.js';

/** The timing state a write sets along with a definition. */
export interface ScheduleState {
  paused: boolean;
  cursorAt: Date;
  nextFireAt: Date | null;
}

/** Inserts a schedule. Throws `already_exists` when its (namespace, name) is taken. */
export async function scheduleInsert(ex: Executor, p: { id: string; def: ScheduleDef; state: ScheduleState; now: Date }): Promise<Schedule> {
  const { def, state } = p;
  const [row] = await rows<ScheduleRow>(ex, sql`
    insert into schedules (id, namespace, name, cron, time_zone, template, misfire_policy, misfire_cap, misfire_grace_ms,
      overlap_policy, start_at, end_at, paused, cursor_at, next_fire_at, created_at, updated_at)
    values (${p.id}, ${def.namespace}, ${def.name}, ${def.cron}, ${def.timeZone}, ${JSON.stringify(def.template)}::jsonb,
      ${def.misfirePolicy}, ${def.misfireCap}, ${def.misfireGraceMs}, ${def.overlapPolicy}, ${def.startAt}, ${def.endAt},
      ${state.paused}, ${state.cursorAt}, ${state.nextFireAt}, ${p.now}, ${p.now})
    on conflict (namespace, name) do nothing
    returning *`);
  if (!row) throw new DomainError('already_exists', `a schedule named "${def.name}" already exists in namespace "${def.namespace}"`);
  return scheduleFromRow(row);
}

/** Reads one schedule, or undefined; `forUpdate` locks its row for the transaction. Never crosses namespaces. */
export async function scheduleGet(ex: Executor, p: { namespace: string; id: string; forUpdate?: boolean }): Promise<Schedule | undefined> {
  const [row] = await rows<ScheduleRow>(ex, sql`select * from schedules where id = ${p.id} and namespace = ${p.namespace}
    ${p.forUpdate ? sql`for update` : sql``}`);
  return row && scheduleFromRow(row);
}

/** Lists schedules newest first; keyset paging on the id. */
export async function scheduleList(ex: Executor, p: { namespace: string; afterId?: string; limit: number }): Promise<Schedule[]> {
  const found = await rows<ScheduleRow>(ex, sql`select * from schedules
    where namespace = ${p.namespace} ${p.afterId ? sql`and id < ${p.afterId}` : sql``}
    order by namespace, id desc nulls last limit ${p.limit}`);
  return found.map(scheduleFromRow);
}

/**
 * Replaces a locked schedule's definition and timing state and bumps its version.
 * The caller has locked the row (`scheduleGet` forUpdate) and checked the etag.
 */
export async function scheduleSave(ex: Executor, p: { id: string; def: ScheduleDef; state: ScheduleState; now: Date }): Promise<Schedule> {
  const { def, state } = p;
  const [row] = await rows<ScheduleRow>(ex, sql`
    update schedules set name = ${def.name}, cron = ${def.cron}, time_zone = ${def.timeZone},
      template = ${JSON.stringify(def.template)}::jsonb, misfire_policy = ${def.misfirePolicy}, misfire_cap = ${def.misfireCap},
      misfire_grace_ms = ${def.misfireGraceMs}, overlap_policy = ${def.overlapPolicy}, start_at = ${def.startAt},
      end_at = ${def.endAt}, paused = ${state.paused}, cursor_at = ${state.cursorAt}, next_fire_at = ${state.nextFireAt},
      version = version + 1, updated_at = ${p.now}
    where id = ${p.id}
    returning *`);
  if (!row) throw new Error(`schedule ${p.id} vanished while locked`);
  return scheduleFromRow(row);
}

/** Deletes a schedule and its fire records (the runs it created stay). False when none. */
export async function scheduleDelete(ex: Executor, p: { namespace: string; id: string }): Promise<boolean> {
  const r = await rows<{ id: string }>(ex, sql`delete from schedules where id = ${p.id} and namespace = ${p.namespace} returning id`);
  return r.length === 1;
}

/** Ids of active schedules whose next fire is due at `now`, earliest first. */
export async function scheduleListDue(ex: Executor, p: { now: Date; limit: number }): Promise<{ id: string; namespace: string }[]> {
  return rows(ex, sql`select id, namespace from schedules
    where next_fire_at is not null and not paused and next_fire_at <= ${p.now}
    order by next_fire_at limit ${p.limit}`);
}

/** The earliest next fire of any active schedule, or undefined. */
export async function scheduleNextDue(ex: Executor): Promise<Date | undefined> {
  const [r] = await rows<{ next_fire_at: Date | string }>(ex, sql`select next_fire_at from schedules
    where next_fire_at is not null and not paused order by next_fire_at limit 1`);
  return r ? new Date(r.next_fire_at) : undefined;
}

/**
 * Moves a schedule's cursor after a pass of fires, with the run they created last. Does
 * not change the version: fires are not edits. The caller holds the row lock.
 */
export async function scheduleAdvance(
  ex: Executor,
  p: { id: string; cursorAt: Date; nextFireAt: Date | null; last: { fireAt: Date; taskId: string | null; workflowId: string | null } | null },
): Promise<void> {
  const last = p.last
    ? sql`, last_fire_at = ${p.last.fireAt}, last_task_id = ${p.last.taskId}, last_workflow_id = ${p.last.workflowId}`
    : sql``;
  await ex.execute(sql`update schedules set cursor_at = ${p.cursorAt}, next_fire_at = ${p.nextFireAt} ${last} where id = ${p.id}`);
}

/**
 * Records a fire. A scheduled fire whose (schedule, fire_at) is already recorded is not
 * inserted (`on conflict do nothing`): returns false, and the caller must create no run.
 */
export async function scheduleFireInsert(
  ex: Executor,
  p: { id: string; scheduleId: string; fireAt: Date; manual: boolean; taskId: string | null; workflowId: string | null;
    skippedReason: string | null; epoch: number; now: Date },
): Promise<boolean> {
  const r = await rows<{ id: string }>(ex, sql`
    insert into schedule_fires (id, schedule_id, fire_at, manual, task_id, workflow_id, skipped_reason, epoch, created_at)
    values (${p.id}, ${p.scheduleId}, ${p.fireAt}, ${p.manual}, ${p.taskId}, ${p.workflowId}, ${p.skippedReason}, ${p.epoch}, ${p.now})
    on conflict (schedule_id, fire_at) where not manual do nothing
    returning id`);
  return r.length === 1;
}
