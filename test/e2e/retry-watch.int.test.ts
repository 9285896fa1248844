import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailurePolicy, WorkflowService, WorkflowStatus } from '../../gen/taskd/v1/workflow_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { jsonOf, valueOf } from '../../internal/rpc/convert/json.js';
import { NonRetryableError } from '../../internal/sdk/index.js';
import { Cluster } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const UNKNOWN = '01900000-0000-7000-8000-000000000000';

/** The ConnectError a call was refused with (fails the test if it succeeded). */
async function refused(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => { throw new Error('the call succeeded'); },
    (e: unknown) => ConnectError.from(e),
  );
}

describe('RetryTask and WatchTask (apiserver, scheduler, in-test workers)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let tasks: Client<typeof TaskService>;
  let workflows: Client<typeof WorkflowService>;
  const workers = new InprocWorkers();
  /** While true, `fragile` fails without retry. */
  let broken = true;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
    const transport = createGrpcTransport({ baseUrl: cluster.apiUrl });
    tasks = createClient(TaskService, transport);
    workflows = createClient(WorkflowService, transport);
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const handlers = {
    fragile: (ctx: { payload: unknown }) => {
      if (broken) throw new NonRetryableError('fragile is broken');
      return { ok: ctx.payload };
    },
    step: () => ({ step: true }),
  };
  const settled = (id: string) => waitFor(`task ${id} to end`, async () => {
    const t = (await tasks.getTask({ id })).task!;
    return t.finishedAt ? t : undefined;
  }, 30_000, 50);

  it('a FAILED task is re-run once as a fresh linked task; concurrent retries create exactly one; a second retry names it', async () => {
    broken = true;
    await workers.start(cluster.schedulerAddrs, handlers, { slots: 2 });
    const { task } = await tasks.submitTask({ task: { type: 'fragile', payload: valueOf({ n: 1 }) } });
    expect((await settled(task!.id)).status).toBe(TaskStatus.FAILED);
    broken = false;
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => tasks.retryTask({ id: task!.id })));
    const ok = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value.task!);
    expect(ok).toHaveLength(1);
    const fresh = ok[0]!;
    expect(fresh.id).not.toBe(task!.id);
    expect(fresh.replayOf).toBe(task!.id);
    for (const o of outcomes.filter((x) => x.status === 'rejected')) {
      const e = ConnectError.from(o.reason);
      expect(e.code).toBe(Code.FailedPrecondition);
      expect(e.rawMessage).toBe(`task ${task!.id} was already retried as task ${fresh.id}`);
    }
    const done = await settled(fresh.id);
    expect(done.status).toBe(TaskStatus.SUCCEEDED);
    expect(jsonOf(done.output)).toEqual({ ok: { n: 1 } });
    // The original keeps its history.
    const original = (await tasks.getTask({ id: task!.id })).task!;
    expect(original.status).toBe(TaskStatus.FAILED);
    expect(original.attempts).toHaveLength(1);
  });

  it('a task waiting out a long retry backoff becomes due now, as its next attempt', async () => {
    let calls = 0;
    await workers.start(cluster.schedulerAddrs, {
      twice: () => {
        calls++;
        if (calls === 1) throw new Error('first try fails');
        return { calls };
      },
    }, { slots: 1 });
    const { task } = await tasks.submitTask({
      task: { type: 'twice', retryPolicy: { maxAttempts: 3, initialBackoff: durationFromMs(3_600_000), maxBackoff: durationFromMs(3_600_000) } },
    });
    await waitFor('the backoff', async () => {
      const t = (await tasks.getTask({ id: task!.id })).task!;
      return t.status === TaskStatus.PENDING && t.attempts.length === 1 ? t : undefined;
    }, 30_000, 50);
    const { task: due } = await tasks.retryTask({ id: task!.id });
    expect(due!.id).toBe(task!.id);
    expect(due!.status).toBe(TaskStatus.QUEUED);
    const done = await settled(task!.id);
    expect(done.status).toBe(TaskStatus.SUCCEEDED);
    expect(done.attempts.map((a) => a.number)).toEqual([1, 2]);
  });

  it('refuses what cannot be retried, naming why', async () => {
    await workers.start(cluster.schedulerAddrs, handlers, { slots: 1 });
    const { task } = await tasks.submitTask({ task: { type: 'step' } });
    await settled(task!.id);
    const e = await refused(tasks.retryTask({ id: task!.id }));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toContain('is SUCCEEDED; only FAILED, CANCELLED or DEAD_LETTERED tasks');
    expect((await refused(tasks.retryTask({ id: UNKNOWN }))).code).toBe(Code.NotFound);
    expect((await refused(tasks.retryTask({ id: task!.id, namespace: 'elsewhere' }))).code).toBe(Code.NotFound);
    const bad = await refused(tasks.retryTask({ id: 'nope' }));
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  it('a failed workflow task, retried, resumes its downstream and the workflow succeeds', async () => {
    broken = true;
    await workers.start(cluster.schedulerAddrs, handlers, { slots: 4 });
    const { workflow } = await workflows.submitWorkflow({
      workflow: {
        name: 'retry-me', failurePolicy: FailurePolicy.CONTINUE,
        tasks: [
          { name: 'a', task: { type: 'step' } },
          { name: 'b', dependsOn: ['a'], task: { type: 'fragile' } },
          { name: 'c', dependsOn: ['b'], task: { type: 'step' } },
        ],
      },
    });
    const failed = await waitFor('the workflow to fail', async () => {
      const w = (await workflows.getWorkflow({ id: workflow!.id })).workflow!;
      return w.status === WorkflowStatus.FAILED ? w : undefined;
    }, 30_000, 50);
    broken = false;
    const b = failed.tasks.find((t) => t.name === 'b')!.task!;
    await tasks.retryTask({ id: b.id });
    const done = await waitFor('the workflow to succeed', async () => {
      const w = (await workflows.getWorkflow({ id: workflow!.id })).workflow!;
      return w.status === WorkflowStatus.SUCCEEDED ? w : undefined;
    }, 30_000, 50);
    expect(done.counts).toEqual({ SUCCEEDED: 3 });
  });

  it('DeleteTask removes an ended task (its event stays); refuses one not ended or in a workflow', async () => {
    await workers.start(cluster.schedulerAddrs, handlers, { slots: 1 });
    const { task } = await tasks.submitTask({ task: { type: 'step' } });
    await settled(task!.id);
    await tasks.deleteTask({ id: task!.id });
    expect((await refused(tasks.getTask({ id: task!.id }))).code).toBe(Code.NotFound);
    expect((await refused(tasks.deleteTask({ id: task!.id }))).code).toBe(Code.NotFound);
    const ev = await cluster.sql.query("select type from events where aggregate_id = $1 order by sequence desc limit 1", [task!.id]);
    expect(ev.rows[0].type).toBe('task.deleted');
    const { task: later } = await tasks.submitTask({ task: { type: 'step', start: { case: 'delay', value: durationFromMs(3_600_000) } } });
    const notEnded = await refused(tasks.deleteTask({ id: later!.id }));
    expect(notEnded.code).toBe(Code.FailedPrecondition);
    expect(notEnded.rawMessage).toBe(`task ${later!.id} is PENDING; only ended tasks can be deleted (cancel it first)`);
    const { workflow } = await workflows.submitWorkflow({ workflow: { name: 'keep', tasks: [{ name: 'a', task: { type: 'step' } }] } });
    const a = workflow!.tasks[0]!.task!;
    await settled(a.id);
    expect((await refused(tasks.deleteTask({ id: a.id }))).rawMessage).toContain(`belongs to workflow ${workflow!.id}`);
  });

  it('WatchTask streams a delayed task from PENDING through QUEUED/RUNNING to SUCCEEDED, then ends', async () => {
    await workers.start(cluster.schedulerAddrs, handlers, { slots: 1 });
    const { task } = await tasks.submitTask({ task: { type: 'step', start: { case: 'delay', value: durationFromMs(300) } } });
    const seen: TaskStatus[] = [];
    for await (const m of tasks.watchTask({ id: task!.id })) seen.push(m.task!.status);
    expect(seen[0]).toBe(TaskStatus.PENDING);
    expect(seen[seen.length - 1]).toBe(TaskStatus.SUCCEEDED);
    // Each message is a change; none repeats its predecessor's state.
    expect(seen.filter((s, i) => i > 0 && s === seen[i - 1] && s !== TaskStatus.RUNNING)).toEqual([]);
    const e = await refused((async () => {
      for await (const _ of tasks.watchTask({ id: UNKNOWN })) void _;
    })());
    expect(e.code).toBe(Code.NotFound);
  });
});
