import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventService, type WatchEventsResponse } from '../../gen/taskd/v1/event_service_pb.js';
import type { Event } from '../../gen/taskd/v1/events/events_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkflowService, WorkflowStatus, type WatchWorkflowResponse } from '../../gen/taskd/v1/workflow_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, logMsg } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { freePort, reapAll, spawnTaskd } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

/** A promise and its resolver. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The ConnectError `p` was refused with (fails the test if it succeeded). */
const refused = (p: Promise<unknown>): Promise<ConnectError> =>
  p.then(() => { throw new Error('the call succeeded'); }, (e: unknown) => ConnectError.from(e));

/** A WatchEvents request's filter. */
interface Filter {
  types?: string[];
  aggregateIds?: string[];
  taskTypes?: string[];
  labels?: string[];
}

/** A WatchEvents stream read in the background; `reach(n)` resolves once n events arrived. */
class Collector extends EventEmitter {
  readonly events: Event[] = [];
  error: ConnectError | undefined;
  readonly done: Promise<void>;
  private readonly ctl = new AbortController();

  constructor(client: Client<typeof EventService>, req: { namespace: string; filter?: Filter; afterEventId?: string }) {
    super();
    this.done = (async () => {
      try {
        for await (const m of client.watchEvents(req, { signal: this.ctl.signal })) {
          this.events.push(m.event!);
          this.emit('event');
        }
      } catch (e) {
        if (!this.ctl.signal.aborted) this.error = ConnectError.from(e);
      }
      this.emit('event');
    })();
  }

  get ids(): string[] {
    return this.events.map((e) => e.id);
  }

  /** Resolves once `n` events arrived; rejects naming the shortfall if the stream ended first or `timeoutMs` passed. */
  reach(n: number, what: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off('event', check);
        if (err) reject(err);
        else resolve();
      };
      const check = (): void => {
        if (this.events.length >= n) finish();
        else if (this.error) finish(new Error(`${what}: the stream ended after ${this.events.length} of ${n} events: ${this.error.message}`));
      };
      const timer = setTimeout(() => finish(new Error(`${what}: only ${this.events.length} of ${n} events arrived within ${timeoutMs} ms`)), timeoutMs);
      this.on('event', check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.done;
  }
}

interface Row {
  id: string;
  type: string;
  sequence: string;
  status: string | null;
}

