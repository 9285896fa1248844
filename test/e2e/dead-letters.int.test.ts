import { once } from 'node:events';
import { durationFromMs, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';
import { DeadLetterService, type DeadLetter } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { jsonOf, valueOf } from '../../internal/rpc/convert/json.js';
import { registerBuiltins, Worker } from '../../internal/sdk/index.js';
import { Cluster } from '../cluster.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const BROKEN = 'flaky is broken';
const UNKNOWN = '01900000-0000-7000-8000-000000000000';

/** The ConnectError a call was refused with (fails the test if it succeeded). */
async function refused(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => { throw new Error('the call succeeded'); },
    (e: unknown) => ConnectError.from(e),
  );
}

describe('DeadLetterService on a real stack (apiserver, scheduler, an in-test worker)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let dlq: Client<typeof DeadLetterService>;
  const stop = new AbortController();
  let worker: Worker;
  let working: Promise<void> = Promise.resolve();
  /** While set, `flaky` throws a retryable error. */
  let broken = true;
  /** The idempotency key each `flaky` attempt saw, by task id. */
  const keys = new Map<string, string>();

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0 });
    dlq = createClient(DeadLetterService, createGrpcTransport({ baseUrl: cluster.apiUrl }));
    worker = new Worker({ addresses: cluster.schedulerAddrs, workerId: 'in-test', slots: 4 });
    registerBuiltins(worker);
    worker.register('flaky', (ctx) => {
      keys.set(ctx.taskId, ctx.idempotencyKey);
      if (broken) throw new Error(BROKEN);
      return { fixed: ctx.payload };
    });
    const connected = once(worker, 'connected');
    working = worker.run(stop.signal);
    await connected;
  });

  afterAll(async () => {
    stop.abort();
    await working;
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  const taskStatus = async (id: string): Promise<string | undefined> =>
    (await cluster.sql.query<{ status: string }>('select status from tasks where id = $1', [id])).rows[0]?.status;

  const submitFlaky = async (namespace: string, maxAttempts: number): Promise<string> => {
    const sub = await cluster.client().submitTask({
      task: {
        namespace, type: 'flaky', queue: 'default', payload: valueOf({ order: 17 }), priority: 5,
        retryPolicy: { maxAttempts, initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(100) },
        idempotencyKey: `flaky-${namespace}`, labels: { team: namespace },
      },
    });
    const id = sub.task!.id;
    await waitFor(`task ${id} to be dead-lettered`, async () => (await taskStatus(id)) === 'DEAD_LETTERED', 30_000);
    return id;
  };

  let deadId = '';
  let otherId = '';

  it('a task that keeps failing is dead-lettered after 3 attempts, listed and read with every attempt', async () => {
    deadId = await submitFlaky('default', 3);
    const list = await dlq.listDeadLetters({});
    expect(list.deadLetters.map((d) => d.id)).toEqual([deadId]);
    expect(list.nextPageToken).toBe('');
    expect(list.deadLetters[0]).toMatchObject({ taskId: deadId, namespace: 'default', type: 'flaky', queue: 'default', replayedTaskId: '' });
    expect(list.deadLetters[0]!.error?.message).toBe(BROKEN);
    expect((await dlq.listDeadLetters({ type: 'flaky', queue: 'default' })).deadLetters).toHaveLength(1);
    expect((await dlq.listDeadLetters({ type: 'noop' })).deadLetters).toHaveLength(0);
    expect((await dlq.listDeadLetters({ queue: 'elsewhere' })).deadLetters).toHaveLength(0);

    const got = (await dlq.getDeadLetter({ id: deadId })).deadLetter!;
    expect(jsonOf(got.payload)).toEqual({ order: 17 });
    expect(got.error).toMatchObject({ message: BROKEN, retryable: true });
    expect(got.attempts.map((a) => a.number)).toEqual([1, 2, 3]);
    for (const a of got.attempts) {
      expect(a.error?.message).toBe(BROKEN);
      expect(a.workerId).toBe('in-test');
      expect(a.endedAt).toBeDefined();
    }
    expect(got.createdAt).toBeDefined();
  });

  it('after the fix, a replay runs a fresh linked task to success; replaying again is FAILED_PRECONDITION', async () => {
    broken = false;
    const r = await dlq.replayDeadLetter({ id: deadId });
    const fresh = r.task!;
    expect(fresh.id).not.toBe(deadId);
    expect(fresh).toMatchObject({
      replayOf: deadId, namespace: 'default', type: 'flaky', queue: 'default', priority: 5, labels: { team: 'default' },
      idempotencyKey: '',
    });
    expect(fresh.retryPolicy?.maxAttempts).toBe(3);
    expect(jsonOf(fresh.payload)).toEqual({ order: 17 });
    expect(r.deadLetter).toMatchObject({ id: deadId, replayedTaskId: fresh.id });
    expect(r.deadLetter!.replayedAt).toBeDefined();

    await waitFor('the replay to succeed', async () => (await taskStatus(fresh.id)) === 'SUCCEEDED', 30_000);
    const done = (await cluster.client().getTask({ id: fresh.id })).task!;
    expect(done.replayOf).toBe(deadId);
    expect(done.status).toBe(TaskStatus.SUCCEEDED);
    expect(jsonOf(done.output)).toEqual({ fixed: { order: 17 } });
    expect(keys.get(fresh.id)).toBe('');
    expect((await cluster.client().getTask({ id: deadId })).task!.status).toBe(TaskStatus.DEAD_LETTERED);
    expect((await dlq.getDeadLetter({ id: deadId })).deadLetter!.replayedTaskId).toBe(fresh.id);

    const again = await refused(dlq.replayDeadLetter({ id: deadId }));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect(again.rawMessage).toBe(`dead letter ${deadId} was already replayed as task ${fresh.id}`);
    const replays = await cluster.sql.query('select id from tasks where replay_of = $1', [deadId]);
    expect(replays.rows).toEqual([{ id: fresh.id }]);
  });

  it('two concurrent replays of one dead letter: exactly one wins', async () => {
    broken = true;
    otherId = await submitFlaky('team-b', 1);
    broken = false;
    const rs = await Promise.allSettled([0, 1].map(() => dlq.replayDeadLetter({ namespace: 'team-b', id: otherId })));
    const won = rs.filter((r) => r.status === 'fulfilled');
    const lost = rs.flatMap((r) => (r.status === 'rejected' ? [ConnectError.from(r.reason)] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((e) => e.code)).toEqual([Code.FailedPrecondition]);
    const replays = await cluster.sql.query<{ id: string }>('select id from tasks where replay_of = $1', [otherId]);
    expect(replays.rows).toHaveLength(1);
    await waitFor('the team-b replay to succeed', async () => (await taskStatus(replays.rows[0]!.id)) === 'SUCCEEDED', 30_000);
  });

  it('another namespace\'s dead letter is not found, not listed and not purged', async () => {
    expect((await refused(dlq.getDeadLetter({ namespace: 'team-b', id: deadId }))).code).toBe(Code.NotFound);
    expect((await refused(dlq.replayDeadLetter({ namespace: 'team-b', id: deadId }))).code).toBe(Code.NotFound);
    expect((await refused(dlq.getDeadLetter({ id: otherId }))).code).toBe(Code.NotFound);
    expect((await dlq.listDeadLetters({ namespace: 'team-b' })).deadLetters.map((d: DeadLetter) => d.id)).toEqual([otherId]);
    expect((await dlq.listDeadLetters({})).deadLetters.map((d: DeadLetter) => d.id)).toEqual([deadId]);
    expect((await dlq.purgeDeadLetters({ namespace: 'team-b', ids: [deadId] })).purged).toBe(0);
    expect((await dlq.getDeadLetter({ id: deadId })).deadLetter?.id).toBe(deadId);
  });

  it('bad input: unknown id NOT_FOUND, non-UUID id INVALID_ARGUMENT naming id, empty purge naming before', async () => {
    const unknown = await refused(dlq.getDeadLetter({ id: UNKNOWN }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toBe(`dead letter ${UNKNOWN} not found`);
    expect((await refused(dlq.replayDeadLetter({ id: UNKNOWN }))).code).toBe(Code.NotFound);

    const notUuid = await refused(dlq.getDeadLetter({ id: 'nope' }));
    expect(notUuid.code).toBe(Code.InvalidArgument);
    expect(notUuid.rawMessage).toBe('id: must be a UUID');
    expect(notUuid.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(['id']);

    const empty = await refused(dlq.purgeDeadLetters({}));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(['before']);
    expect((await refused(dlq.purgeDeadLetters({ ids: ['nope'] }))).rawMessage).toBe('ids[0]: must be a UUID');
  });

  it('purge by id deletes the dead letter and keeps its task; purge by time deletes only older ones', async () => {
    expect((await dlq.purgeDeadLetters({ ids: [deadId] })).purged).toBe(1);
    expect((await refused(dlq.getDeadLetter({ id: deadId }))).code).toBe(Code.NotFound);
    expect((await dlq.listDeadLetters({})).deadLetters).toHaveLength(0);
    expect((await cluster.client().getTask({ id: deadId })).task!.status).toBe(TaskStatus.DEAD_LETTERED);

    const other = (await dlq.getDeadLetter({ namespace: 'team-b', id: otherId })).deadLetter!;
    expect((await dlq.purgeDeadLetters({ namespace: 'team-b', before: other.createdAt })).purged).toBe(0);
    const later = timestampFromDate(new Date(timestampDate(other.createdAt!).getTime() + 1));
    expect((await dlq.purgeDeadLetters({ namespace: 'team-b', before: later })).purged).toBe(1);
    expect((await dlq.listDeadLetters({ namespace: 'team-b' })).deadLetters).toHaveLength(0);
    expect(await taskStatus(otherId)).toBe('DEAD_LETTERED');
  });
});
