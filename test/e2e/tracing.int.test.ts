import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { Cluster, FAST_TIMINGS } from '../cluster.js';
import { OtlpCollector, type CollectedSpan } from '../otlp-collector.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

/** A fresh W3C trace: its id, the caller's span id, and the traceparent header naming them. */
function callerTrace(sampled = true): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

interface Chain {
  server: CollectedSpan;
  submit: CollectedSpan;
  dispatch: CollectedSpan;
  execute: CollectedSpan;
  result: CollectedSpan;
}

describe('tracing across processes: apiserver, scheduler and worker export OTLP/HTTP to a collector in the test', () => {
  let collector: OtlpCollector;
  let db: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    collector = await OtlpCollector.start();
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 1,
      env: { ...FAST_TIMINGS, TASKD_TRACING_OTLP_URL: collector.url },
    });
  }, 120_000);
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
    await collector?.stop();
  });

  const succeeded = (id: string) => waitFor(`task ${id} to succeed`, async () =>
    (await cluster.client().getTask({ id })).task?.status === TaskStatus.SUCCEEDED, 30_000, 100);

  /** Waits until the collector holds the five spans of task `id` (spans arrive per process every few seconds). */
  const chainOf = (id: string, rpc: string) => waitFor(`the spans of task ${id}`, async () => {
    const mine = collector.spans().filter((s) => s.attributes['taskd.task.id'] === id || s.name === rpc);
    const submit = mine.find((s) => s.name === 'taskd.submit' && s.attributes['taskd.task.id'] === id);
    const server = submit && mine.find((s) => s.name === rpc && s.spanId === submit.parentSpanId);
    const dispatch = mine.find((s) => s.name === 'taskd.dispatch');
    const execute = mine.find((s) => s.name === 'taskd.execute noop');
    const result = mine.find((s) => s.name === 'taskd.result');
    return server && submit && dispatch && execute && result ? ({ server, submit, dispatch, execute, result } satisfies Chain) : undefined;
  }, 45_000, 100);

  /** submit -> dispatch -> execute -> result, each the next one's parent, all in `traceId`, from the three services. */
  function expectChain(c: Chain, traceId: string, taskId: string): void {
    for (const s of Object.values(c)) expect(s.traceId).toBe(traceId);
    expect(c.submit.parentSpanId).toBe(c.server.spanId);
    expect(c.dispatch.parentSpanId).toBe(c.submit.spanId);
    expect(c.execute.parentSpanId).toBe(c.dispatch.spanId);
    expect(c.result.parentSpanId).toBe(c.execute.spanId);
    expect([c.server.service, c.submit.service, c.dispatch.service, c.execute.service, c.result.service])
      .toEqual(['taskd-apiserver', 'taskd-apiserver', 'taskd-scheduler', 'taskd-worker', 'taskd-scheduler']);
    expect([c.server.kind, c.dispatch.kind, c.execute.kind]).toEqual([SERVER, PRODUCER, CONSUMER]);
    expect(c.execute.attributes).toMatchObject({
      'taskd.task.id': taskId, 'taskd.task.attempt': 1, 'taskd.task.type': 'noop', 'taskd.task.queue': 'default', 'taskd.outcome': 'succeeded',
    });
    expect(c.dispatch.attributes).toMatchObject({ 'taskd.task.id': taskId, 'taskd.task.attempt': 1, 'taskd.worker.id': 'worker-0' });
    expect(c.result.attributes).toMatchObject({ 'taskd.task.id': taskId, 'taskd.outcome': 'succeeded', 'taskd.result.accepted': true });
  }

  it('gRPC: the caller\'s traceparent is the parent of the server span, and the task\'s spans continue its trace', async () => {
    const caller = callerTrace();
    const r = await cluster.client().submitTask({ task: { type: 'noop' } }, { headers: { traceparent: caller.traceparent } });
    const id = r.task!.id;
    await succeeded(id);
    const c = await chainOf(id, 'taskd.v1.TaskService/SubmitTask');
    expect(c.server.parentSpanId).toBe(caller.spanId);
    expect(c.server.attributes).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': 'taskd.v1.TaskService/SubmitTask', 'rpc.status_code': 'OK' });
    expectChain(c, caller.traceId, id);
    const stored = await cluster.sql.query<{ trace_context: string }>('select trace_context from tasks where id = $1', [id]);
    expect(stored.rows[0]?.trace_context).toBe(`00-${caller.traceId}-${c.submit.spanId}-01`);
  });

  it('REST: the traceparent header works the same through the gateway', async () => {
    const caller = callerTrace();
    const post = await fetch(`${cluster.apiUrl}/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json', traceparent: caller.traceparent }, body: JSON.stringify({ type: 'noop' }),
    });
    expect(post.status).toBe(200);
    const id = ((await post.json()) as { id: string }).id;
    await succeeded(id);
    const c = await chainOf(id, 'taskd.v1.TaskService/SubmitTask');
    expect(c.server.parentSpanId).toBe(caller.spanId);
    expectChain(c, caller.traceId, id);
  });

  it('without a traceparent the server span starts a new trace', async () => {
    const r = await cluster.client().submitTasks({ tasks: [{ type: 'noop' }] });
    const id = r.tasks[0]!.id;
    await succeeded(id);
    const c = await chainOf(id, 'taskd.v1.TaskService/SubmitTasks');
    expect(c.server.parentSpanId).toBeUndefined();
    expectChain(c, c.server.traceId, id);
  });

  it('a caller\'s "not sampled" is kept all the way: nothing of its trace is recorded, and the task runs', async () => {
    const unsampled = callerTrace(false);
    const r = await cluster.client().submitTask({ task: { type: 'noop' } }, { headers: { traceparent: unsampled.traceparent } });
    const quiet = r.task!.id;
    await succeeded(quiet);
    const stored = await cluster.sql.query<{ trace_context: string }>('select trace_context from tasks where id = $1', [quiet]);
    expect(stored.rows[0]?.trace_context).toMatch(new RegExp(`^00-${unsampled.traceId}-[0-9a-f]{16}-00$`));
    // Each process exports its spans in the order they ended: once a later task's spans
    // arrived from all three, the unsampled task's would have arrived before them.
    const sampled = callerTrace();
    const later = (await cluster.client().submitTask({ task: { type: 'noop' } }, { headers: { traceparent: sampled.traceparent } })).task!.id;
    await succeeded(later);
    await chainOf(later, 'taskd.v1.TaskService/SubmitTask');
    expect(collector.spans().filter((s) => s.traceId === unsampled.traceId)).toEqual([]);
    expect(collector.spans().filter((s) => s.attributes['taskd.task.id'] === quiet)).toEqual([]);
  });
});
