import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { ScheduleApi } from '../api/schedule-api.js';
import { isDomainError } from '../domain/errors.js';
import { DEFAULT_SCHEDULE_LIMITS, type ScheduleSpecInput } from '../domain/schedule.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPostgres, rows, type Db } from '../storage/db.js';
import { leadershipClaim } from '../storage/leadership-store.js';
import { scheduleFire } from '../storage/schedule-fire.js';
import { scheduleGet } from '../storage/schedule-store.js';
import { ScheduleRunner } from './schedule-runner.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (d: Date | number | string): string => new Date(d).toISOString().replace('.000', '');

/** Hints recorded instead of sent. */
class Hints {
  ready: string[] = [];
  due: number[] = [];
  cancels: string[] = [];
  changed = 0;
  readonly api = { ready: (q: string[]) => void this.ready.push(...q), due: (ms: number) => void this.due.push(ms), cancelled: (id: string) => void this.cancels.push(id), scheduleChanged: () => void this.changed++ };
  readonly dispatch = { hint: (q: string[]) => void this.ready.push(...q), dueAt: (ms: number) => void this.due.push(ms), cancelled: (id: string) => void this.cancels.push(id) };
}

describe('ScheduleRunner on Postgres with an injected clock', () => {
  let tdb: TestDatabase;
  let db: Db;
  const clock = new ManualClock();
  const base = { logger: silentLogger(), clock };
  let hints: Hints;
  let api: ScheduleApi;
  let runner: ScheduleRunner;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 6 });
    await migrateDb(db);
    await db.tx((tx) => leadershipClaim(tx, { epoch: 1, leader: 'test', now: new Date() }));
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });
  beforeEach(async () => {
    await db.orm.execute(sql`delete from schedules; delete from tasks; delete from workflows`);
    hints = new Hints();
    api = new ScheduleApi(base, { db, limits: DEFAULT_SCHEDULE_LIMITS, hints: hints.api });
    runner = new ScheduleRunner(base, { db, epoch: 1, pollMs: 500, limits: DEFAULT_SCHEDULE_LIMITS, hints: hints.dispatch });
  });

  const create = (name: string, cron: string, extra: Partial<ScheduleSpecInput> = {}) =>
    api.create({ name, cron, timeZone: 'Europe/Berlin', template: { kind: 'task', task: { type: 'noop' } }, ...extra });
  /** Wakes the runner the way its loop does: at each next fire time, until `until`. */
  const runUntil = async (until: number): Promise<void> => {
    for (let pass = 0; pass < 10_000; pass++) {
      const r = await runner.runOnce(clock.now());
      if (r.nextAt === null || r.nextAt > until) break;
      clock.set(Math.max(r.nextAt, clock.now()));
    }
    clock.set(until);
    await runner.runOnce(until);
  };
  /** Per schedule name: its fire times, each checked to have exactly one fire row and one task. */
  const firesByName = async (): Promise<Record<string, string[]>> => {
    const r = await rows<{ name: string; fire_at: Date; rows: string; tasks: string }>(db.orm, sql`
      select s.name, f.fire_at, count(*) rows, count(t.id) tasks
      from schedule_fires f join schedules s on s.id = f.schedule_id left join tasks t on t.id = f.task_id
      where not f.manual group by s.name, f.fire_at order by s.name, f.fire_at`);
    const out: Record<string, string[]> = {};
    for (const x of r) {
      expect([x.rows, x.tasks].map(Number), `${x.name} at ${iso(x.fire_at)}`).toEqual([1, 1]);
      (out[x.name] ??= []).push(iso(x.fire_at));
    }
    return out;
  };

  it('Europe/Berlin, autumn DST night: the right instants, no duplicate, no gap', async () => {
    clock.set(at('2026-10-24T21:45:00Z')); // 23:45 CEST
    const daily = await create('daily-0230', '30 2 * * *');
    const hourly = await create('hourly', '0 * * * *');
    await create('quarter', '*/15 * * * *');
    await create('fixed-2am-quarter', '*/15 2 * * *');
    expect(daily.nextFireTimes.map(iso)).toEqual([
      '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z', '2026-10-27T01:30:00Z', '2026-10-28T01:30:00Z', '2026-10-29T01:30:00Z',
    ]);
    expect(hourly.nextFireTimes.map(iso)).toEqual([
      '2026-10-24T22:00:00Z', '2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z',
    ]);
    await runUntil(at('2026-10-25T03:00:00Z'));
    const fires = await firesByName();
    expect(fires['daily-0230']).toEqual(['2026-10-25T00:30:00Z']); // 02:30 CEST, not again at 02:30 CET
    // Every real hour; local 02:00 twice (CEST 00:00Z, CET 01:00Z).
    expect(fires.hourly).toEqual(['2026-10-24T22:00:00Z', '2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z', '2026-10-25T03:00:00Z']);
    // Every real quarter hour from 22:00Z to 03:00Z: 21 fires, 15 minutes apart.
    expect(fires.quarter).toHaveLength(21);
    expect(fires.quarter!.every((t, i) => i === 0 || at(t) - at(fires.quarter![i - 1]!) === 15 * 60_000)).toBe(true);
    // Fixed hour 2: the first 02:00-02:45 (CEST) only.
    expect(fires['fixed-2am-quarter']).toEqual(['2026-10-25T00:00:00Z', '2026-10-25T00:15:00Z', '2026-10-25T00:30:00Z', '2026-10-25T00:45:00Z']);
    expect(hints.ready).toContain('default');
  });

  it('Europe/Berlin, spring DST night: the skipped 02:30 fires once at 03:30 CEST; hourly has no gap', async () => {
    clock.set(at('2026-03-28T21:45:00Z'));
    await create('daily-0230', '30 2 * * *');
    await create('hourly', '0 * * * *');
    await runUntil(at('2026-03-29T03:00:00Z'));
    const fires = await firesByName();
    expect(fires['daily-0230']).toEqual(['2026-03-29T01:30:00Z']);
    expect(fires.hourly).toEqual(['2026-03-28T22:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T00:00:00Z', '2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z', '2026-03-29T03:00:00Z']);
  });

  it('misfire policies after five hours without a leader', async () => {
    clock.set(at('2026-11-23T08:30:00Z'));
    for (const [name, misfirePolicy, misfireCap] of [['skip', 'SKIP', 0], ['once', 'FIRE_ONCE', 0], ['all', 'FIRE_ALL', 100], ['all-capped', 'FIRE_ALL', 2]] as const) {
      await create(name, '0 * * * *', { timeZone: 'UTC', misfirePolicy, misfireCap });
    }
    clock.set(at('2026-11-23T14:00:10Z')); // 09..13 missed, 14:00 within the grace
    await runner.runOnce(clock.now());
    expect(await firesByName()).toEqual({
      skip: ['2026-11-23T14:00:00Z'],
      once: ['2026-11-23T13:00:00Z', '2026-11-23T14:00:00Z'],
      all: ['2026-11-23T09:00:00Z', '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z', '2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z', '2026-11-23T14:00:00Z'],
      'all-capped': ['2026-11-23T12:00:00Z', '2026-11-23T13:00:00Z', '2026-11-23T14:00:00Z'],
    });
  });

  it('the same fire time attempted twice at once (two leaders, or one after failover): one fire, one task', async () => {
    clock.set(at('2026-11-23T08:30:00Z'));
    const s = await create('race', '0 * * * *', { timeZone: 'UTC' });
    const row = (await scheduleGet(db.orm, { namespace: 'default', id: s.id }))!;
    const fireAt = new Date(at('2026-11-23T09:00:00Z'));
    const attempt = () => db.tx((tx) => scheduleFire(tx, { schedule: row, fireAt, manual: false, epoch: 1, limits: DEFAULT_SCHEDULE_LIMITS, now: fireAt }));
    const outs = await Promise.all([attempt(), attempt(), attempt(), attempt()]);
    expect(outs.filter((o) => o.recorded)).toHaveLength(1);
    // Two runners of the same term racing through the same instant.
    const other = new ScheduleRunner(base, { db, epoch: 1, pollMs: 500, limits: DEFAULT_SCHEDULE_LIMITS, hints: hints.dispatch });
    clock.set(at('2026-11-23T10:00:00Z'));
    await Promise.all([runner.runOnce(clock.now()), other.runOnce(clock.now())]);
    expect(await firesByName()).toEqual({ race: ['2026-11-23T09:00:00Z', '2026-11-23T10:00:00Z'] });
    const [n] = await rows<{ n: string }>(db.orm, sql`select count(*) n from tasks`);
    expect(Number(n!.n)).toBe(2);
  });

  it('a deposed leader (old epoch) writes nothing', async () => {
    clock.set(at('2026-11-23T08:30:00Z'));
    await create('fenced', '0 * * * *', { timeZone: 'UTC' });
    const stale = new ScheduleRunner(base, { db, epoch: 0, pollMs: 500, limits: DEFAULT_SCHEDULE_LIMITS, hints: hints.dispatch });
    clock.set(at('2026-11-23T09:00:01Z'));
    const err = await stale.runOnce(clock.now()).then(() => undefined, (e: unknown) => e);
    expect(isDomainError(err, 'not_leader')).toBe(true);
    expect(await firesByName()).toEqual({});
  });

  it('overlap policies: SKIP_IF_RUNNING records a skipped fire; CANCEL_PREVIOUS cancels, then fires; ALLOW runs both', async () => {
    clock.set(at('2026-11-23T08:59:00Z'));
    for (const overlapPolicy of ['SKIP_IF_RUNNING', 'CANCEL_PREVIOUS', 'ALLOW'] as const) {
      await create(overlapPolicy.toLowerCase().replace(/_/g, '-'), '0 * * * *', { timeZone: 'UTC', overlapPolicy });
    }
    await runUntil(at('2026-11-23T10:00:30Z')); // no worker: the 09:00 runs stay QUEUED
    const r = await rows<{ name: string; fire_at: Date; skipped_reason: string | null; status: string | null }>(db.orm, sql`
      select s.name, f.fire_at, f.skipped_reason, t.status from schedule_fires f join schedules s on s.id = f.schedule_id
      left join tasks t on t.id = f.task_id order by s.name, f.fire_at`);
    expect(r.map((x) => [x.name, iso(x.fire_at), x.status, x.skipped_reason])).toEqual([
      ['allow', '2026-11-23T09:00:00Z', 'QUEUED', null],
      ['allow', '2026-11-23T10:00:00Z', 'QUEUED', null],
      ['cancel-previous', '2026-11-23T09:00:00Z', 'CANCELLED', null],
      ['cancel-previous', '2026-11-23T10:00:00Z', 'QUEUED', null],
      ['skip-if-running', '2026-11-23T09:00:00Z', 'QUEUED', null],
      ['skip-if-running', '2026-11-23T10:00:00Z', null, 'the previous run has not ended (SKIP_IF_RUNNING)'],
    ]);
  });

  it('pause, resume, trigger now and update with an etag', async () => {
    clock.set(at('2026-11-23T08:30:00Z'));
    const s = await create('ops', '0 * * * *', { timeZone: 'UTC' });
    const paused = await api.pause('default', s.id);
    expect(paused.nextFireTimes).toEqual([]);
    clock.set(at('2026-11-23T11:30:00Z'));
    await runner.runOnce(clock.now());
    const manual = await api.trigger('default', s.id);
    expect(manual.fire).toMatchObject({ manual: true, recorded: true, fireAt: new Date(clock.now()) });
    expect(manual.schedule.lastTaskId).toBe(manual.fire.taskId);
    const resumed = await api.resume('default', s.id);
    expect(iso(resumed.nextFireTimes[0]!)).toBe('2026-11-23T12:00:00Z');
    clock.set(at('2026-11-23T12:00:00Z'));
    await runner.runOnce(clock.now());
    expect(await firesByName()).toEqual({ ops: ['2026-11-23T12:00:00Z'] }); // nothing from the paused hours
    const stale = await api.update({ namespace: 'default', id: s.id, version: s.version, fields: ['cron'], spec: { cron: '*/30 * * * *' } }).catch((e: unknown) => e);
    expect(isDomainError(stale, 'conflict')).toBe(true);
    const cur = await api.get('default', s.id);
    const upd = await api.update({ namespace: 'default', id: s.id, version: cur.version, fields: ['cron'], spec: { cron: '*/30 * * * *' } });
    expect(upd.version).toBe(cur.version + 1);
    expect(upd.nextFireTimes.map(iso).slice(0, 2)).toEqual(['2026-11-23T12:30:00Z', '2026-11-23T13:00:00Z']);
  });

  it('a workflow template creates one workflow per fire', async () => {
    clock.set(at('2026-11-23T08:59:30Z'));
    await create('wf', '0 * * * *', {
      timeZone: 'UTC',
      template: { kind: 'workflow', workflow: { tasks: [{ name: 'a', dependsOn: [], task: { type: 'noop' } }, { name: 'b', dependsOn: ['a'], task: { type: 'noop' } }] } },
    });
    await runUntil(at('2026-11-23T10:00:30Z'));
    const r = await rows<{ fire_at: Date; name: string; tasks: string }>(db.orm, sql`
      select f.fire_at, w.name, (select count(*) from tasks t where t.workflow_id = w.id) tasks
      from schedule_fires f join workflows w on w.id = f.workflow_id order by f.fire_at`);
    expect(r.map((x) => [iso(x.fire_at), x.name, Number(x.tasks)])).toEqual([['2026-11-23T09:00:00Z', 'wf', 2], ['2026-11-23T10:00:00Z', 'wf', 2]]);
  });
});
