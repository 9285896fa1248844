import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { ClusterService } from '../../gen/taskd/v1/cluster_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, logMsg } from '../cluster.js';
import { connectJson } from '../curl.js';
import { grpcJsTaskClient } from '../grpc-js-client.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const SVC = 'taskd.v1.TaskService';

describe('execution spine on real Postgres and Redis (apiserver, 2 schedulers, 2 workers)', () => {
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

  const taskStatus = async (id: string): Promise<string | undefined> =>
    (await cluster.sql.query<{ status: string }>('select status from tasks where id = $1', [id])).rows[0]?.status;

  it('curl with the Connect JSON protocol submits a noop task that succeeds with its output', async () => {
    const sub = await connectJson(cluster.apiUrl, `${SVC}/SubmitTask`, { task: { type: 'noop', payload: { hello: 'curl' } } });
    expect(sub.status).toBe(200);
    const id = sub.json.task.id as string;
    await waitFor('task to succeed', async () => (await taskStatus(id)) === 'SUCCEEDED', 20_000);
    const got = await connectJson(cluster.apiUrl, `${SVC}/GetTask`, { id });
    expect(got.json.task.status).toBe('TASK_STATUS_SUCCEEDED');
    expect(got.json.task.output).toEqual({ hello: 'curl' });
    expect(got.json.task.attempts).toHaveLength(1);
  });

  it('a plain @grpc/grpc-js client submits and reads a task', async () => {
    const c = grpcJsTaskClient(cluster.apiservers[0]!.addr);
    try {
      const sub = await c.call('submitTask', {
        task: { type: 'noop', payload: { structValue: { fields: { hello: { stringValue: 'grpc-js' } } } } },
      });
      const id = sub.task.id as string;
      await waitFor('task to succeed', async () => (await taskStatus(id)) === 'SUCCEEDED', 20_000);
      const got = await c.call('getTask', { id });
      expect(got.task.status).toBe('TASK_STATUS_SUCCEEDED');
      expect(got.task.output.structValue.fields.hello.stringValue).toBe('grpc-js');
    } finally {
      c.close();
    }
  });

  it('1,000 tasks in one batch on 2 workers x 4 slots all succeed exactly once, higher priority first', async () => {
    await cluster.sql.query('delete from tasks');
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', payload: valueOf({ i }), priority: (i * 7919) % 10 }));
    const res = await cluster.client().submitTasks({ tasks });
    expect(res.tasks).toHaveLength(1000);
    await cluster.waitTerminal(1000, 60_000);
    expect(await cluster.statusCounts()).toEqual({ SUCCEEDED: 1000 });
    const att = await cluster.sql.query<{ n: string; max: number; workers: string }>(
      'select count(*) n, max(attempt) max, (select count(distinct worker_id) from attempts) workers from tasks',
    );
    const attempts = await cluster.sql.query<{ n: string }>('select count(*) n from attempts');
    expect(Number(attempts.rows[0]!.n)).toBe(1000);
    expect(att.rows[0]!.max).toBe(1);
    expect(Number(att.rows[0]!.workers)).toBe(2);
    // Claims are in priority order: no task started strictly after a lower-priority one.
    const order = await cluster.sql.query<{ priority: number; t: string }>(
      'select t.priority, a.started_at::text t from attempts a join tasks t on t.id = a.task_id order by a.started_at, t.priority desc',
    );
    let minSoFar = Infinity;
    let prevT = '';
    let prevMin = Infinity;
    for (const r of order.rows) {
      if (r.t !== prevT) {
        prevMin = minSoFar;
        prevT = r.t;
      }
      expect(r.priority).toBeLessThanOrEqual(prevMin);
      minSoFar = Math.min(minSoFar, r.priority);
    }
  });

  it('malformed requests get clear errors and the server keeps serving', async () => {
    const bad = async (body: unknown) => connectJson(cluster.apiUrl, `${SVC}/SubmitTask`, body);
    const missing = await bad({ task: { payload: {} } });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ code: 'invalid_argument', message: 'task.type: is required' });

    const notJson = await bad('{"task":{"type":"noop","payload":');
    expect(notJson.status).toBe(400);
    expect(notJson.json.code).toBe('invalid_argument');

    const negative = await bad({ task: { type: 'noop', priority: -1 } });
    expect(negative.status).toBe(400);
    expect(negative.json.message).toBe('task.priority: must be an integer from 0 to 1000');

    const huge = await bad({ task: { type: 'noop', payload: { blob: 'x'.repeat(10 * 1024 * 1024) } } });
    expect(huge.status).toBe(400);
    expect(huge.json.message).toMatch(/^task\.payload: is \d+ bytes of JSON; the limit is 1048576$/);

    const unknown = await connectJson(cluster.apiUrl, `${SVC}/GetTask`, { id: '01900000-0000-7000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 'not_found', message: 'task 01900000-0000-7000-8000-000000000000 not found' });

    const notUuid = await connectJson(cluster.apiUrl, `${SVC}/GetTask`, { id: 'nope' });
    expect(notUuid.json).toMatchObject({ code: 'invalid_argument', message: 'id: must be a UUID' });

    const typo = await bad({ task: { tpye: 'noop' } });
    expect(typo.status).toBe(400);
    expect(typo.json.message).toContain('tpye');

    // Garbage bytes where an HTTP/2 preface should be: the connection is dropped, nothing else.
    await new Promise<void>((resolve, reject) => {
      const [host, port] = cluster.apiservers[0]!.addr.split(':');
      const s = connect(Number(port), host, () => s.write(Buffer.from([0x16, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x0a, 0x0d, 0x0a])));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setTimeout(10_000, () => reject(new Error('garbage connection was not closed')));
      s.resume();
    });
    const ok = await bad({ task: { type: 'noop' } });
    expect(ok.status).toBe(200);
  });

  it('a worker killed with -9 mid-task: its task is re-dispatched to the other worker after the lease TTL and succeeds', async () => {
    const sub = await cluster.client().submitTask({ task: { type: 'sleep', payload: valueOf({ ms: 3000 }) } });
    const id = sub.task!.id;
    const first = await waitFor('first attempt', async () =>
      (await cluster.sql.query<{ worker_id: string }>('select worker_id from attempts where task_id = $1 and number = 1', [id])).rows[0]?.worker_id, 20_000);
    const victim = cluster.workers.find((w) => w.name === first)!;
    victim.kill9();
    await victim.exited;
    await waitFor('task to succeed on the other worker', async () => (await taskStatus(id)) === 'SUCCEEDED', 30_000);
    const atts = await cluster.sql.query<{ number: number; worker_id: string; status: string; error: { kind: string } | null }>(
      'select number, worker_id, status, error from attempts where task_id = $1 order by number', [id]);
    expect(atts.rows).toHaveLength(2);
    expect(atts.rows[0]).toMatchObject({ worker_id: first, status: 'FAILED', error: { kind: 'worker_lost' } });
    expect(atts.rows[1]!.worker_id).not.toBe(first);
    expect(atts.rows[1]!.status).toBe('SUCCEEDED');
    cluster.workers.splice(cluster.workers.indexOf(victim), 1);
    await cluster.startWorker();
  });

  it('ClusterService shows the leader, both schedulers, the workers and queue depths', async () => {
    const c = createClient(ClusterService, createGrpcTransport({ baseUrl: cluster.apiUrl }));
    await cluster.client().submitTask({ task: { type: 'noop', queue: 'parked', start: { case: 'delay', value: durationFromMs(3600_000) } } });
    const leader = await cluster.leaderIndex();
    const view = await waitFor('both schedulers announced', async () => {
      const v = await c.getCluster({});
      return v.schedulers.length === 2 ? v : undefined;
    }, 10_000);
    expect(view.leader?.address).toBe(`http://${cluster.schedulers[leader]!.addr}`);
    expect(view.schedulers.filter((s) => s.leader).map((s) => s.address)).toEqual([view.leader!.address]);
    expect(view.workers.map((w) => w.workerId).sort()).toEqual(cluster.workers.map((w) => w.name).sort());
    expect(view.workers.every((w) => w.slots === 4 && w.queues.includes('default'))).toBe(true);
    expect(view.queues.find((q) => q.queue === 'parked')).toMatchObject({ pending: 1n, queued: 0n });
    const rest = await connectJson(cluster.apiUrl, 'taskd.v1.ClusterService/GetCluster', {});
    expect(rest.json.leader.epoch).toBe(String(view.leader!.epoch));
  });

  it('killing the leader: the standby takes over within lock TTL + 1 s, workers follow, tasks before and after all finish once', async () => {
    await cluster.sql.query('delete from tasks');
    const before = await cluster.client().submitTasks({ tasks: Array.from({ length: 300 }, (_, i) => ({ type: 'noop', payload: valueOf({ i }) })) });
    const leader = await cluster.leaderIndex();
    expect(leader).toBeGreaterThanOrEqual(0);
    const standby = cluster.schedulers[1 - leader]!;
    const killedAt = Date.now();
    cluster.schedulers[leader]!.proc.kill9();
    const line = (await standby.proc.waitForLog(logMsg('became leader'), 10_000)) as { epoch: number };
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(2000 + 1000);
    await Promise.all(cluster.workers.map((w) => w.waitForLog(logMsg('worker connected', { epoch: line.epoch }), 15_000)));
    const after = await cluster.client().submitTasks({ tasks: Array.from({ length: 300 }, (_, i) => ({ type: 'noop', payload: valueOf({ i }) })) });
    await cluster.waitTerminal(600, 60_000);
    expect(await cluster.statusCounts()).toEqual({ SUCCEEDED: 600 });
    const ids = [...before.tasks, ...after.tasks].map((t) => t.id);
    const once = await cluster.sql.query<{ n: string }>('select count(*) n from tasks where id = any($1) and attempt = 1', [ids]);
    expect(Number(once.rows[0]!.n)).toBe(600);
  });
});