describe('watch streams fed from the events table (apiserver, scheduler, in-test workers)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let grpc: Transport;
  const workers = new InprocWorkers();
  const collectors: Collector[] = [];

  /** Events of the table, in sequence order, with their data's status. */
  const table = async (where: string, params: unknown[]): Promise<Row[]> =>
    (await cluster.sql.query<Row>(`select id, type, sequence, data->>'status' as status from events where ${where} order by sequence`, params)).rows;
  const statusName = (s: TaskStatus): string => `TASK_STATUS_${TaskStatus[s]}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
    grpc = cluster.transport();
  });
  afterEach(async () => {
    await Promise.all(collectors.splice(0).map((c) => c.stop()));
    await workers.stopAll();
  });
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  it('WatchTask over the Connect protocol: the snapshot, then RUNNING and SUCCEEDED as their events, each with its event id', async () => {
    const tasks = createClient(TaskService, createConnectTransport({ baseUrl: cluster.apiUrl, httpVersion: '1.1' }));
    const { task } = await tasks.submitTask({ task: { type: 'watch-connect', payload: valueOf({ n: 1 }) } });
    const got: { status: string; eventId: string }[] = [];
    for await (const m of tasks.watchTask({ id: task!.id })) {
      got.push({ status: statusName(m.task!.status), eventId: m.eventId });
      // Only now a worker: the snapshot is QUEUED, and everything after it arrives as events.
      if (got.length === 1) await workers.start(cluster.schedulerAddrs, { 'watch-connect': (ctx) => ctx.payload });
    }
    const rows = await table('aggregate_id = $1', [task!.id]);
    expect(rows.map((r) => r.type)).toEqual(['task.created', 'task.started', 'task.succeeded']);
    expect(got).toEqual([
      { status: 'TASK_STATUS_QUEUED', eventId: '' },
      { status: 'TASK_STATUS_RUNNING', eventId: rows[1]!.id },
      { status: 'TASK_STATUS_SUCCEEDED', eventId: rows[2]!.id },
    ]);
  });

  it('WatchTask resumed after a disconnect with after_event_id loses and repeats nothing (replayed from the table, then live)', async () => {
    const tasks = createClient(TaskService, grpc);
    const third = deferred();
    const gate = deferred();
    const { task } = await tasks.submitTask({
      task: { type: 'watch-flaky', retryPolicy: { maxAttempts: 5, initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(50) } },
    });
    const id = task!.id;
    // First stream: the snapshot and the first start; then the client goes away.
    const first: { status: TaskStatus; eventId: string }[] = [];
    for await (const m of tasks.watchTask({ id })) {
      first.push({ status: m.task!.status, eventId: m.eventId });
      if (first.length === 1) {
        await workers.start(cluster.schedulerAddrs, {
          'watch-flaky': async (ctx) => {
            if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails on purpose`);
            third.resolve();
            await gate.promise;
            return { attempt: ctx.attempt };
          },
        });
      }
      if (m.task!.status === TaskStatus.RUNNING) break;
    }
    // While nobody watches: two failures, two retries, the third start.
    await third.promise;
    const second: { status: TaskStatus; eventId: string; attempts: number }[] = [];
    for await (const m of tasks.watchTask({ id, afterEventId: first.at(-1)!.eventId })) {
      second.push({ status: m.task!.status, eventId: m.eventId, attempts: m.task!.attempts.length });
      // The last replayed event is the third start: the end arrives live.
      if (m.task!.status === TaskStatus.RUNNING && m.task!.attemptCount === 3) gate.resolve();
    }
    const rows = await table('aggregate_id = $1', [id]);
    expect(rows[0]!.type).toBe('task.created');
    const after = rows.slice(1);
    expect(after.map((r) => r.type)).toEqual([
      'task.started', 'task.retrying', 'task.queued', 'task.started', 'task.retrying', 'task.queued', 'task.started', 'task.succeeded',
    ]);
    expect(first.map((m) => m.eventId)).toEqual(['', after[0]!.id]);
    expect(second.map((m) => m.eventId)).toEqual(after.slice(1).map((r) => r.id));
    expect(second.map((m) => statusName(m.status))).toEqual(after.slice(1).map((r) => r.status));
    expect(second.map((m) => m.attempts)).toEqual([1, 1, 2, 2, 2, 3, 3]);
  });

  it('WatchWorkflow of a small DAG: one message per task, then per event; resumed after a disconnect without loss or repeat', async () => {
    const workflows = createClient(WorkflowService, grpc);
    const bStarted = deferred();
    const bGate = deferred();
    const { workflow } = await workflows.submitWorkflow({
      workflow: {
        name: 'watched-dag',
        tasks: [
          { name: 'a', task: { type: 'watch-dag', payload: valueOf({ node: 'a' }) } },
          { name: 'b', dependsOn: ['a'], task: { type: 'watch-dag', payload: valueOf({ node: 'b' }) } },
          { name: 'c', dependsOn: ['a'], task: { type: 'watch-dag', payload: valueOf({ node: 'c' }) } },
          { name: 'd', dependsOn: ['b', 'c'], task: { type: 'watch-dag', payload: valueOf({ node: 'd' }) } },
        ],
      },
    });
    const id = workflow!.id;
    const first: WatchWorkflowResponse[] = [];
    for await (const m of workflows.watchWorkflow({ id })) {
      first.push(m);
      if (first.length === 4) {
        await workers.start(cluster.schedulerAddrs, {
          'watch-dag': async (ctx) => {
            const node = (ctx.payload as { node: string }).node;
            if (node === 'b') {
              bStarted.resolve();
              await bGate.promise;
            }
            return { node };
          },
        });
      }
      if (m.task?.name === 'a' && m.task.task?.status === TaskStatus.SUCCEEDED) break;
    }
    expect(first.slice(0, 4).map((m) => [m.task!.name, m.task!.task!.status, m.eventId])).toEqual([
      ['a', TaskStatus.QUEUED, ''], ['b', TaskStatus.PENDING, ''], ['c', TaskStatus.PENDING, ''], ['d', TaskStatus.PENDING, ''],
    ]);
    expect(first[0]!.counts).toEqual({ QUEUED: 1, PENDING: 3 });
    await bStarted.promise;
    const second: WatchWorkflowResponse[] = [];
    for await (const m of workflows.watchWorkflow({ id, afterEventId: first.at(-1)!.eventId })) {
      second.push(m);
      if (m.task?.name === 'b' && m.task.task?.status === TaskStatus.RUNNING) bGate.resolve();
    }
    const rows = await table(`aggregate_id = $1 or (aggregate_type = 'task' and data->>'workflowId' = $1::text)`, [id]);
    // The snapshot reflects the submission (the workflow and its four tasks created); every later event is a message.
    expect(rows.slice(0, 5).map((r) => r.type).sort()).toEqual(['task.created', 'task.created', 'task.created', 'task.created', 'workflow.created']);
    // The workflow's own end commits right after its last task's: that message shows it (every message has a task).
    expect(rows.at(-1)!.type).toBe('workflow.succeeded');
    const after = rows.slice(5, -1);
    const streamed = [...first.slice(4), ...second];
    expect(streamed.map((m) => m.eventId)).toEqual(after.map((r) => r.id));
    for (const [i, m] of streamed.entries()) expect(statusName(m.task!.task!.status), `${after[i]!.type} ${after[i]!.id}`).toBe(after[i]!.status);
    const last = streamed.at(-1)!;
    expect([last.task!.name, last.task!.task!.status, last.status, last.counts]).toEqual(['d', TaskStatus.SUCCEEDED, WorkflowStatus.SUCCEEDED, { SUCCEEDED: 4 }]);
    expect(streamed.slice(0, -1).every((m) => m.status === WorkflowStatus.RUNNING)).toBe(true);
    // Counts move with each event: when a's end is shown, b and c are still PENDING (their release follows).
    const aDone = streamed.find((m) => m.task?.name === 'a' && m.task.task?.status === TaskStatus.SUCCEEDED)!;
    expect(aDone.counts).toEqual({ SUCCEEDED: 1, PENDING: 3 });
  });

  it('WatchWorkflow of a cancelled workflow shows its tasks cancelled with the workflow, then ends', async () => {
    const workflows = createClient(WorkflowService, grpc);
    const started = deferred();
    const { workflow } = await workflows.submitWorkflow({
      workflow: { name: 'cancelled-dag', tasks: [{ name: 'a', task: { type: 'watch-held' } }, { name: 'b', dependsOn: ['a'], task: { type: 'watch-held' } }] },
    });
    const id = workflow!.id;
    await workers.start(cluster.schedulerAddrs, {
      'watch-held': async (ctx) => {
        started.resolve();
        await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
        throw new Error('cancelled');
      },
    });
    await started.promise;
    const got: WatchWorkflowResponse[] = [];
    for await (const m of workflows.watchWorkflow({ id })) {
      got.push(m);
      if (got.length === 2) await workflows.cancelWorkflow({ id, reason: 'watch test' });
    }
    const rows = await table(`aggregate_id = $1 or (aggregate_type = 'task' and data->>'workflowId' = $1::text)`, [id]);
    const cancelled = rows.filter((r) => r.type === 'workflow.cancelled' || r.type === 'task.cancelled');
    expect(cancelled.map((r) => r.type)).toEqual(['workflow.cancelled', 'task.cancelled', 'task.cancelled']);
    expect(got.every((m) => m.task !== undefined)).toBe(true);
    expect(got.slice(2).map((m) => [m.task!.name, m.task!.task!.status, m.status, m.eventId])).toEqual([
      ['a', TaskStatus.CANCELLED, WorkflowStatus.CANCELLED, cancelled[1]!.id], ['b', TaskStatus.CANCELLED, WorkflowStatus.CANCELLED, cancelled[2]!.id],
    ]);
    expect(got.at(-1)!.counts).toEqual({ CANCELLED: 2 });
  });

  it('WatchEvents with filters (type prefix, task type, label) gets exactly the matching events in sequence order under concurrent submissions', async () => {
    const ns = 'watch-events';
    const events = createClient(EventService, grpc);
    // Streams start after a marker event, so none can miss what follows (from now would race the submissions).
    const { task: marker } = await createClient(TaskService, grpc).submitTask({ task: { type: 'marker', namespace: ns } });
    const [m] = await table('aggregate_id = $1', [marker!.id]);
    const filters: [string, Filter, string][] = [
      ['type prefix', { types: ['task.succ*'] }, `type like 'task.succ%'`],
      ['task type', { taskTypes: ['alpha'] }, `aggregate_type = 'task' and data->>'taskType' = 'alpha'`],
      ['label', { labels: ['team=red'] }, `aggregate_type = 'task' and data->'labels'->>'team' = 'red'`],
      ['all three', { types: ['task.*'], taskTypes: ['beta'], labels: ['team=blue'] },
        `type like 'task.%' and data->>'taskType' = 'beta' and data->'labels'->>'team' = 'blue'`],
      ['none', {}, 'true'],
    ];
    const streams = filters.map(([, filter]) => new Collector(events, { namespace: ns, filter, afterEventId: m!.id }));
    collectors.push(...streams);
    await workers.start(cluster.schedulerAddrs, { alpha: (ctx) => ctx.payload, beta: (ctx) => ctx.payload }, { slots: 8 });
    const submitters = Array.from({ length: 4 }, () => createClient(TaskService, createGrpcTransport({ baseUrl: cluster.apiUrl })));
    let total = 0;
    await Promise.all(submitters.map(async (c, s) => {
      for (let b = 0; b < 6; b++) {
        const specs = Array.from({ length: 15 }, (_, i) => ({
          type: i % 2 === 0 ? 'alpha' : 'beta', namespace: ns, labels: { team: (i + b + s) % 3 === 0 ? 'red' : 'blue' }, payload: valueOf({ s, b, i }),
        }));
        total += specs.length;
        await c.submitTasks({ tasks: specs });
        await c.submitTasks({ tasks: [{ type: 'alpha', namespace: 'elsewhere', labels: { team: 'red' } }] });
      }
    }));
    await waitFor(`all ${total} tasks of ${ns} to succeed`, async () => {
      const r = await cluster.sql.query<{ n: string }>(`select count(*) n from tasks where namespace = $1 and type <> 'marker' and status = 'SUCCEEDED'`, [ns]);
      return Number(r.rows[0]!.n) === total;
    }, 60_000, 100);
    for (const [i, [what, , where]] of filters.entries()) {
      const expected = await table(`namespace = $1 and sequence > $2 and (${where})`, [ns, m!.sequence]);
      expect(expected.length, what).toBeGreaterThan(0);
      await streams[i]!.reach(expected.length, what);
      expect(streams[i]!.ids, `${what}: the stream differs from the events table`).toEqual(expected.map((r) => r.id));
      expect(streams[i]!.events.map((e) => e.namespace).every((n) => n === ns), what).toBe(true);
    }
    expect(streams[4]!.events.map((e) => Number(e.sequence))).toEqual([...streams[4]!.events.map((e) => Number(e.sequence))].sort((a, b) => a - b));
    expect(streams[0]!.events.every((e) => e.data.case === 'task' && e.data.value.status === TaskStatus.SUCCEEDED)).toBe(true);
    // ListEvents pages through the same events with the same filter (in SQL there, in memory for the streams).
    const listed: string[] = [];
    let pageToken = '';
    do {
      const page = await events.listEvents({ namespace: ns, filter: filters[3]![1], afterEventId: m!.id, pageSize: 7, pageToken });
      listed.push(...page.events.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(listed).toEqual(streams[3]!.ids);
    // Resuming after the tenth event replays the rest.
    const all = streams[4]!.ids;
    const resumed = new Collector(events, { namespace: ns, afterEventId: all[9]! });
    collectors.push(resumed);
    await resumed.reach(all.length - 10, 'resumed stream');
    expect(resumed.ids).toEqual(all.slice(10));
  });

  it('refuses an after_event_id that is unknown, malformed or of another aggregate, naming it', async () => {
    const tasks = createClient(TaskService, grpc);
    const events = createClient(EventService, grpc);
    const { task } = await tasks.submitTask({ task: { type: 'never-run' } });
    const { task: other } = await tasks.submitTask({ task: { type: 'never-run' } });
    const [otherEvent] = await table('aggregate_id = $1', [other!.id]);
    const unknown = '01900000-0000-7000-8000-000000000000';
    const drain = async (it: AsyncIterable<unknown>) => {
      for await (const _ of it) void _;
    };
    const missing = await refused(drain(tasks.watchTask({ id: task!.id, afterEventId: unknown })));
    expect([missing.code, missing.rawMessage]).toEqual([Code.NotFound,
      `after_event_id: event ${unknown} not found in namespace "default": it never existed, or it was pruned ` +
      '(events are kept for TASKD_EVENTS_RETENTION_MS once relayed); watch without after_event_id to start from the current state']);
    const stranger = await refused(drain(tasks.watchTask({ id: task!.id, afterEventId: otherEvent!.id })));
    expect([stranger.code, stranger.rawMessage]).toEqual([Code.InvalidArgument,
      `after_event_id: event ${otherEvent!.id} is an event of task ${other!.id}, not of task ${task!.id}`]);
    const bad = await refused(drain(events.watchEvents({ afterEventId: 'nope' })));
    expect([bad.code, bad.rawMessage]).toEqual([Code.InvalidArgument, 'after_event_id: must be a UUID']);
    const wrongNs = await refused(events.listEvents({ namespace: 'elsewhere', afterEventId: otherEvent!.id }));
    expect(wrongNs.code).toBe(Code.NotFound);
    const badFilter = await refused(events.listEvents({ filter: { types: ['task.*.x'], labels: ['nolabel'] } }));
    expect(badFilter.code).toBe(Code.InvalidArgument);
    expect(badFilter.rawMessage).toContain('filter.types[0]');
    expect(badFilter.rawMessage).toContain('filter.labels[0]');
  });

  it('cuts a slow WatchEvents reader off with RESOURCE_EXHAUSTED naming why; a fast one on the same apiserver gets every event', async () => {
    // An apiserver of its own with a small buffer per stream.
    const port = await freePort();
    const api = spawnTaskd('apiserver-small-buffer', 'cmd/apiserver/main.ts', cluster.env({ TASKD_ADDR: `127.0.0.1:${port}`, TASKD_WATCH_BUFFER: '300' }));
    await api.waitForLog(logMsg('listening'), 30_000);
    const url = `http://127.0.0.1:${port}`;
    const ns = 'slow-reader';
    const tasks = createClient(TaskService, createGrpcTransport({ baseUrl: url }));
    const { task: marker } = await tasks.submitTask({ task: { type: 'marker', namespace: ns } });
    const [m] = await table('aggregate_id = $1', [marker!.id]);
    const req = { namespace: ns, filter: { types: ['task.created'] }, afterEventId: m!.id };
    // Separate connections, as separate clients would have.
    const fast = new Collector(createClient(EventService, createGrpcTransport({ baseUrl: url })), req);
    collectors.push(fast);
    const slowCtl = new AbortController();
    const slow = createClient(EventService, createGrpcTransport({ baseUrl: url })).watchEvents(req, { signal: slowCtl.signal })[Symbol.asyncIterator]();
    const slowFirst = slow.next();
    // Bursts no larger than the buffer, each seen by the fast reader before the next; the slow one reads nothing.
    const batches = 12;
    for (let b = 0; b < batches; b++) {
      await tasks.submitTasks({ tasks: Array.from({ length: 100 }, () => ({ type: 'idle', namespace: ns })) });
      await fast.reach((b + 1) * 100, `batch ${b}`);
    }
    const slowGot: WatchEventsResponse[] = [(await slowFirst).value as WatchEventsResponse];
    const cut = await refused((async () => {
      for (;;) {
        const r = await slow.next();
        if (r.done) return;
        slowGot.push(r.value);
      }
    })());
    slowCtl.abort();
    expect([cut.code, cut.rawMessage]).toEqual([Code.ResourceExhausted,
      'the watch fell behind: 300 events waited for this client to read them (TASKD_WATCH_BUFFER); watch again with after_event_id set to the last event received']);
    const expected = await table(`namespace = $1 and sequence > $2 and type = 'task.created'`, [ns, m!.sequence]);
    expect(expected).toHaveLength(batches * 100);
    expect(fast.ids).toEqual(expected.map((r) => r.id));
    // What the slow reader got before the cut is a prefix, in order, with no gap.
    expect(slowGot.length).toBeLessThan(expected.length);
    expect(slowGot.map((r) => r.event!.id)).toEqual(fast.ids.slice(0, slowGot.length));
    // And it can resume from its last event.
    const again = new Collector(createClient(EventService, createGrpcTransport({ baseUrl: url })), { ...req, afterEventId: slowGot.at(-1)!.event!.id });
    collectors.push(again);
    await again.reach(expected.length - slowGot.length, 'the resumed slow reader');
    expect(again.ids).toEqual(fast.ids.slice(slowGot.length));
    api.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
  });
});

