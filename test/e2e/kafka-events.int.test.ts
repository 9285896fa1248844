import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../../gen/taskd/v1/task_pb.js';
import { TaskApi } from '../../internal/api/task-api.js';
import { isDomainError } from '../../internal/domain/errors.js';
import { DEFAULT_LIMITS } from '../../internal/domain/task-spec.js';
import { KafkaPublisher } from '../../internal/events/kafka-publisher.js';
import { OutboxRelay } from '../../internal/events/outbox-relay.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { ManualClock } from '../../internal/shared/clock.js';
import { silentLogger } from '../../internal/shared/logger.js';
import { sleep } from '../../internal/shared/sleep.js';
import { sql } from 'drizzle-orm';
import { migrateDb, openPostgres, rows, type Db } from '../../internal/storage/db.js';
import { leadershipClaim } from '../../internal/storage/leadership-store.js';
import { Cluster, logMsg } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { deliveryReport, EventCollector, testTopics, topicEnv, type OutboxEntry } from '../kafka-kit.js';
import { reapAll, type LogLine } from '../procs.js';
import { createTestDatabase, freezeKafka, redisPrefix, startKafka, stopKafka, testEnv, thawKafka, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

/** What a test started, torn down after it whatever happened. */
const open: { dbs: TestDatabase[]; clusters: Cluster[]; collectors: EventCollector[]; pools: Db[] } = { dbs: [], clusters: [], collectors: [], pools: [] };
const workers = new InprocWorkers();

afterEach(async () => {
  await workers.stopAll();
  await reapAll();
  for (const c of open.collectors.splice(0)) await c.stop();
  for (const c of open.clusters.splice(0)) await c.close();
  for (const p of open.pools.splice(0)) await p.close();
  for (const d of open.dbs.splice(0)) await d.drop();
  // A test that failed during its outage must not leave the broker down or frozen.
  thawKafka();
  await startKafka();
});

async function startCluster(p: { schedulers: number; kafkaEnv?: Record<string, string> }): Promise<Cluster> {
  const db = await createTestDatabase();
  open.dbs.push(db);
  const cluster = await Cluster.start({
    pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: p.schedulers, workers: 0,
    kafka: { brokers: testEnv().kafkaBrokers, env: p.kafkaEnv },
  });
  open.clusters.push(cluster);
  return cluster;
}

/** Subscribes once the leader's relay created the topics (its log says so). */
async function collect(cluster: Cluster, topics: string[]): Promise<EventCollector> {
  const leader = cluster.schedulers[await cluster.leaderIndex()]!;
  await leader.proc.waitForLog(logMsg('kafka topics created'), 30_000);
  const c = await EventCollector.start(testEnv().kafkaBrokers, topics);
  open.collectors.push(c);
  return c;
}

const outbox = async (cluster: Cluster): Promise<OutboxEntry[]> =>
  (await cluster.sql.query<OutboxEntry>('select id, sequence::text as sequence, aggregate_id from events order by sequence')).rows;
const unsent = async (cluster: Cluster): Promise<number> =>
  Number((await cluster.sql.query<{ n: string }>('select count(*) n from events where sent_at is null')).rows[0]!.n);
const drained = (cluster: Cluster) => waitFor('the outbox to drain (no unsent rows)', async () => (await unsent(cluster)) === 0, 60_000, 100);

/** Waits until every outbox row's id is on `topic`. */
async function allArrived(c: EventCollector, topic: string, rows: OutboxEntry[], timeoutMs = 60_000): Promise<void> {
  const ids = new Set(rows.map((r) => r.id));
  await c.waitUntil(`all ${ids.size} outbox events on ${topic}`, (x) => {
    const seen = new Set(x.all(topic).map((r) => r.event.id));
    return [...ids].every((id) => seen.has(id));
  }, timeoutMs, (x) => `${[...ids].filter((id) => !new Set(x.all(topic).map((r) => r.event.id)).has(id)).length} still missing`);
}

const isMsg = (line: LogLine, msg: string): line is Record<string, unknown> => typeof line === 'object' && line.msg === msg;

describe('the outbox relay publishes every event to Kafka (real Postgres, Redis, Kafka)', () => {
  it('a task that retries twice and dead-letters: each state change once on taskd.events, in order; the dead letter also on taskd.dead-letters', async () => {
    // Default topic names: this is the one test on this broker that uses them.
    const cluster = await startCluster({ schedulers: 1 });
    const c = await collect(cluster, ['taskd.events', 'taskd.dead-letters']);
    await workers.start(cluster.schedulerAddrs, { broken: () => { throw new Error('always'); } }, { slots: 2 });
    const { task } = await cluster.client().submitTask({
      task: { type: 'broken', retryPolicy: { maxAttempts: 3, initialBackoff: durationFromMs(20), maxBackoff: durationFromMs(20) } },
    });
    const id = task!.id;
    await waitFor('the dead letter', async () => (await cluster.client().getTask({ id })).task!.status === TaskStatus.DEAD_LETTERED, 30_000);
    await drained(cluster);
    const rows = (await outbox(cluster)).filter((r) => r.aggregate_id === id);
    expect(rows).toHaveLength(9);
    await allArrived(c, 'taskd.events', rows);
    await c.waitUntil('the dead letter on taskd.dead-letters', (x) => x.all('taskd.dead-letters').some((r) => r.event.aggregateId === id), 30_000);

    expect(c.errors).toEqual([]);
    const mine = c.all('taskd.events').filter((r) => r.event.aggregateId === id);
    expect(mine.map((r) => r.event.id)).toEqual(rows.map((r) => r.id)); // once each, in sequence order
    expect(mine.map((r) => r.event.type)).toEqual([
      'task.created', 'task.started', 'task.retrying', 'task.queued', 'task.started', 'task.retrying', 'task.queued',
      'task.started', 'task.dead_lettered',
    ]);
    expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
    expect(mine.every((r) => r.key === id && r.headers['event-id'] === r.event.id && r.headers['event-type'] === r.event.type)).toBe(true);
    expect(mine.map((r) => r.event.data.case === 'task' && r.event.data.value.attempt)).toEqual([0, 1, 1, 1, 2, 2, 2, 3, 3]);
    const dead = c.all('taskd.dead-letters');
    expect(dead.map((r) => [r.event.id, r.event.type])).toEqual([[rows.at(-1)!.id, 'task.dead_lettered']]);
    expect(dead[0]!.event.data).toMatchObject({ case: 'task', value: { status: TaskStatus.DEAD_LETTERED, error: { message: 'always' } } });
  });

  it('Kafka stopped for 30 s under 20 tasks/s: the outbox grows, then drains; every event arrives, none twice, in order per task', { timeout: 240_000 }, async () => {
    const topics = testTopics();
    const cluster = await startCluster({ schedulers: 1, kafkaEnv: topicEnv(topics) });
    const c = await collect(cluster, [topics.events]);
    await workers.start(cluster.schedulerAddrs, { noop: (ctx) => ctx.payload ?? null }, { slots: 8 });
    const client = cluster.client();
    const load = new AbortController();
    const submitted: string[] = [];
    // A steady, bounded load: 20 tasks/s on a fixed schedule (fewer if submits take longer than 50 ms).
    const loader = (async () => {
      const t0 = Date.now();
      do {
        const { task } = await client.submitTask({ task: { type: 'noop', payload: valueOf({ i: submitted.length }) } });
        submitted.push(task!.id);
      } while (await sleep(t0 + submitted.length * 50 - Date.now(), load.signal));
    })();
    try {
      await c.waitUntil('events flowing before the outage', (x) => x.all(topics.events).length >= 100, 30_000);
      const leader = cluster.schedulers[0]!.proc;
      await stopKafka();
      const before = submitted.length;
      await leader.waitForLog(logMsg('outbox relay failing; backing off and retrying (logged once per outage)'), 30_000);
      await sleep(30_000); // the deliberate outage
      const grown = await unsent(cluster);
      const during = submitted.length - before;
      expect(during, 'tasks submitted while Kafka was down').toBeGreaterThan(200); // the load went on (20/s when the machine keeps up)
      expect(grown, 'unsent outbox rows after the outage').toBeGreaterThanOrEqual(during); // at least each task's task.created waited
      await startKafka();
      await leader.waitForLog(logMsg('outbox relay recovered; draining the outbox'), 60_000);
    } finally {
      load.abort();
      await loader;
    }
    await cluster.waitTerminal(submitted.length, 60_000);
    await drained(cluster);
    const rows = await outbox(cluster);
    await allArrived(c, topics.events, rows);
    const r = deliveryReport(c, topics.events, rows);
    console.log(`kafka outage: ${submitted.length} tasks, ${rows.length} events, ${c.all(topics.events).length} records, duplicates ${r.duplicates}`);
    expect(c.errors).toEqual([]);
    expect(r).toEqual({ missing: [], duplicates: 0, duplicatedIds: [], disorder: [], badRecords: [] });
    // Once per outage: one warning and one recovery, not one per retry.
    const out = cluster.schedulers[0]!.proc.output().join('\n');
    expect(out.match(/outbox relay failing/g)).toHaveLength(1);
    expect(out.match(/outbox relay recovered/g)).toHaveLength(1);
  });

  it('the leader SIGKILLed with a batch in flight: no event lost; duplicates only by id (counted); per-task order holds after dropping them', { timeout: 180_000 }, async () => {
    const topics = testTopics();
    // Small batches over a large backlog, and a debug log that shows each batch's "publishing" and "sent".
    const cluster = await startCluster({ schedulers: 2, kafkaEnv: { ...topicEnv(topics), TASKD_RELAY_BATCH: '20', TASKD_LOG_LEVEL: 'debug' } });
    const c = await collect(cluster, [topics.events]);
    const old = await cluster.leaderIndex();
    const leader = cluster.schedulers[old]!;
    const standby = cluster.schedulers[1 - old]!;
    // A backlog of 6,000 task.created events (no workers: nothing else happens to them).
    const client = cluster.client();
    const tasks = Array.from({ length: 500 }, (_, i) => ({ type: 'noop', payload: valueOf({ i }) }));
    for (let i = 0; i < 12; i++) await client.submitTasks({ tasks });
    let batches = 0;
    await leader.proc.waitForLog((l) => isMsg(l, 'outbox relay batch publishing') && ++batches === 30, 30_000);
    // Freeze the broker mid-drain: the relay's next produce request reaches the broker's
    // socket but gets no answer, so the leader dies with that batch sent and unacknowledged
    // (the broker appends it once thawed: the worst case for duplicates).
    freezeKafka();
    await sleep(1_000); // the deliberate stall, far below the producer's 15 s request timeout
    leader.proc.kill9();
    await leader.proc.exited;
    thawKafka();
    // The killed leader's last relay line: a batch it began to publish and never marked.
    const relayLines = leader.proc.output().map((t) => (t.startsWith('{') ? JSON.parse(t) as Record<string, unknown> : {}))
      .filter((l) => l.msg === 'outbox relay batch publishing' || l.msg === 'outbox relay batch sent');
    const last = relayLines.at(-1)!;
    expect(last.msg, 'the leader was killed between publishing a batch and marking it').toBe('outbox relay batch publishing');
    await standby.proc.waitForLog(logMsg('became leader'), 15_000);
    await drained(cluster);
    const rows = await outbox(cluster);
    expect(rows.length).toBe(6_000);
    await allArrived(c, topics.events, rows);
    const r = deliveryReport(c, topics.events, rows);
    console.log(`leader kill mid-batch: in-flight batch ${last.first}..${last.last}; ${rows.length} events, ${c.all(topics.events).length} records, ` +
      `${r.duplicates} duplicates (${r.duplicatedIds.length} ids)`);
    expect(c.errors).toEqual([]);
    expect(r.missing).toEqual([]);
    expect(r.disorder).toEqual([]);
    expect(r.badRecords).toEqual([]);
    // At least once: only the batch in flight may be sent again (by the new leader), each of its events once more.
    const inFlight = new Set(rows.filter((x) => BigInt(x.sequence) >= BigInt(last.first as string) && BigInt(x.sequence) <= BigInt(last.last as string)).map((x) => x.id));
    expect(r.duplicatedIds.filter((id) => !inFlight.has(id))).toEqual([]);
    expect(r.duplicates).toBe(r.duplicatedIds.length);
  });
});

describe('the relay of a deposed leader; retention (in process, real Postgres and Kafka)', () => {
  it('a deposed relay may publish but cannot mark rows sent; pruning deletes old sent rows and never unsent ones', async () => {
    const dbInfo = await createTestDatabase();
    open.dbs.push(dbInfo);
    const db = openPostgres(dbInfo.url, { max: 4 });
    open.pools.push(db);
    await migrateDb(db);
    const clock = new ManualClock(Date.now());
    const base = { logger: silentLogger(), clock };
    const api = new TaskApi(base, { db, limits: DEFAULT_LIMITS, hints: { ready: () => {}, due: () => {}, cancelled: () => {} } });
    const submit = async (n: number): Promise<void> => void (await api.submit(Array.from({ length: n }, () => ({ type: 'noop' })), 'task', false));
    const topics = testTopics();
    const settings = { brokers: [testEnv().kafkaBrokers], clientId: 'taskd-test', topics, partitions: 2, replication: 1 };
    const relay = new OutboxRelay(base, {
      db, topics, publisher: () => new KafkaPublisher(base, settings), batch: 1_000, pollMs: 50, retentionMs: 60_000,
    });
    const unsentCount = async () => (await rows<{ n: number }>(db.orm, sql`select count(*)::int n from events where sent_at is null`))[0]!.n;
    const total = async () => (await rows<{ n: number }>(db.orm, sql`select count(*)::int n from events`))[0]!.n;

    await db.tx((tx) => leadershipClaim(tx, { epoch: 1, leader: 'a', now: new Date() }));
    const term1 = relay.openTerm(1);
    await submit(10);
    expect(await relay.runOnce(term1)).toMatchObject({ published: 10, marked: 10 });
    const c = await EventCollector.start(testEnv().kafkaBrokers, [topics.events]);
    open.collectors.push(c);

    // Another leader takes over (epoch 2); the old term's relay goes on as if nothing happened.
    await db.tx((tx) => leadershipClaim(tx, { epoch: 2, leader: 'b', now: new Date() }));
    clock.advance(30_000);
    await submit(5);
    const refused = await relay.runOnce(term1).catch((e: unknown) => e);
    expect(isDomainError(refused, 'not_leader'), `a deposed relay's mark must fail the fence, got ${String(refused)}`).toBe(true);
    expect(await unsentCount()).toBe(5);
    await c.waitUntil('the deposed relay\'s publish (a duplicate to be, never a loss)', (x) => x.all(topics.events).length === 15, 30_000);
    await term1.publisher.close();
    // run() ends such a term with the same error (after publishing once more) instead of retrying.
    await expect(relay.run(AbortSignal.timeout(30_000), 1)).rejects.toThrow(/epoch 1 is no longer current/);
    expect(await unsentCount()).toBe(5);

    // The new leader's relay re-sends them (at least once) and marks them.
    const term2 = relay.openTerm(2);
    expect(await relay.runOnce(term2)).toMatchObject({ published: 5, marked: 5 });
    expect(await unsentCount()).toBe(0);
    await c.waitUntil('the new relay\'s copies', (x) => x.all(topics.events).length === 25, 30_000);
    const all = await rows<OutboxEntry>(db.orm, sql`select id, sequence::text as sequence, aggregate_id from events`);
    expect(deliveryReport(c, topics.events, all)).toMatchObject({ missing: [], duplicates: 10, disorder: [], badRecords: [] });

    // Retention: 10 rows sent at t0, 5 at t0+30 s, and 3 new unsent rows.
    await submit(3);
    clock.advance(31_000); // t0 + 61 s: only the first 10 are older than the 60 s retention
    expect(await relay.prune(term2)).toBe(10);
    expect(await total()).toBe(8);
    clock.advance(3_600_000);
    expect(await relay.prune(term2)).toBe(5);
    expect(await unsentCount()).toBe(3);
    expect(await total()).toBe(3); // unsent rows are never pruned, however old
    // A deposed term cannot prune either.
    await expect(relay.prune(relay.openTerm(1))).rejects.toThrow(/no longer current/);
    await term2.publisher.close();
  });
});
