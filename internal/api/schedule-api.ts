import { v7 as uuidv7 } from 'uuid';
import { CronSchedule } from '../domain/cron-schedule.js';
import { DomainError } from '../domain/errors.js';
import { nextFireAt, upcomingFires } from '../domain/schedule-plan.js';
import { validateSchedule, type Schedule, type ScheduleDef, type ScheduleLimits, type ScheduleSpecInput } from '../domain/schedule.js';
import type { Base } from '../shared/base.js';
import type { Db, Executor } from '../storage/db.js';
import { scheduleFire, type FireOutcome } from '../storage/schedule-fire.js';
import {
  scheduleAdvance, scheduleDelete, scheduleGet, scheduleInsert, scheduleList, scheduleSave, type ScheduleState,
} from '../storage/schedule-store.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';
import type { ReadyHints } from './task-api.js';
import { ATTR, inSubmitSpan } from '../observability/spans.js';

/** A note to the leader that a schedule was created or changed; best effort (the leader also polls). */
export interface ScheduleHints {
  scheduleChanged(): void;
}

/** A schedule as read back: with its next fire times (none while paused). */
export interface ScheduleView extends Schedule {
  nextFireTimes: Date[];
}

/** An UpdateSchedule request: `fields` (the update mask) names what `spec` changes. */
export interface ScheduleUpdateInput {
  namespace: string;
  id: string;
  /** The etag the change is based on. */
  version: number;
  fields: string[];
  spec: ScheduleSpecInput;
}

const UPDATABLE = ['name', 'cron', 'time_zone', 'task', 'workflow', 'misfire_policy', 'misfire_cap', 'misfire_grace', 'overlap_policy', 'start_at', 'end_at'];
const NEXT_FIRES = 5;


/**
 * The apiserver's schedule operations, protocol-free; each request is one transaction.
 * Changes re-anchor the schedule at the time of the change: fires before it that have
 * not run are not run later (see docs/schedules.md).
 */
export class ScheduleApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; limits: ScheduleLimits; hints: ReadyHints & ScheduleHints },
  ) {}

  /** Validates and stores a schedule; its first fire is the first after now (and start_at). */
  async create(input: ScheduleSpecInput): Promise<ScheduleView> {
    const now = this.base.clock.now();
    const def = validateSchedule(input, 'schedule', this.opts.limits, now);
    const s = await this.opts.db.tx((tx) => scheduleInsert(tx, { id: uuidv7(), def, state: timing(def, !!input.paused, now), now: new Date(now) }));
    this.opts.hints.scheduleChanged();
    return this.view(s, now);
  }

  /** Reads one schedule with its next fire times; `not_found` outside its namespace. */
  async get(namespace: string, id: string): Promise<ScheduleView> {
    const s = await scheduleGet(this.opts.db.orm, { namespace: namespace || 'default', id: checkId(id) });
    if (!s) throw new DomainError('not_found', `schedule ${id} not found`);
    return this.view(s, this.base.clock.now());
  }

  /** Lists schedules newest first; keyset paging on the immutable id. */
  async list(p: { namespace: string; pageSize: number; pageToken: string }): Promise<{ schedules: ScheduleView[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const afterId = pageAfterId(p.pageToken);
    const found = await scheduleList(this.opts.db.orm, { namespace: p.namespace || 'default', afterId, limit: limit + 1 });
    const { page, nextPageToken } = keysetPage(found, limit);
    const now = this.base.clock.now();
    return { schedules: page.map((s) => this.view(s, now)), nextPageToken };
  }

  /** Changes the fields the mask names, if `version` is still the etag; else `conflict` (ABORTED) naming the current one. */
  async update(p: ScheduleUpdateInput): Promise<ScheduleView> {
    const id = checkId(p.id, 'schedule.id');
    if (p.fields.length === 0) throw DomainError.invalid([{ field: 'update_mask', description: `must name at least one of ${UPDATABLE.join(', ')}` }]);
    for (const f of p.fields) {
      if (!UPDATABLE.includes(f)) {
        const hint = f === 'paused' ? ' (use PauseSchedule / ResumeSchedule)' : '';
        throw DomainError.invalid([{ field: 'update_mask', description: `"${f}" cannot be updated${hint}; allowed: ${UPDATABLE.join(', ')}` }]);
      }
    }
    if (!(p.version > 0)) throw DomainError.invalid([{ field: 'schedule.version', description: 'is required (the etag from GetSchedule)' }]);
    const now = this.base.clock.now();
    const s = await this.locked(p.namespace, id, async (tx, cur) => {
      if (cur.version !== p.version) throw new DomainError('conflict', `version ${p.version} is stale; the schedule is at version ${cur.version}`);
      const def = validateSchedule(merge(cur, p.fields, p.spec), 'schedule', this.opts.limits, now);
      return scheduleSave(tx, { id, def, state: timing(def, cur.paused, Math.max(now, cur.cursorAt.getTime())), now: new Date(now) });
    });
    this.opts.hints.scheduleChanged();
    return this.view(s, now);
  }

  /** Deletes a schedule and its fire records; runs it created are left alone. */
  async delete(namespace: string, id: string): Promise<void> {
    const ok = await this.opts.db.tx((tx) => scheduleDelete(tx, { namespace: namespace || 'default', id: checkId(id) }));
    if (!ok) throw new DomainError('not_found', `schedule ${id} not found`);
    this.opts.hints.scheduleChanged();
  }

  /** Stops firing (idempotent). Fires while paused are never run, also not on resume. */
  async pause(namespace: string, id: string): Promise<ScheduleView> {
    return this.setPaused(namespace, id, true);
  }

  /** Fires again from now on (idempotent). */
  async resume(namespace: string, id: string): Promise<ScheduleView> {
    return this.setPaused(namespace, id, false);
  }

  /**
   * Creates a run now, whatever the schedule's state: a manual fire (fire_at = now)
   * with its own record. It ignores the overlap policy, and later fires see it as the
   * previous run. Its tasks carry `correlationId` (the request's; without one, the
   * fire's id) and, inside a `taskd.submit` span, its trace context.
   */
  async trigger(namespace: string, id: string, correlationId?: string): Promise<{ schedule: ScheduleView; fire: FireOutcome }> {
    const now = this.base.clock.now();
    let fire: FireOutcome | undefined;
    const s = await inSubmitSpan({ [ATTR.via]: 'trigger' }, (traceContext) => this.locked(namespace, checkId(id), async (tx, cur) => {
      const origin = { correlationId: correlationId ?? null, traceContext };
      fire = await scheduleFire(tx, {
        schedule: cur, fireAt: new Date(now), manual: true, epoch: 0, limits: this.opts.limits, now: new Date(now), origin,
      });
      if (fire.taskId || fire.workflowId) {
        await scheduleAdvance(tx, { id: cur.id, cursorAt: cur.cursorAt, nextFireAt: cur.nextFireAt, last: { fireAt: fire.fireAt, taskId: fire.taskId, workflowId: fire.workflowId } });
      }
      return (await scheduleGet(tx, { namespace: cur.namespace, id: cur.id })) as Schedule;
    }));
    const f = fire as FireOutcome;
    if (f.readyQueues.length > 0) this.opts.hints.ready(f.readyQueues);
    if (f.dueAtMs !== null) this.opts.hints.due(f.dueAtMs);
    for (const c of f.cancelled) this.opts.hints.cancelled(c.taskId, c.attempt);
    return { schedule: this.view(s, now), fire: f };
  }

  private async setPaused(namespace: string, id: string, paused: boolean): Promise<ScheduleView> {
    const now = this.base.clock.now();
    const s = await this.locked(namespace, checkId(id), async (tx, cur) => {
      if (cur.paused === paused) return cur;
      return scheduleSave(tx, { id: cur.id, def: cur, state: timing(cur, paused, Math.max(now, cur.cursorAt.getTime())), now: new Date(now) });
    });
    this.opts.hints.scheduleChanged();
    return this.view(s, now);
  }

  /** Runs `fn` in one transaction with the schedule's row locked; `not_found` when there is none. */
  private locked<T>(namespace: string, id: string, fn: (tx: Executor, cur: Schedule) => Promise<T>): Promise<T> {
    return this.opts.db.tx(async (tx) => {
      const cur = await scheduleGet(tx, { namespace: namespace || 'default', id, forUpdate: true });
      if (!cur) throw new DomainError('not_found', `schedule ${id} not found`);
      return fn(tx, cur);
    });
  }

  private view(s: Schedule, now: number): ScheduleView {
    const next = s.paused ? [] : upcomingFires(CronSchedule.of(s.cron, s.timeZone), s, Math.max(now, s.cursorAt.getTime()), NEXT_FIRES);
    return { ...s, nextFireTimes: next };
  }
}

