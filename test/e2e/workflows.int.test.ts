import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { FailurePolicy, WorkflowService, WorkflowStatus } from '../../gen/taskd/v1/workflow_service_pb.js';
import { jsonOf } from '../../internal/rpc/convert/json.js';
import { NonRetryableError, type Handler } from '../../internal/sdk/index.js';
import { Cluster, logMsg } from '../cluster.js';
import { connectJson } from '../curl.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

type Node = [name: string, dependsOn: string[], type?: string];

describe('DAG workflows', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let wfc: Client<typeof WorkflowService>;
  const workers = new InprocWorkers();
  const step: Handler = (ctx) => ({ name: ctx.payload, parents: ctx.parents });

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 2, workers: 0 });
    wfc = createClient(WorkflowService, createGrpcTransport({ baseUrl: cluster.apiUrl }));
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const submit = (nodes: Node[], policy = FailurePolicy.FAIL_FAST, extra: (n: Node) => object = () => ({})) =>
    wfc.submitWorkflow({
      workflow: {
        name: 'test', failurePolicy: policy,
        tasks: nodes.map((n) => ({ name: n[0], dependsOn: n[1], task: { type: n[2] ?? 'step', payload: { kind: { case: 'stringValue', value: n[0] } }, ...extra(n) } })),
      },
    });
  const finished = (id: string) => waitFor(`workflow ${id} to end`, async () => {
    const w = (await wfc.getWorkflow({ id })).workflow!;
    return w.status !== WorkflowStatus.RUNNING ? w : undefined;
  }, 60_000, 100);
  /** Every task started after all its parents ended (from attempt timestamps). */
  const parentsFirst = async (workflowId: string): Promise<number> => {
    const r = await cluster.sql.query<{ n: string }>(`
      select count(*) n from task_edges e
      join tasks c on c.id = e.child_id join tasks p on p.id = e.parent_id
      join attempts ca on ca.task_id = c.id join attempts pa on pa.task_id = p.id and pa.status = 'SUCCEEDED'
      where c.workflow_id = $1 and ca.started_at < pa.ended_at`, [workflowId]);
    return Number(r.rows[0]!.n);
  };

  it('a chain, a fan-out/fan-in of 3 into 1 and a diamond run in dependency order with their parents\' outputs', async () => {
    await workers.start(cluster.schedulerAddrs, { step }, { slots: 8 });
    const shapes: Node[][] = [
      [['a', []], ['b', ['a']], ['c', ['b']]],
      [['x1', []], ['x2', []], ['x3', []], ['join', ['x1', 'x2', 'x3']]],
      [['top', []], ['left', ['top']], ['right', ['top']], ['bottom', ['left', 'right']]],
    ];
    for (const shape of shapes) {
      const w = (await submit(shape)).workflow!;
      expect(w.tasks.map((t) => t.name).sort()).toEqual(shape.map((n) => n[0]).sort());
      const done = await finished(w.id);
      expect(done.status).toBe(WorkflowStatus.SUCCEEDED);
      expect(done.counts).toEqual({ SUCCEEDED: shape.length });
      expect(await parentsFirst(w.id)).toBe(0);
      const last = done.tasks.find((t) => t.name === shape[shape.length - 1]![0])!;
      const parents = shape[shape.length - 1]![1];
      expect(Object.keys((jsonOf(last.task!.output) as { parents: object }).parents).sort()).toEqual([...parents].sort());
      expect(last.dependsOn.sort()).toEqual([...parents].sort());
    }
  });

  it('a random 1,000-task DAG: every task starts after all its parents finished, and the whole DAG finishes', async () => {
    await workers.start(cluster.schedulerAddrs, { step: () => ({}) }, { slots: 32 });
    const nodes: Node[] = [];
    for (let i = 0; i < 1000; i++) {
      const deps = new Set<string>();
      for (let k = 0; k < Math.min(i, Math.floor(Math.random() * 4)); k++) deps.add(`t${Math.floor(Math.random() * i)}`);
      nodes.push([`t${i}`, [...deps]]);
    }
    const w = (await submit(nodes)).workflow!;
    const done = await finished(w.id);
    expect(done.counts).toEqual({ SUCCEEDED: 1000 });
    expect(await parentsFirst(w.id)).toBe(0);
  });

  it('a cycle is rejected naming its members in order, and nothing is stored', async () => {
    const before = await cluster.sql.query('select (select count(*) from workflows) w, (select count(*) from tasks) t');
    const r = await connectJson(cluster.apiUrl, 'taskd.v1.WorkflowService/SubmitWorkflow', {
      workflow: { tasks: [{ name: 'a', dependsOn: ['c'], task: { type: 'step' } }, { name: 'b', dependsOn: ['a'], task: { type: 'step' } }, { name: 'c', dependsOn: ['b'], task: { type: 'step' } }] },
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'invalid_argument', message: 'workflow.tasks: dependency cycle: a -> b -> c -> a' });
    const unknown = await connectJson(cluster.apiUrl, 'taskd.v1.WorkflowService/SubmitWorkflow', { workflow: { tasks: [{ name: 'a', dependsOn: ['nope'], task: { type: 'step' } }] } });
    expect(unknown.json.message).toBe('workflow.tasks[0].depends_on[0]: "nope" is not a task of this workflow');
    const after = await cluster.sql.query('select (select count(*) from workflows) w, (select count(*) from tasks) t');
    expect(after.rows).toEqual(before.rows);
  });

  it('CONTINUE: a parent that dead-letters skips exactly its descendants; the rest run', async () => {
    await workers.start(cluster.schedulerAddrs, { step, bad: () => { throw new Error('always'); } }, { slots: 8 });
    const nodes: Node[] = [['root', []], ['bad', ['root'], 'bad'], ['child', ['bad']], ['grandchild', ['child']], ['other', ['root']], ['after-other', ['other']]];
    const w = (await submit(nodes, FailurePolicy.CONTINUE, (n) => n[2] === 'bad' ? { retryPolicy: { maxAttempts: 2, initialBackoff: durationFromMs(20) } } : {})).workflow!;
    const done = await finished(w.id);
    const byName = Object.fromEntries(done.tasks.map((t) => [t.name, t.task!.status]));
    expect(byName).toEqual({ root: 4, bad: 6, child: 8, grandchild: 8, other: 4, 'after-other': 4 });
    expect(done.status).toBe(WorkflowStatus.FAILED);
  });

  it('a dead-lettered task, replayed after the fix, resumes the workflow downstream', async () => {
    let fixed = false;
    await workers.start(cluster.schedulerAddrs, { step, flaky: (ctx) => { if (!fixed) throw new Error('not yet'); return { ok: ctx.attempt }; } }, { slots: 8 });
    const nodes: Node[] = [['root', []], ['flaky', ['root'], 'flaky'], ['child', ['flaky']], ['grandchild', ['child', 'root']]];
    const w = (await submit(nodes, FailurePolicy.CONTINUE, (n) => n[2] === 'flaky' ? { retryPolicy: { maxAttempts: 1 } } : {})).workflow!;
    const failed = await finished(w.id);
    expect(failed.status).toBe(WorkflowStatus.FAILED);
    const dead = failed.tasks.find((t) => t.name === 'flaky')!.task!;
    fixed = true;
    const dlq = createClient(DeadLetterService, createGrpcTransport({ baseUrl: cluster.apiUrl }));
    const replay = await dlq.replayDeadLetter({ id: dead.id });
    const done = await finished(w.id);
    expect(done.status).toBe(WorkflowStatus.SUCCEEDED);
    expect(Object.fromEntries(done.tasks.map((t) => [t.name, t.task!.status]))).toEqual({ root: 4, flaky: 4, child: 4, grandchild: 4 });
    expect(done.tasks.find((t) => t.name === 'flaky')!.task!.id).toBe(replay.task!.id);
    expect(await parentsFirst(w.id)).toBe(0);
  });

  it('FAIL_FAST: a failure cancels the running sibling and skips the rest', async () => {
    let siblingAborted = false;
    await workers.start(cluster.schedulerAddrs, {
      step,
      fatal: async () => { throw new NonRetryableError('no'); },
      long: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { siblingAborted = true; resolve({}); })),
    }, { slots: 8 });
    const nodes: Node[] = [['slow', [], 'long'], ['boom', [], 'fatal'], ['later', ['slow', 'boom']], ['also', ['slow']]];
    const w = (await submit(nodes, FailurePolicy.FAIL_FAST)).workflow!;
    const done = await finished(w.id);
    const byName = Object.fromEntries(done.tasks.map((t) => [t.name, t.task!.status]));
    expect(byName).toEqual({ slow: 7, boom: 5, later: 8, also: 8 });
    await waitFor('the sibling handler to be aborted', async () => siblingAborted, 10_000);
  });

  it('WatchWorkflow streams task changes until the workflow ends', async () => {
    await workers.start(cluster.schedulerAddrs, { step }, { slots: 8 });
    const w = (await submit([['one', []], ['two', ['one']]])).workflow!;
    const seen: string[] = [];
    let final = WorkflowStatus.UNSPECIFIED;
    for await (const m of wfc.watchWorkflow({ id: w.id })) {
      seen.push(`${m.task!.name}:${m.task!.task!.status}`);
      final = m.status;
    }
    expect(final).toBe(WorkflowStatus.SUCCEEDED);
    expect(seen.filter((s) => s.endsWith(':4')).sort()).toEqual(['one:4', 'two:4']);
    const list = await wfc.listWorkflows({ statuses: [WorkflowStatus.SUCCEEDED], pageSize: 1000 });
    expect(list.workflows.map((x) => x.id)).toContain(w.id);
  });

  it('the leader killed in the middle of a 200-task DAG: it completes, nothing ran before its parents, nothing is stuck', async () => {
    await workers.start(cluster.schedulerAddrs, { slowstep: async () => { await new Promise((r) => setTimeout(r, 20)); return {}; } }, { slots: 8 });
    const nodes: Node[] = Array.from({ length: 200 }, (_, i) => [`n${i}`, i === 0 ? [] : [`n${Math.floor((i - 1) / 2)}`], 'slowstep']);
    const w = (await submit(nodes)).workflow!;
    await waitFor('some progress', async () => {
      const r = await cluster.sql.query("select count(*) n from tasks where workflow_id = $1 and status = 'SUCCEEDED'", [w.id]);
      return Number(r.rows[0].n) >= 20;
    }, 30_000);
    const leader = await cluster.leaderIndex();
    cluster.schedulers[leader]!.proc.kill9();
    await cluster.schedulers[1 - leader]!.proc.waitForLog(logMsg('became leader'), 15_000);
    const done = await finished(w.id);
    expect(done.counts).toEqual({ SUCCEEDED: 200 });
    expect(await parentsFirst(w.id)).toBe(0);
    await cluster.startScheduler(leader);
  });
});
