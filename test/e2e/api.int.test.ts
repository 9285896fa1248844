import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { jsonOf, valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster } from '../cluster.js';
import { connectJson } from '../curl.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';

describe('TaskService on the apiserver (no workers: tasks stay queued)', () => {
  let db: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  it('serves gRPC-Web over HTTP/1.1 and Connect over HTTP/2 on the same port', async () => {
    const web = createClient(TaskService, createGrpcWebTransport({ baseUrl: cluster.apiUrl, httpVersion: '1.1' }));
    const h2 = createClient(TaskService, createConnectTransport({ baseUrl: cluster.apiUrl, httpVersion: '2' }));
    const sub = await web.submitTask({ task: { type: 'noop', payload: valueOf({ via: 'grpc-web' }) } });
    const got = await h2.getTask({ id: sub.task!.id });
    expect(got.task?.status).toBe(TaskStatus.QUEUED);
    expect(jsonOf(got.task?.payload)).toEqual({ via: 'grpc-web' });
  });

  it('an idempotency key returns the first task, also within a batch', async () => {
    const c = cluster.client();
    const a = await c.submitTask({ task: { type: 'noop', idempotencyKey: 'order-17' } });
    const b = await c.submitTask({ task: { type: 'noop', idempotencyKey: 'order-17', priority: 9 } });
    expect(b.existing).toBe(true);
    expect(b.task!.id).toBe(a.task!.id);
    const batch = await c.submitTasks({ tasks: [{ type: 'noop', idempotencyKey: 'k2' }, { type: 'noop', idempotencyKey: 'k2' }] });
    expect(batch.tasks[0]!.id).toBe(batch.tasks[1]!.id);
  });

  it('a batch with one bad task stores nothing and names the bad index', async () => {
    const before = await cluster.sql.query('select count(*) n from tasks');
    const r = await connectJson(cluster.apiUrl, 'taskd.v1.TaskService/SubmitTasks', {
      tasks: [{ type: 'noop' }, { type: 'noop', priority: 5000 }, { type: 'noop' }],
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('tasks[1].priority: must be an integer from 0 to 1000');
    const after = await cluster.sql.query('select count(*) n from tasks');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('ListTasks filters by status, type and queue and pages with a cursor that survives changes', async () => {
    const c = cluster.client();
    await cluster.sql.query('delete from tasks');
    const tasks = Array.from({ length: 25 }, (_, i) => ({ type: i % 2 ? 'odd' : 'even', queue: i < 20 ? 'q1' : 'q2', payload: valueOf({ i }) }));
    const sub = await c.submitTasks({ tasks });
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await c.listTasks({ queue: 'q1', pageSize: 4, pageToken: token });
      seen.push(...page.tasks.map((t) => t.id));
      token = page.nextPageToken;
      // Tasks changing state while paging must not shift the cursor.
      if (pages++ === 0) await cluster.sql.query(`update tasks set status = 'SUCCEEDED' where queue = 'q1' and type = 'even'`);
    } while (token);
    const q1 = sub.tasks.filter((_, i) => i < 20).map((t) => t.id).reverse();
    expect(seen).toEqual(q1);
    const odd = await c.listTasks({ type: 'odd', statuses: [TaskStatus.QUEUED], pageSize: 100 });
    expect(odd.tasks).toHaveLength(12);
    const bad = await connectJson(cluster.apiUrl, 'taskd.v1.TaskService/ListTasks', { pageToken: 'garbage' });
    expect(bad.json).toMatchObject({ code: 'invalid_argument', message: 'page_token: is not a token this server issued' });
    const size = await connectJson(cluster.apiUrl, 'taskd.v1.TaskService/ListTasks', { pageSize: 5000 });
    expect(size.json.message).toBe('page_size: must be from 1 to 1000');
  });

  it('GetTask does not cross namespaces', async () => {
    const c = cluster.client();
    const t = await c.submitTask({ task: { type: 'noop', namespace: 'team-a' } });
    await expect(c.getTask({ id: t.task!.id, namespace: 'team-b' })).rejects.toThrow(/not found/);
    expect((await c.getTask({ id: t.task!.id, namespace: 'team-a' })).task?.namespace).toBe('team-a');
  });
});