describe('the embedded default (PGlite) serves WatchTask from its events', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskd-watch-embedded-'));
  afterAll(async () => {
    await reapAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('streams a task to SUCCEEDED with event ids, and resumes after one', async () => {
    const port = await freePort();
    const dev = spawnTaskd('dev-watch', 'cmd/dev/main.ts', { TASKD_ADDR: `127.0.0.1:${port}`, TASKD_DATA_DIR: dataDir });
    await dev.waitForLog(logMsg('listening'), 90_000);
    await dev.waitForLog(logMsg('worker connected'), 30_000);
    const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: '1.1' });
    const tasks = createClient(TaskService, transport);
    const events = createClient(EventService, transport);
    const { task } = await tasks.submitTask({ task: { type: 'sleep', payload: valueOf({ ms: 1_500 }) } });
    const got: { status: TaskStatus; eventId: string }[] = [];
    for await (const m of tasks.watchTask({ id: task!.id })) got.push({ status: m.task!.status, eventId: m.eventId });
    const listed = await waitFor('the task\'s three events', async () => {
      const r = await events.listEvents({ filter: { aggregateIds: [task!.id] } });
      return r.events.length === 3 ? r.events : undefined;
    }, 10_000);
    expect(listed.map((e) => e.type)).toEqual(['task.created', 'task.started', 'task.succeeded']);
    expect(got[0]!.eventId).toBe('');
    expect(got.at(-1)).toEqual({ status: TaskStatus.SUCCEEDED, eventId: listed[2]!.id });
    // Every later message is one of the task's events, in order.
    const ids = got.slice(1).map((m) => m.eventId);
    expect(ids).toEqual(listed.map((e) => e.id).slice(3 - ids.length));
    const resumed: string[] = [];
    for await (const m of tasks.watchTask({ id: task!.id, afterEventId: listed[1]!.id })) resumed.push(`${TaskStatus[m.task!.status]} ${m.eventId}`);
    expect(resumed).toEqual([`SUCCEEDED ${listed[2]!.id}`]);
    dev.kill('SIGTERM');
    expect((await dev.exited).code).toBe(0);
  });
});
