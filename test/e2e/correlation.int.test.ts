import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventService } from '../../gen/taskd/v1/event_service_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { WorkflowService } from '../../gen/taskd/v1/workflow_service_pb.js';
import { jsonOf } from '../../internal/rpc/convert/json.js';
import type { TaskContext } from '../../internal/sdk/index.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { freePort, reapAll, spawnTaskd, type TaskdProcess } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The task's correlation id in every event ListEvents has of it, once `last` (an event type) is among them. */
async function eventCorrelationIds(transport: Transport, taskId: string, last: string): Promise<string[]> {
  const events = createClient(EventService, transport);
  const evs = await waitFor(`the ${last} event of task ${taskId}`, async () => {
    const r = await events.listEvents({ filter: { aggregateIds: [taskId] } });
    return r.events.some((e) => e.type === last) ? r.events : undefined;
  }, 30_000, 100);
  return evs.map((e) => (e.data.case === 'task' ? e.data.value.correlationId : `<${e.data.case}>`));
}

describe('correlation ids on a real cluster (apiserver, scheduler and worker processes; an in-test worker)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  const workers = new InprocWorkers();
  /** Contexts the in-test `capture` handler saw, by task id. */
  const seen = new Map<string, TaskContext>();

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 1,
      // Debug: the apiserver's access lines and the worker's attempt lines.
      env: { ...FAST_TIMINGS, TASKD_LOG_LEVEL: 'debug' },
    });
    await workers.start(cluster.schedulerAddrs, {
      capture: (ctx) => {
        seen.set(ctx.taskId, ctx);
        return { correlationId: ctx.correlationId };
      },
    });
  }, 120_000);
  afterAll(async () => {
    await workers.stopAll();
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const apiserver = (): TaskdProcess => cluster.apiservers[0]!.proc;
  const worker = (): TaskdProcess => cluster.workers[0]!;
  const succeeded = (id: string) => waitFor(`task ${id} to succeed`, async () => {
    const t = (await cluster.client().getTask({ id })).task;
    return t?.status === TaskStatus.SUCCEEDED ? t : undefined;
  }, 30_000, 100);

  it('gRPC: x-request-id is echoed, stored on the tasks, seen by the handler, in every event and in apiserver and worker log lines', async () => {
    let echoed: string | null = null;
    const r = await cluster.client().submitTasks(
      { tasks: [{ type: 'capture' }, { type: 'noop' }] },
      { headers: { 'x-request-id': 'test-123' }, onHeader: (h) => void (echoed = h.get('x-request-id')) },
    );
    expect(echoed).toBe('test-123');
    const [captured, noop] = r.tasks.map((t) => t.id) as [string, string];
    expect(r.tasks.map((t) => t.correlationId)).toEqual(['test-123', 'test-123']);

    await succeeded(captured);
    await succeeded(noop);
    expect(seen.get(captured)?.correlationId).toBe('test-123');
    const got = (await cluster.client().getTask({ id: captured })).task!;
    expect(got.correlationId).toBe('test-123');
    expect(jsonOf(got.output)).toEqual({ correlationId: 'test-123' });
    const listed = await cluster.client().listTasks({ type: 'noop' });
    expect(listed.tasks.find((t) => t.id === noop)?.correlationId).toBe('test-123');

    for (const id of [captured, noop]) {
      const ids = await eventCorrelationIds(cluster.transport(), id, 'task.succeeded');
      expect(ids.length).toBeGreaterThanOrEqual(3); // created, started, succeeded
      expect(new Set(ids)).toEqual(new Set(['test-123']));
    }

    await apiserver().waitForLog(logMsg('rpc', { requestId: 'test-123', method: 'taskd.v1.TaskService/SubmitTasks', code: 'OK' }), 10_000);
    await worker().waitForLog(logMsg('attempt assigned', { taskId: noop, correlationId: 'test-123' }), 10_000);
    await worker().waitForLog(logMsg('attempt completed', { taskId: noop, correlationId: 'test-123' }), 10_000);
    // Tracing is off in this cluster: nothing to continue.
    const stored = await cluster.sql.query<{ trace_context: string | null }>('select trace_context from tasks where id = $1', [noop]);
    expect(stored.rows[0]?.trace_context).toBeNull();
  });

  it('gRPC: without the header, or with one that is not sane, a generated id is used and echoed', async () => {
    const cases: Record<string, string>[] = [{}, { 'x-request-id': 'has spaces and ünicode' }, { 'x-request-id': 'x'.repeat(129) }];
    for (const headers of cases) {
      let echoed: string | null = null;
      const r = await cluster.client().submitTask({ task: { type: 'noop' } }, { headers, onHeader: (h) => void (echoed = h.get('x-request-id')) });
      expect(echoed).toMatch(UUID_V7);
      expect(r.task?.correlationId).toBe(echoed);
      expect((await cluster.client().getTask({ id: r.task!.id })).task?.correlationId).toBe(echoed);
      await apiserver().waitForLog(logMsg('rpc', { requestId: echoed, method: 'taskd.v1.TaskService/SubmitTask' }), 10_000);
    }
  });

  it('errors echo the id too, and the access line has their code', async () => {
    const err = await cluster.client().getTask({ id: '01900000-0000-7000-8000-000000000000' }, { headers: { 'x-request-id': 'missing-1' } })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.metadata.get('x-request-id')).toBe('missing-1');
    await apiserver().waitForLog(logMsg('rpc', { requestId: 'missing-1', method: 'taskd.v1.TaskService/GetTask', code: 'NOT_FOUND' }), 10_000);
  });

  it('REST: x-request-id is echoed and the task shows it', async () => {
    const submit = (headers: Record<string, string>) => fetch(`${cluster.apiUrl}/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ type: 'noop' }),
    });
    const post = await submit({ 'x-request-id': 'rest-abc/1' });
    expect(post.status).toBe(200);
    expect(post.headers.get('x-request-id')).toBe('rest-abc/1');
    const id = ((await post.json()) as { id: string }).id;
    const get = await fetch(`${cluster.apiUrl}/v1/tasks/${id}`);
    expect(get.headers.get('x-request-id')).toMatch(UUID_V7);
    expect(((await get.json()) as { correlationId: string }).correlationId).toBe('rest-abc/1');
    await apiserver().waitForLog(logMsg('rpc', { requestId: 'rest-abc/1', method: 'taskd.v1.TaskService/SubmitTask', code: 'OK' }), 10_000);

    const generated = await submit({});
    const body = (await generated.json()) as { correlationId: string };
    expect(body.correlationId).toMatch(UUID_V7);
    expect(generated.headers.get('x-request-id')).toBe(body.correlationId);
  });

  it('a workflow: every task carries the SubmitWorkflow request id', async () => {
    const wf = await createClient(WorkflowService, cluster.transport()).submitWorkflow({
      workflow: { name: 'corr', tasks: [{ name: 'a', task: { type: 'noop' } }, { name: 'b', dependsOn: ['a'], task: { type: 'capture' } }] },
    }, { headers: { 'x-request-id': 'wf-7' } });
    const ids = wf.workflow!.tasks.map((t) => t.task!.id);
    expect(wf.workflow!.tasks.map((t) => t.task!.correlationId)).toEqual(['wf-7', 'wf-7']);
    for (const id of ids) await succeeded(id);
    expect(seen.get(ids[1]!)?.correlationId).toBe('wf-7');
  });

  it('schedules: a triggered run carries the TriggerSchedule request id; a scheduled fire\'s run carries the fire\'s own id', async () => {
    const sc = createClient(ScheduleService, cluster.transport());
    const noop = { case: 'task' as const, value: { type: 'noop' } };
    const manual = (await sc.createSchedule({ schedule: { name: 'corr-manual', cron: '0 0 1 1 *', template: noop, paused: true } })).schedule!;
    const r = await sc.triggerSchedule({ id: manual.id }, { headers: { 'x-request-id': 'trigger-9' } });
    expect((await cluster.client().getTask({ id: r.fire!.taskId })).task?.correlationId).toBe('trigger-9');

    const every = (await sc.createSchedule({ schedule: { name: 'corr-every-second', cron: '* * * * * *', template: noop } })).schedule!;
    const fire = await waitFor('a scheduled fire with a run', async () => (await cluster.sql.query<{ id: string; task_id: string }>(
      'select id, task_id from schedule_fires where schedule_id = $1 and not manual and task_id is not null order by fire_at limit 1', [every.id],
    )).rows[0], 30_000, 100);
    await sc.pauseSchedule({ id: every.id });
    expect((await cluster.client().getTask({ id: fire.task_id })).task?.correlationId).toBe(fire.id);
  });
});

describe('correlation ids in the embedded default (npm start, PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskd-correlation-'));
  afterAll(async () => {
    await reapAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('echoes x-request-id, stores it on the task and its events, and the in-process worker logs it', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dev = spawnTaskd('dev', 'cmd/dev/main.ts', { TASKD_ADDR: `127.0.0.1:${port}`, TASKD_DATA_DIR: dataDir, TASKD_LOG_LEVEL: 'debug' });
    await dev.waitForLog(logMsg('listening'), 60_000);
    await dev.waitForLog(logMsg('worker connected'), 30_000);
    const connect = (method: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    const sub = await connect('taskd.v1.TaskService/SubmitTask', { task: { type: 'noop', payload: { hello: 'embedded' } } }, { 'x-request-id': 'dev-req-1' });
    expect(sub.status).toBe(200);
    expect(sub.headers.get('x-request-id')).toBe('dev-req-1');
    const id = ((await sub.json()) as { task: { id: string } }).task.id;
    const done = await waitFor('the embedded task to succeed', async () => {
      const t = ((await (await connect('taskd.v1.TaskService/GetTask', { id })).json()) as { task: { status: string; correlationId: string } }).task;
      return t.status === 'TASK_STATUS_SUCCEEDED' ? t : undefined;
    }, 30_000, 100);
    expect(done.correlationId).toBe('dev-req-1');
    const list = (await (await connect('taskd.v1.EventService/ListEvents', { filter: { aggregateIds: [id] } })).json()) as {
      events: { type: string; task: { correlationId: string } }[];
    };
    expect(list.events.map((e) => e.type)).toEqual(expect.arrayContaining(['task.created', 'task.started', 'task.succeeded']));
    expect(new Set(list.events.map((e) => e.task.correlationId))).toEqual(new Set(['dev-req-1']));
    await dev.waitForLog(logMsg('rpc', { requestId: 'dev-req-1', method: 'taskd.v1.TaskService/SubmitTask', code: 'OK' }), 10_000);
    await dev.waitForLog(logMsg('attempt assigned', { taskId: id, correlationId: 'dev-req-1' }), 10_000);
    dev.kill('SIGTERM');
    expect((await dev.exited).code).toBe(0);
  });
});
