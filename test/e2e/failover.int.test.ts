import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, logMsg } from '../cluster.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, restartRedisEmpty, startPostgres, stopPostgres, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

describe('failure survival: paused leader, Redis loss, Postgres outage, frozen worker', () => {
  let db: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 2, workers: 2, slots: 4 });
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const noops = (n: number, extra: object = {}) => Array.from({ length: n }, (_, i) => ({ type: 'noop', payload: valueOf({ i }), ...extra }));
  const allSucceeded = async (ids: string[]) =>
    waitFor(`${ids.length} tasks to succeed`, async () => {
      const r = await cluster.sql.query<{ n: string }>("select count(*) n from tasks where id = any($1) and status = 'SUCCEEDED'", [ids]);
      return Number(r.rows[0]!.n) === ids.length;
    }, 60_000, 100);
  const epochOf = async (i: number) => ((await (await fetch(`http://${cluster.schedulers[i]!.addr}/readyz`)).json()) as { epoch: number }).epoch;

  it('a leader paused past its TTL writes nothing after it wakes', async () => {
    const old = await cluster.leaderIndex();
    const e1 = await epochOf(old);
    const standby = cluster.schedulers[1 - old]!;
    const paused = cluster.schedulers[old]!;
    const pausedAt = new Date();
    paused.proc.stop();
    const { epoch: e2 } = (await standby.proc.waitForLog(logMsg('became leader'), 15_000)) as { epoch: number };
    expect(e2).toBeGreaterThan(e1);
    // Work for the new leader, including due times the paused one also believes it owns.
    const sub = await cluster.client().submitTasks({ tasks: [...noops(40), ...noops(10, { start: { case: 'delay', value: durationFromMs(300) } })] });
    await allSucceeded(sub.tasks.map((t) => t.id));
    paused.proc.cont();
    await paused.proc.waitForLog(logMsg('term ended', { epoch: e1 }), 15_000);
    const tasks = await cluster.sql.query('select count(*) n from tasks where epoch = $1 and updated_at > $2', [e1, pausedAt]);
    const attempts = await cluster.sql.query('select count(*) n from attempts where epoch = $1 and started_at > $2', [e1, pausedAt]);
    expect(tasks.rows[0].n).toBe('0');
    expect(attempts.rows[0].n).toBe('0');
    // The woken scheduler is a standby now, and the cluster keeps working.
    expect(await cluster.leaderIndex()).toBe(1 - old);
    const more = await cluster.client().submitTasks({ tasks: noops(20) });
    await allSucceeded(more.tasks.map((t) => t.id));
  });

  it('Redis restarted empty with tasks pending, delayed and running: a new term rebuilds from Postgres, nothing is lost or re-run', async () => {
    await cluster.sql.query('delete from tasks');
    const c = cluster.client();
    const running = await c.submitTasks({ tasks: Array.from({ length: 8 }, () => ({ type: 'sleep', payload: valueOf({ ms: 1500 }) })) });
    await waitFor('8 sleeps running', async () =>
      (await cluster.sql.query("select 1 from tasks where status = 'RUNNING'")).rowCount === 8, 15_000);
    const queued = await c.submitTasks({ tasks: noops(100) });
    const delayed = await c.submitTasks({ tasks: noops(20, { start: { case: 'delay', value: durationFromMs(2000) } }) });
    const before = await Promise.all([0, 1].map(epochOf));
    await restartRedisEmpty();
    const ids = [...running.tasks, ...queued.tasks, ...delayed.tasks].map((t) => t.id);
    await allSucceeded(ids);
    const after = await waitFor('a new term', async () => {
      const i = await cluster.leaderIndex();
      const e = i >= 0 ? await epochOf(i) : 0;
      return e > Math.max(...before) ? e : undefined;
    }, 15_000);
    expect(after).toBeGreaterThan(Math.max(...before));
    const reruns = await cluster.sql.query('select count(*) n from tasks where id = any($1) and attempt > 1', [ids]);
    expect(reruns.rows[0].n).toBe('0');
  });

  it('Postgres down: submits fail UNAVAILABLE (never a false OK); everything accepted before and after completes', async () => {
    const c = cluster.client();
    const accepted: string[] = [];
    const failures: Code[] = [];
    let stop = false;
    let seq = 0;
    const loop = (async () => {
      while (!stop) {
        const key = `pg-outage-${seq++}`;
        try {
          const r = await c.submitTask({ task: { type: 'noop', idempotencyKey: key } }, { timeoutMs: 10_000 });
          accepted.push(r.task!.id);
        } catch (e) {
          failures.push(ConnectError.from(e).code);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await waitFor('some submits accepted', async () => accepted.length >= 5, 10_000);
    await stopPostgres();
    await waitFor('submits failing', async () => failures.length >= 5, 30_000);
    const acceptedDuringOutage = accepted.length;
    await startPostgres();
    await waitFor('submits accepted again', async () => accepted.length > acceptedDuringOutage + 5, 60_000);
    stop = true;
    await loop;
    expect(new Set(failures)).toEqual(new Set([Code.Unavailable]));
    await allSucceeded(accepted);
  });

  it('a frozen worker loses its lease; the task runs elsewhere; its late result is refused', async () => {
    const sub = await cluster.client().submitTask({ task: { type: 'sleep', payload: valueOf({ ms: 1500 }) } });
    const id = sub.task!.id;
    const holder = await waitFor('first attempt', async () =>
      (await cluster.sql.query<{ worker_id: string }>('select worker_id from attempts where task_id = $1 and number = 1', [id])).rows[0]?.worker_id, 15_000);
    const frozen = cluster.workers.find((w) => w.name === holder)!;
    frozen.stop();
    await allSucceeded([id]);
    frozen.cont();
    await frozen.waitForLog(logMsg('result refused: stale lease, dropped'), 20_000);
    const atts = await cluster.sql.query<{ worker_id: string; status: string; kind: string | null }>(
      "select worker_id, status, error->>'kind' kind from attempts where task_id = $1 order by number", [id]);
    expect(atts.rows).toEqual([
      { worker_id: holder, status: 'FAILED', kind: 'worker_lost' },
      { worker_id: cluster.workers.find((w) => w !== frozen)!.name, status: 'SUCCEEDED', kind: null },
    ]);
  });
});
