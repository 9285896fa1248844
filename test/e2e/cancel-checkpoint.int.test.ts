import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

describe('cancellation and checkpoints', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  const workers = new InprocWorkers();

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  it('cancelling a running task aborts its handler and ends it CANCELLED; the late result is refused', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let abortedWith: unknown;
    const w = await workers.start(cluster.schedulerAddrs, {
      wait: (ctx) => new Promise((resolve) => {
        started();
        ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
          resolve({ late: true });
        });
      }),
    });
    const acks: { accepted: boolean; code?: string }[] = [];
    w.on('result_acked', (e) => acks.push(e));
    const sub = await cluster.client().submitTask({ task: { type: 'wait' } });
    await running;
    const res = await cluster.client().cancelTask({ id: sub.task!.id, reason: 'user asked' });
    expect(res.task!.error).toMatchObject({ kind: 'cancelled', message: 'user asked' });
    await waitFor('the result ack', async () => acks.length > 0, 10_000);
    expect(abortedWith).toBeDefined();
    expect(acks[0]).toMatchObject({ accepted: false, code: 'FAILED_PRECONDITION' });
    const a = await cluster.sql.query('select status from attempts where task_id = $1', [sub.task!.id]);
    expect(a.rows).toEqual([{ status: 'CANCELLED' }]);
    expect((await cluster.client().getTask({ id: sub.task!.id })).task!.status).toBe(7);
  });

  it('cancel racing completion, 1,000 times: each task ends exactly once, and every party agrees which way', async () => {
    await cluster.sql.query('delete from tasks');
    const w = await workers.start(cluster.schedulerAddrs, {
      race: (ctx) => new Promise((r) => setTimeout(() => r({ done: ctx.taskId }), Math.random() * 10)),
    }, { slots: 32 });
    const accepted = new Set<string>();
    const refused = new Set<string>();
    w.on('result_acked', (e) => (e.accepted ? accepted : refused).add(e.taskId));
    const c = cluster.client();
    const outcome = new Map<string, 'cancelled' | 'too_late'>();
    const one = async (): Promise<void> => {
      const t = (await c.submitTask({ task: { type: 'race' } })).task!;
      await new Promise((r) => setTimeout(r, Math.random() * 12));
      try {
        await c.cancelTask({ id: t.id });
        outcome.set(t.id, 'cancelled');
      } catch (e) {
        expect(ConnectError.from(e).code).toBe(Code.FailedPrecondition);
        outcome.set(t.id, 'too_late');
      }
    };
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, one));
    await cluster.waitTerminal(1000, 60_000);
    const rows = await cluster.sql.query<{ id: string; status: string; attempts: { status: string; ended: boolean }[] }>(`
      select t.id, t.status, coalesce(json_agg(json_build_object('status', a.status, 'ended', a.ended_at is not null)) filter (where a.task_id is not null), '[]') attempts
      from tasks t left join attempts a on a.task_id = t.id group by t.id`);
    expect(rows.rows).toHaveLength(1000);
    // Results still in flight when the last task ended: wait for their acks.
    const ranToEnd = rows.rows.filter((r) => r.attempts.length > 0).map((r) => r.id);
    await waitFor('every worker result acknowledged', async () => ranToEnd.every((id) => accepted.has(id) || refused.has(id) || !rows.rows.find((r) => r.id === id)!.attempts.some((a) => a.status !== 'CANCELLED')), 20_000);
    let cancelled = 0;
    for (const r of rows.rows) {
      expect(['SUCCEEDED', 'CANCELLED']).toContain(r.status);
      expect(r.attempts.length).toBeLessThanOrEqual(1);
      expect(r.attempts.every((a) => a.ended)).toBe(true);
      if (r.status === 'CANCELLED') {
        cancelled++;
        expect(outcome.get(r.id)).toBe('cancelled');
        expect(accepted.has(r.id)).toBe(false);
        expect(r.attempts.every((a) => a.status === 'CANCELLED')).toBe(true);
      } else {
        expect(outcome.get(r.id)).toBe('too_late');
        expect(accepted.has(r.id)).toBe(true);
        expect(r.attempts.map((a) => a.status)).toEqual(['SUCCEEDED']);
      }
    }
    console.info(`cancel race: ${cancelled} cancelled, ${1000 - cancelled} completed first`);
    expect(cancelled).toBeGreaterThan(0);
    expect(cancelled).toBeLessThan(1000);
  });

  it('a checkpointing task killed at 60% resumes at its last checkpoint on the other worker', async () => {
    const [w1, w2] = [await cluster.startWorker(), await cluster.startWorker()];
    const sub = await cluster.client().submitTask({ task: { type: 'steps', payload: valueOf({ steps: 10, stepMs: 300 }) } });
    const id = sub.task!.id;
    const holder = await waitFor('6 of 10 steps checkpointed', async () => {
      const r = await cluster.sql.query<{ v: number; w: string }>('select checkpoint_version v, worker_id w from tasks where id = $1', [id]);
      return r.rows[0]!.v >= 6 ? r.rows[0]!.w : undefined;
    }, 30_000, 10);
    const victim = [w1, w2].find((w) => w.name === holder)!;
    victim.kill9();
    await victim.exited;
    const atKill = (await cluster.sql.query<{ v: number }>('select checkpoint_version v from tasks where id = $1', [id])).rows[0]!.v;
    await waitFor('task to succeed', async () =>
      (await cluster.sql.query('select 1 from tasks where id = $1 and status = $2', [id, 'SUCCEEDED'])).rowCount === 1, 30_000);
    const t = (await cluster.sql.query<{ output: { resumedFrom: number; steps: number } }>('select output from tasks where id = $1', [id])).rows[0]!;
    expect(t.output).toEqual({ steps: 10, resumedFrom: atKill });
    expect(atKill).toBeGreaterThanOrEqual(6);
    const atts = await cluster.sql.query<{ worker_id: string }>('select worker_id from attempts where task_id = $1 order by number', [id]);
    expect(atts.rows.map((r) => r.worker_id)).toEqual([holder, [w1, w2].find((w) => w !== victim)!.name]);
  });
});