/** The timing state of a definition anchored at `cursor`. */
function timing(def: ScheduleDef, paused: boolean, cursor: number): ScheduleState {
  return { paused, cursorAt: new Date(cursor), nextFireAt: paused ? null : nextFireAt(CronSchedule.of(def.cron, def.timeZone), def, cursor) };
}

/** The stored definition with the masked fields taken from `spec`. */
function merge(cur: Schedule, fields: string[], spec: ScheduleSpecInput): ScheduleSpecInput {
  const m: ScheduleSpecInput = {
    namespace: cur.namespace, name: cur.name, cron: cur.cron, timeZone: cur.timeZone, template: cur.template,
    misfirePolicy: cur.misfirePolicy, misfireCap: cur.misfireCap, misfireGraceMs: cur.misfireGraceMs, overlapPolicy: cur.overlapPolicy,
    startAt: cur.startAt ?? undefined, endAt: cur.endAt ?? undefined,
  };
  const has = (f: string): boolean => fields.includes(f);
  if (has('name')) m.name = spec.name;
  if (has('cron')) m.cron = spec.cron;
  if (has('time_zone')) m.timeZone = spec.timeZone;
  if (has('task')) m.template = spec.template?.kind === 'task' ? spec.template : undefined;
  if (has('workflow')) m.template = spec.template?.kind === 'workflow' ? spec.template : undefined;
  // A new policy without a new cap takes that policy's default cap.
  if (has('misfire_policy')) [m.misfirePolicy, m.misfireCap] = [spec.misfirePolicy, has('misfire_cap') ? spec.misfireCap : undefined];
  if (has('misfire_cap')) m.misfireCap = spec.misfireCap;
  if (has('misfire_grace')) m.misfireGraceMs = spec.misfireGraceMs;
  if (has('overlap_policy')) m.overlapPolicy = spec.overlapPolicy;
  if (has('start_at')) m.startAt = spec.startAt;
  if (has('end_at')) m.endAt = spec.endAt;
  return m;
}
