import { fromJson } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleEventSchema, TaskEventSchema, WorkflowEventSchema } from '../../gen/taskd/v1/events/events_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { FailurePolicy, WorkflowService, WorkflowStatus } from '../../gen/taskd/v1/workflow_service_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskApi } from '../../internal/api/task-api.js';
import { DEFAULT_LIMITS } from '../../internal/domain/task-spec.js';
import { systemClock } from '../../internal/shared/clock.js';
import { silentLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPglite, rows } from '../../internal/storage/db.js';
import { Cluster } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

interface EventRow {
  sequence: string;
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  namespace: string;
  data: Record<string, unknown>;
}

/** Every data payload must be its message's proto3 JSON: parsed strictly. */
function parseData(e: EventRow) {
  const schema = { task: TaskEventSchema, workflow: WorkflowEventSchema, schedule: ScheduleEventSchema }[e.aggregate_type];
  if (!schema) throw new Error(`unknown aggregate type ${e.aggregate_type}`);
  return fromJson(schema as typeof TaskEventSchema, e.data as never, { ignoreUnknownFields: false });
}

describe('the outbox: every state change commits with its event (real Postgres)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let tasks: Client<typeof TaskService>;
  let workflows: Client<typeof WorkflowService>;
  let schedules: Client<typeof ScheduleService>;
  const workers = new InprocWorkers();

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
    const t = createGrpcTransport({ baseUrl: cluster.apiUrl });
    tasks = createClient(TaskService, t);
    workflows = createClient(WorkflowService, t);
    schedules = createClient(ScheduleService, t);
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const eventsOf = async (aggregateId: string): Promise<EventRow[]> =>
    (await cluster.sql.query<EventRow>('select * from events where aggregate_id = $1 order by sequence', [aggregateId])).rows;

  it('a task that fails twice, retries and dead-letters: each change once, in order, as strict TaskEvent JSON', async () => {
    await workers.start(cluster.schedulerAddrs, { broken: () => { throw new Error('always'); } }, { slots: 2 });
    const { task } = await tasks.submitTask({
      task: { type: 'broken', retryPolicy: { maxAttempts: 3, initialBackoff: durationFromMs(20), maxBackoff: durationFromMs(20) } },
    });
    await waitFor('dead letter', async () => (await tasks.getTask({ id: task!.id })).task!.status === TaskStatus.DEAD_LETTERED, 30_000, 50);
    const evs = await eventsOf(task!.id);
    expect(evs.map((e) => e.type)).toEqual([
      'task.created', 'task.started', 'task.retrying', 'task.queued', 'task.started', 'task.retrying', 'task.queued',
      'task.started', 'task.dead_lettered',
    ]);
    const data = evs.map(parseData) as ReturnType<typeof fromJson<typeof TaskEventSchema>>[];
    expect(data.map((d) => d.attempt)).toEqual([0, 1, 1, 1, 2, 2, 2, 3, 3]);
    expect(data.at(-1)).toMatchObject({ status: TaskStatus.DEAD_LETTERED, previousStatus: TaskStatus.RUNNING, error: { message: 'always' } });
    expect(new Set(evs.map((e) => e.id)).size).toBe(evs.length);
    const seqs = evs.map((e) => BigInt(e.sequence));
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
  });

  it('a workflow: created, its tasks, and its end; a schedule: created, paused, fired, deleted', async () => {
    await workers.start(cluster.schedulerAddrs, { step: () => ({ ok: true }) }, { slots: 2 });
    const { workflow } = await workflows.submitWorkflow({
      workflow: { name: 'w', failurePolicy: FailurePolicy.FAIL_FAST, tasks: [{ name: 'a', task: { type: 'step' } }, { name: 'b', dependsOn: ['a'], task: { type: 'step' } }] },
    });
    await waitFor('workflow end', async () => (await workflows.getWorkflow({ id: workflow!.id })).workflow!.status === WorkflowStatus.SUCCEEDED, 30_000, 50);
    const wf = await eventsOf(workflow!.id);
    expect(wf.map((e) => e.type)).toEqual(['workflow.created', 'workflow.succeeded']);
    wf.forEach(parseData);
    const b = workflow!.tasks.find((t) => t.name === 'b')!.task!;
    const bEvents = await eventsOf(b.id);
    expect(bEvents.map((e) => e.type)).toEqual(['task.created', 'task.queued', 'task.started', 'task.succeeded']);
    expect(parseData(bEvents[0]!)).toMatchObject({ workflowId: workflow!.id, node: 'b', status: TaskStatus.PENDING });

    const { schedule } = await schedules.createSchedule({ schedule: { name: 'ev', cron: '0 0 1 1 *', timeZone: 'UTC', template: { case: 'task', value: { type: 'step' } } } });
    await schedules.pauseSchedule({ id: schedule!.id });
    await schedules.triggerSchedule({ id: schedule!.id });
    await schedules.deleteSchedule({ id: schedule!.id });
    const sc = await eventsOf(schedule!.id);
    expect(sc.map((e) => e.type)).toEqual(['schedule.created', 'schedule.paused', 'schedule.fired', 'schedule.deleted']);
    sc.forEach(parseData);
    expect(parseData(sc[2]!)).toMatchObject({ manual: true, scheduleId: schedule!.id });
  });

  it('the embedded default (PGlite) writes the same events', async () => {
    const lite = await openPglite();
    try {
      await migrateDb(lite);
      const api = new TaskApi({ logger: silentLogger(), clock: systemClock }, { db: lite, limits: DEFAULT_LIMITS, hints: { ready: () => {}, due: () => {}, cancelled: () => {} } });
      const [r] = await api.submit([{ type: 'noop' }], 'task', false);
      await api.cancel('default', r!.task.id, 'changed my mind');
      const evs = await rows<EventRow>(lite.orm, sql`select * from events where aggregate_id = ${r!.task.id} order by sequence`);
      expect(evs.map((e) => e.type)).toEqual(['task.created', 'task.cancelled']);
      evs.forEach(parseData);
    } finally {
      await lite.close();
    }
  });
});
