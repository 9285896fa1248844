import { durationFromMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';
import { MisfirePolicy, ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { Cluster } from '../cluster.js';
import { connectJson } from '../curl.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

describe('cron schedules end to end (2 schedulers, 1 worker, real Postgres and Redis)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let sc: Client<typeof ScheduleService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 2, workers: 1, slots: 8 });
    sc = createClient(ScheduleService, createGrpcTransport({ baseUrl: cluster.apiUrl }));
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const epochOf = async (i: number): Promise<number> =>
    ((await (await fetch(`http://${cluster.schedulers[i]!.addr}/readyz`)).json()) as { epoch: number }).epoch;
  const fireCount = async (scheduleId: string): Promise<number> =>
    Number((await cluster.sql.query('select count(*) n from schedule_fires where schedule_id = $1', [scheduleId])).rows[0].n);

  /**
   * Kills the leader with SIGKILL while the standby is frozen, so that no leader runs
   * until the newest fire is more than 2 s old (longer than the 1 s misfire grace, a
   * deterministic outage instead of whatever the takeover time happens to be); thaws the
   * standby, waits for its new term, restarts the killed one as the new standby.
   */
  const killLeader = async (scheduleId: string): Promise<void> => {
    const i = await waitFor('a leader', async () => {
      const x = await cluster.leaderIndex();
      return x >= 0 ? x : undefined;
    }, 30_000);
    const before = await epochOf(i);
    const standby = cluster.schedulers[1 - i]!.proc;
    const proc = cluster.schedulers[i]!.proc;
    standby.stop();
    proc.kill9();
    await proc.exited;
    await waitFor('an outage longer than the grace', async () => {
      const r = await cluster.sql.query('select extract(epoch from now() - max(fire_at)) * 1000 ms from schedule_fires where schedule_id = $1', [scheduleId]);
      return Number(r.rows[0].ms) > 2_200;
    }, 30_000, 100);
    standby.cont();
    await waitFor('the standby to take over', async () => {
      const x = await cluster.leaderIndex();
      return x >= 0 && x !== i && (await epochOf(x)) > before;
    }, 30_000, 100);
    await cluster.startScheduler(i);
  };

  it('every second for 60 s through two leader kills: exactly one run per fire time, none missed (FIRE_ALL)', { timeout: 240_000 }, async () => {
    const { schedule } = await sc.createSchedule({
      schedule: {
        name: 'every-second', cron: '* * * * * *', timeZone: 'Europe/Berlin', template: { case: 'task', value: { type: 'noop' } },
        misfirePolicy: MisfirePolicy.FIRE_ALL, misfireCap: 1000, misfireGrace: durationFromMs(1000),
      },
    });
    const id = schedule!.id;
    await waitFor('the first fires', async () => (await fireCount(id)) >= 15, 60_000, 200);
    await killLeader(id);
    await waitFor('fires under the second leader', async () => (await fireCount(id)) >= 35, 60_000, 200);
    await killLeader(id);
    await waitFor('60 s of fires', async () => {
      const r = await cluster.sql.query('select extract(epoch from max(fire_at) - min(fire_at)) s from schedule_fires where schedule_id = $1', [id]);
      return Number(r.rows[0].s) >= 60;
    }, 90_000, 200);
    await sc.pauseSchedule({ id });
    const fires = (await cluster.sql.query<{ fire_at: Date; task_id: string | null; epoch: number; late_ms: number }>(`
      select fire_at, task_id, epoch, extract(epoch from created_at - fire_at) * 1000 late_ms
      from schedule_fires where schedule_id = $1 and not manual order by fire_at`, [id])).rows;
    // No gap: consecutive seconds from the first fire to the last, 61 or more of them.
    expect(fires.length).toBeGreaterThanOrEqual(61);
    const gaps = fires.filter((f, i) => i > 0 && f.fire_at.getTime() - fires[i - 1]!.fire_at.getTime() !== 1000);
    expect(gaps.map((g) => g.fire_at.toISOString())).toEqual([]);
    expect(fires.every((f) => f.fire_at.getMilliseconds() === 0 && f.task_id)).toBe(true);
    // Three terms wrote fires: the first leader, and one after each kill; each new leader
    // caught up fires missed while no leader ran (later than the 1 s grace: FIRE_ALL ran them).
    expect(new Set(fires.map((f) => f.epoch)).size).toBeGreaterThanOrEqual(3);
    const missed = fires.filter((f) => Number(f.late_ms) > 1000);
    expect(new Set(missed.map((f) => f.epoch)).size).toBeGreaterThanOrEqual(2);
    // Exactly one task per fire time, each run once to success.
    await waitFor('every run to succeed', async () => {
      const r = await cluster.sql.query("select count(*) n from tasks where idempotency_key like $1 and status = 'SUCCEEDED'", [`schedule:${id}:%`]);
      return Number(r.rows[0].n) >= fires.length;
    }, 60_000, 200);
    const perFire = await cluster.sql.query<{ key: string; tasks: string; attempts: string }>(`
      select t.idempotency_key key, count(distinct t.id) tasks, count(a.*) attempts
      from tasks t left join attempts a on a.task_id = t.id
      where t.idempotency_key like $1 group by t.idempotency_key`, [`schedule:${id}:%`]);
    expect(perFire.rows.length).toBe(fires.length);
    expect(perFire.rows.filter((r) => r.tasks !== '1' || r.attempts !== '1')).toEqual([]);
    expect(new Set(perFire.rows.map((r) => r.key))).toEqual(new Set(fires.map((f) => `schedule:${id}:${f.fire_at.toISOString()}`)));
  });

  it('GetSchedule shows the next five fire times in the schedule\'s zone, across the autumn DST change', async () => {
    const { schedule } = await sc.createSchedule({
      schedule: {
        name: 'berlin-nightly', cron: '30 2 * * *', timeZone: 'Europe/Berlin', template: { case: 'task', value: { type: 'noop' } },
        startAt: timestampFromDate(new Date('2030-10-25T12:00:00Z')),
      },
    });
    const got = (await sc.getSchedule({ id: schedule!.id })).schedule!;
    // 2030-10-27 is the autumn change: 02:30 happens twice and fires once, at the first (CEST, +2).
    expect(got.nextFireTimes.map((t) => timestampDate(t).toISOString())).toEqual([
      '2030-10-26T00:30:00.000Z', '2030-10-27T00:30:00.000Z', '2030-10-28T01:30:00.000Z', '2030-10-29T01:30:00.000Z', '2030-10-30T01:30:00.000Z',
    ]);
    expect(got.version).toBe(1n);
    const list = await sc.listSchedules({});
    expect(list.schedules.map((s) => s.name)).toContain('berlin-nightly');
  });

  it('TriggerSchedule creates a run now through the apiserver, even while paused', async () => {
    const { schedule } = await sc.createSchedule({
      schedule: { name: 'manual', cron: '0 0 1 1 *', template: { case: 'task', value: { type: 'noop' } }, paused: true },
    });
    const r = await sc.triggerSchedule({ id: schedule!.id });
    expect(r.fire).toMatchObject({ manual: true, skippedReason: '' });
    await waitFor('the manual run to succeed', async () =>
      (await cluster.sql.query("select 1 from tasks where id = $1 and status = 'SUCCEEDED'", [r.fire!.taskId])).rowCount === 1, 30_000, 100);
    expect(r.schedule!.lastTaskId).toBe(r.fire!.taskId);
  });

  it.each([
    ['a bad cron expression', { cron: '61 * * * *' }, 'schedule.cron', 'schedule.cron: is not a valid cron expression: Constraint error, got value 61 expected range 0-59'],
    ['a cron with 4 fields', { cron: '* * * *' }, 'schedule.cron', 'schedule.cron: must have 5 fields (minute hour day-of-month month day-of-week) or 6 (second first); got 4'],
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, 'schedule.time_zone', 'schedule.time_zone: "Mars/Olympus_Mons" is not a known IANA time zone (e.g. "Europe/Berlin", "UTC")'],
    ['end before start', { startAt: '2031-01-02T00:00:00Z', endAt: '2031-01-01T00:00:00Z' }, 'schedule.end_at', 'schedule.end_at: must be after start_at'],
  ])('%s is INVALID_ARGUMENT (REST 400) naming the field, and nothing is stored', async (_what, bad, field, message) => {
    const before = await cluster.sql.query('select count(*) n from schedules');
    const body = { schedule: { name: 'bad', cron: '0 * * * *', timeZone: 'UTC', task: { type: 'noop' }, ...bad } };
    const r = await connectJson(cluster.apiUrl, 'taskd.v1.ScheduleService/CreateSchedule', body);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'invalid_argument', message });
    const e = await sc.createSchedule({
      schedule: {
        name: 'bad', cron: (bad as { cron?: string }).cron ?? '0 * * * *', timeZone: (bad as { timeZone?: string }).timeZone ?? 'UTC',
        template: { case: 'task', value: { type: 'noop' } },
        startAt: (bad as { startAt?: string }).startAt ? timestampFromDate(new Date((bad as { startAt: string }).startAt)) : undefined,
        endAt: (bad as { endAt?: string }).endAt ? timestampFromDate(new Date((bad as { endAt: string }).endAt)) : undefined,
      },
    }).then(() => undefined, (err: unknown) => ConnectError.from(err));
    expect(e?.code).toBe(Code.InvalidArgument);
    expect(e?.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field))).toEqual([field]);
    expect((await cluster.sql.query('select count(*) n from schedules')).rows).toEqual(before.rows);
  });
});
