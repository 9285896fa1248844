import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { jsonOf, valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, FAST_TIMINGS } from '../cluster.js';
import { connectJson } from '../curl.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const SVC = 'taskd.v1.TaskService';
const AGING_MS = 1_000;

interface AttemptRow { number: number; status: string; started_at: Date; ended_at: Date | null; error: { kind: string } | null; worker_id: string }

describe('execution semantics: delays, retries, timeouts, idempotency, aging, updates', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  const workers = new InprocWorkers();

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0,
      env: { ...FAST_TIMINGS, TASKD_AGING_MS: String(AGING_MS), TASKD_MAX_HORIZON_MS: String(30 * 24 * 3600 * 1000) },
    });
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const attempts = async (id: string) =>
    (await cluster.sql.query<AttemptRow>('select * from attempts where task_id = $1 order by number', [id])).rows;
  const statusOf = async (id: string) => (await cluster.sql.query<{ status: string }>('select status from tasks where id = $1', [id])).rows[0]?.status;
  const ended = (id: string, status = 'SUCCEEDED') => waitFor(`task ${id} ${status}`, async () => (await statusOf(id)) === status, 30_000);

  it('a task with a 2 s delay never starts before 2.0 s after submit', async () => {
    const starts = new Map<string, number>();
    await workers.start(cluster.schedulerAddrs, { probe: (ctx) => { starts.set(ctx.taskId, Date.now()); return {}; } });
    const before = Date.now();
    const sub = await cluster.client().submitTask({ task: { type: 'probe', start: { case: 'delay', value: durationFromMs(2000) } } });
    const id = sub.task!.id;
    expect(sub.task!.status).toBe(TaskStatus.PENDING);
    await ended(id);
    expect(starts.get(id)! - before).toBeGreaterThanOrEqual(2000);
    const [a] = await attempts(id);
    const created = sub.task!.createdAt!;
    expect(a!.started_at.getTime() - (Number(created.seconds) * 1000 + created.nanos / 1e6)).toBeGreaterThanOrEqual(2000);
    expect(starts.get(id)! - before).toBeLessThan(2000 + 3000);
  });

  it('1,000 tasks with random delays all start, none early', async () => {
    await cluster.sql.query('delete from tasks');
    await workers.start(cluster.schedulerAddrs, { probe: () => ({}) }, { slots: 64 });
    const tasks = Array.from({ length: 1000 }, () => ({ type: 'probe', start: { case: 'delay' as const, value: durationFromMs(Math.floor(Math.random() * 3000)) } }));
    await cluster.client().submitTasks({ tasks });
    await cluster.waitTerminal(1000, 60_000);
    const r = await cluster.sql.query<{ early: string; p50: number; p99: number; max: number }>(`
      select count(*) filter (where a.started_at < coalesce(t.run_at, t.created_at)) early,
             percentile_cont(0.5) within group (order by extract(epoch from a.started_at - coalesce(t.run_at, t.created_at)) * 1000) p50,
             percentile_cont(0.99) within group (order by extract(epoch from a.started_at - coalesce(t.run_at, t.created_at)) * 1000) p99,
             max(extract(epoch from a.started_at - coalesce(t.run_at, t.created_at)) * 1000) max
      from tasks t join attempts a on a.task_id = t.id and a.number = 1`);
    expect(Number(r.rows[0]!.early)).toBe(0);
    console.info(`delay lateness over 1000 tasks: p50 ${r.rows[0]!.p50.toFixed(1)} ms, p99 ${r.rows[0]!.p99.toFixed(1)} ms, max ${Number(r.rows[0]!.max).toFixed(1)} ms`);
  });

  it('fails twice then succeeds: three attempts with backoff gaps inside the jittered bounds', async () => {
    const calls = new Map<string, number>();
    await workers.start(cluster.schedulerAddrs, {
      twice: (ctx) => {
        const n = (calls.get(ctx.taskId) ?? 0) + 1;
        calls.set(ctx.taskId, n);
        expect(ctx.attempt).toBe(n);
        if (n < 3) throw new Error(`boom ${n}`);
        return { n };
      },
    });
    const policy = { maxAttempts: 5, initialBackoff: durationFromMs(400), maxBackoff: durationFromMs(5000), multiplier: 2, jitter: 0.5 };
    const sub = await cluster.client().submitTask({ task: { type: 'twice', retryPolicy: policy, idempotencyKey: 'twice-1' } });
    await ended(sub.task!.id);
    const a = await attempts(sub.task!.id);
    expect(a.map((x) => x.status)).toEqual(['FAILED', 'FAILED', 'SUCCEEDED']);
    const gap = (i: number) => a[i + 1]!.started_at.getTime() - a[i]!.ended_at!.getTime();
    // backoff n = 400 * 2^(n-1) ms, jitter 0.5: in [base/2, base], plus dispatch time (generous upper slack).
    expect(gap(0)).toBeGreaterThanOrEqual(200 - 5);
    expect(gap(0)).toBeLessThanOrEqual(400 + 1000);
    expect(gap(1)).toBeGreaterThanOrEqual(400 - 5);
    expect(gap(1)).toBeLessThanOrEqual(800 + 1000);
    const got = await cluster.client().getTask({ id: sub.task!.id });
    expect(got.task!.attempts.map((x) => x.error?.message ?? '')).toEqual(['boom 1', 'boom 2', '']);
    expect(got.task!.attempts.every((x) => x.workerId && x.startedAt && x.endedAt)).toBe(true);
  });

  it('always failing ends DEAD_LETTERED after max attempts, with a dead-letter row', async () => {
    await workers.start(cluster.schedulerAddrs, { never: () => { throw new Error('still broken'); } });
    const policy = { maxAttempts: 3, initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(100) };
    const sub = await cluster.client().submitTask({ task: { type: 'never', retryPolicy: policy } });
    await ended(sub.task!.id, 'DEAD_LETTERED');
    expect(await attempts(sub.task!.id)).toHaveLength(3);
    const dl = await cluster.sql.query<{ error: { message: string } }>('select error from dead_letters where task_id = $1', [sub.task!.id]);
    expect(dl.rows[0]!.error.message).toBe('still broken');
  });

  it('non-retryable failure ends FAILED after one attempt', async () => {
    const { NonRetryableError } = await import('../../internal/sdk/index.js');
    await workers.start(cluster.schedulerAddrs, { fatal: () => { throw new NonRetryableError('bad input'); } });
    const sub = await cluster.client().submitTask({ task: { type: 'fatal' } });
    await ended(sub.task!.id, 'FAILED');
    expect(await attempts(sub.task!.id)).toHaveLength(1);
  });

  it('a handler hanging past its timeout: the leader times the attempt out, aborts its signal, and retries', async () => {
    const aborted = new Map<number, unknown>();
    await workers.start(cluster.schedulerAddrs, {
      hang: async (ctx) => {
        if (ctx.attempt > 1) return { ok: ctx.attempt };
        ctx.signal.addEventListener('abort', () => aborted.set(ctx.attempt, ctx.signal.reason));
        return new Promise(() => undefined); // never answers
      },
    });
    const sub = await cluster.client().submitTask({
      task: { type: 'hang', timeout: durationFromMs(500), retryPolicy: { maxAttempts: 2, initialBackoff: durationFromMs(10) } },
    });
    await ended(sub.task!.id);
    const a = await attempts(sub.task!.id);
    expect(a[0]).toMatchObject({ status: 'FAILED', error: { kind: 'timeout' } });
    expect(a[1]!.status).toBe('SUCCEEDED');
    expect(aborted.has(1)).toBe(true);
  });

  it('50 concurrent submits with one idempotency key make one task', async () => {
    const c = cluster.client();
    const res = await Promise.all(Array.from({ length: 50 }, () => c.submitTask({ task: { type: 'noop', idempotencyKey: 'same-50' } })));
    expect(new Set(res.map((r) => r.task!.id)).size).toBe(1);
    expect(res.filter((r) => !r.existing)).toHaveLength(1);
    const n = await cluster.sql.query<{ n: string }>("select count(*) n from tasks where idempotency_key = 'same-50'");
    expect(n.rows[0]!.n).toBe('1');
  });

  it('aging: a low-priority task is not starved by a stream of higher ones', async () => {
    await cluster.sql.query('delete from tasks');
    const order: string[] = [];
    const c = cluster.client();
    const low = await c.submitTask({ task: { type: 'busy', priority: 0, queue: 'aging' } });
    await c.submitTasks({ tasks: Array.from({ length: 120 }, () => ({ type: 'busy', priority: 9, queue: 'aging' })) });
    const w = await import('../../internal/sdk/index.js');
    const worker = new w.Worker({ addresses: cluster.schedulerAddrs, slots: 1, queues: ['aging'], logger: (await import('../../internal/shared/logger.js')).silentLogger() });
    worker.register('busy', async (ctx) => {
      order.push(ctx.taskId);
      await new Promise((r) => setTimeout(r, 25));
      return {};
    });
    const ctl = new AbortController();
    const done = worker.run(ctl.signal);
    try {
      await ended(low.task!.id);
    } finally {
      ctl.abort();
      await done;
    }
    const lowAt = order.indexOf(low.task!.id);
    // Strict priority would run it last (index 120); aging takes it within about AGING_MS of work plus 10 dispatches.
    expect(lowAt).toBeGreaterThan(0);
    expect(lowAt).toBeLessThan(120);
  });

  it('UpdateTask changes a task that has not started, with etag checks', async () => {
    const c = cluster.client();
    const sub = await c.submitTask({ task: { type: 'probe2', start: { case: 'delay', value: durationFromMs(3600_000) }, labels: { env: 'dev' } } });
    const t = sub.task!;
    const up = await c.updateTask({ id: t.id, version: t.version, updateMask: { paths: ['priority', 'labels', 'payload'] }, priority: 7, labels: { env: 'prod' }, payload: valueOf({ v: 2 }) });
    expect(up.task).toMatchObject({ priority: 7, labels: { env: 'prod' }, version: t.version + 1n });
    expect(jsonOf(up.task!.payload)).toEqual({ v: 2 });
    const stale = await connectJson(cluster.apiUrl, `${SVC}/UpdateTask`, { id: t.id, version: String(t.version), updateMask: 'priority', priority: 1 });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ code: 'aborted', message: `version ${t.version} is stale; the task is at version ${t.version + 1n}` });
    const listed = await c.listTasks({ labels: ['env=prod'], statuses: [TaskStatus.PENDING] });
    expect(listed.tasks.map((x) => x.id)).toEqual([t.id]);
    // Moving run_at to now makes it ready; once it ran, updates are refused.
    await workers.start(cluster.schedulerAddrs, { probe2: () => ({}) });
    const now = await c.updateTask({ id: t.id, version: up.task!.version, updateMask: { paths: ['run_at'] }, runAt: timestampFromDate(new Date()) });
    expect(now.task!.status).toBe(TaskStatus.QUEUED);
    await ended(t.id);
    const late = await connectJson(cluster.apiUrl, `${SVC}/UpdateTask`, { id: t.id, version: String(now.task!.version), updateMask: 'priority', priority: 1 });
    expect(late.json.code).toBe('failed_precondition');
    const mask = await connectJson(cluster.apiUrl, `${SVC}/UpdateTask`, { id: t.id, version: '1', updateMask: 'type' });
    expect(mask.json.message).toBe('update_mask: "type" cannot be updated; allowed: priority, run_at, delay, payload, labels');
  });

  it('bad input gets a clear, specific error', async () => {
    const submit = async (task: object) => (await connectJson(cluster.apiUrl, `${SVC}/SubmitTask`, { task })).json;
    expect((await submit({ type: 'noop', delay: '-1s' })).message).toBe('task.delay: must not be negative');
    expect((await submit({ type: 'noop', runAt: '2100-01-01T00:00:00Z' })).message).toBe('task.run_at: must be at most 2592000000 ms in the future');
    expect((await submit({ type: 'noop', retryPolicy: { maxAttempts: 0 } })).message).toBe('task.retry_policy.max_attempts: must be from 1 to 100');
    expect((await submit({ type: 'noop', retryPolicy: { maxAttempts: 1000000 } })).message).toBe('task.retry_policy.max_attempts: must be from 1 to 100');
    expect((await submit({ type: 'noop', queue: 'emails/urgent' })).message).toBe('task.queue: must be 1-64 of A-Z, a-z, 0-9, "_", ".", ":" or "-"');
    const t = await cluster.client().submitTask({ task: { type: 'noop', start: { case: 'delay', value: durationFromMs(3600_000) } } });
    await cluster.client().cancelTask({ id: t.task!.id });
    const again = await connectJson(cluster.apiUrl, `${SVC}/CancelTask`, { id: t.task!.id });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ code: 'failed_precondition', message: `task ${t.task!.id} is CANCELLED; only pending, queued or running tasks can be cancelled` });
  });
});
