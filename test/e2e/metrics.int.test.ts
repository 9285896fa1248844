import { randomBytes } from 'node:crypto';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationService } from '../../gen/taskd/v1/notification_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../cluster.js';
import { scrape, total, type Scrape } from '../metrics-scrape.js';
import { PROMETHEUS_GENERATED, referencedMetrics } from '../deploy/referenced-metrics.js';
import { WebhookReceiver } from '../notifier-kit.js';
import { freePort, reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

/**
 * Scrapes /metrics of every process of a real cluster (apiserver, two schedulers with
 * the Kafka relay, two worker processes, a Kafka-fed notifier) during a run whose
 * outcome is known exactly, and checks the counters say what happened.
 */
describe('metrics: every process\'s /metrics matches what happened', () => {
  const topic = `m${randomBytes(5).toString('hex')}`;
  let db: TestDatabase;
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  const workerAddrs: string[] = [];
  let notifierAddr = '';

  // The run: OK noop tasks succeed; BAD sleeps have an invalid payload (non-retryable:
  // FAILED at once); SLOW sleeps outlive their 400 ms timeout twice (one retry, then the
  // dead-letter queue); PARKED tasks sit in a queue no worker serves.
  const OK = 20;
  const BAD = 3;
  const SLOW = 2;
  const PARKED = 5;

  const scrapeAll = async (): Promise<{ api: Scrape[]; schedulers: Scrape[]; workers: Scrape[]; notifier: Scrape }> => ({
    api: await Promise.all(cluster.apiservers.map((a) => scrape(a.addr))),
    schedulers: await Promise.all(cluster.schedulers.map((s) => scrape(s.addr))),
    workers: await Promise.all(workerAddrs.map((a) => scrape(a))),
    notifier: await scrape(notifierAddr),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await WebhookReceiver.start();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 2, workers: 0, env: { ...FAST_TIMINGS },
      kafka: { brokers: testEnv().kafkaBrokers, env: { TASKD_KAFKA_EVENTS_TOPIC: `${topic}.events`, TASKD_KAFKA_DEAD_LETTERS_TOPIC: `${topic}.dlq` } },
    });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      await cluster.startWorker({ TASKD_WORKER_HEALTH_ADDR: `127.0.0.1:${port}` });
      workerAddrs.push(`127.0.0.1:${port}`);
    }
    const port = await freePort();
    notifierAddr = `127.0.0.1:${port}`;
    const notifier = await cluster.startNotifier({
      TASKD_ADDR: notifierAddr, TASKD_NOTIFIER_KAFKA_GROUP: `${topic}-notifier`, TASKD_NOTIFIER_POLL_MS: '100',
      TASKD_NOTIFIER_INITIAL_BACKOFF_MS: '100', TASKD_NOTIFIER_MAX_BACKOFF_MS: '200',
    });
    await notifier.waitForLog(logMsg('notifier joined its consumer group'), 60_000);
  }, 180_000);

  afterAll(async () => {
    await reapAll();
    await cluster?.close();
    await receiver?.close();
    await db?.drop();
  });

  it('counts submissions, dispatches, completions by status, retries, dead letters, RPCs, deliveries and queue depth exactly', async () => {
    // The first delivery attempt is refused: one retry, then both dead letters delivered.
    receiver.route('/dlq', (n) => ({ status: n === 1 ? 500 : 204 }));
    await createClient(NotificationService, cluster.transport()).createSubscription({
      subscription: { name: 'dlq', target: { case: 'webhookUrl', value: receiver.url('/dlq') }, filter: { types: ['task.dead_lettered'] } },
    });

    const tasks = cluster.client();
    await tasks.submitTasks({ tasks: Array.from({ length: OK }, (_, i) => ({ type: 'noop', payload: valueOf({ i }) })) });
    for (let i = 0; i < BAD; i++) await tasks.submitTask({ task: { type: 'sleep', payload: valueOf({ ms: -1 }) } });
    for (let i = 0; i < SLOW; i++) {
      await tasks.submitTask({
        task: {
          type: 'sleep', payload: valueOf({ ms: 60_000 }), timeout: durationFromMs(400),
          retryPolicy: { maxAttempts: 2, initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(100) },
        },
      });
    }
    await tasks.submitTasks({ tasks: Array.from({ length: PARKED }, () => ({ type: 'noop', queue: 'parked' })) });
    const refused = await tasks.submitTask({ task: { type: '' } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.InvalidArgument);

    await cluster.waitTerminal(OK + BAD + SLOW, 60_000);
    await receiver.waitUntil('both dead letters delivered', () => receiver.requests('/dlq').filter((r) => r.status === 204).length === SLOW, 60_000);
    // Counters move after commits and acks: wait until the last of them shows, then compare all.
    const m = await waitFor('the workers and the notifier to count every attempt and delivery', async () => {
      const s = await scrapeAll();
      const attempts = total(s.workers, 'taskd_worker_attempts_total');
      const delivered = s.notifier.sum('taskd_notifier_deliveries_total', { result: 'delivered' });
      return attempts === OK + BAD + 2 * SLOW && delivered === SLOW && s ;
    }, 30_000, 200);

    // apiserver: submissions and RPCs by code.
    expect(total(m.api, 'taskd_tasks_submitted_total')).toBe(OK + BAD + SLOW + PARKED);
    expect(total(m.api, 'taskd_tasks_submitted_total', { type: 'sleep' })).toBe(BAD + SLOW);
    expect(total(m.api, 'taskd_tasks_submitted_total', { queue: 'parked' })).toBe(PARKED);
    expect(total(m.api, 'taskd_rpc_requests_total', { method: 'SubmitTask', code: 'OK' })).toBe(BAD + SLOW);
    expect(total(m.api, 'taskd_rpc_requests_total', { method: 'SubmitTasks', code: 'OK' })).toBe(2);
    expect(total(m.api, 'taskd_rpc_requests_total', { method: 'SubmitTask', code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(total(m.api, 'taskd_rpc_duration_seconds_count', { method: 'SubmitTask' })).toBe(BAD + SLOW + 1);

    // schedulers: one leader; what it dispatched and how each attempt ended.
    const s = m.schedulers;
    expect(total(s, 'taskd_leader')).toBe(1);
    expect(total(s, 'taskd_leader_elections_total')).toBeGreaterThanOrEqual(1);
    expect(total(s, 'taskd_tasks_dispatched_total')).toBe(OK + BAD + 2 * SLOW);
    expect(total(s, 'taskd_tasks_completed_total', { status: 'succeeded' })).toBe(OK);
    expect(total(s, 'taskd_tasks_completed_total', { status: 'failed' })).toBe(BAD);
    expect(total(s, 'taskd_tasks_completed_total', { status: 'dead_lettered' })).toBe(SLOW);
    expect(total(s, 'taskd_task_retries_total')).toBe(SLOW);
    expect(total(s, 'taskd_task_retries_total', { reason: 'timeout' })).toBe(SLOW);
    expect(total(s, 'taskd_tasks_dead_lettered_total', { type: 'sleep' })).toBe(SLOW);
    expect(total(s, 'taskd_attempt_duration_seconds_count')).toBe(OK + BAD + 2 * SLOW);
    expect(total(s, 'taskd_queue_wait_seconds_count')).toBe(OK + BAD + 2 * SLOW);
    expect(total(s, 'taskd_workers_connected')).toBe(2);
    expect(total(s, 'taskd_worker_slots', { state: 'busy' })).toBe(0);
    expect(total(s, 'taskd_queue_depth', { queue: 'parked' })).toBe(PARKED);
    expect(total(s, 'taskd_queue_depth', { queue: 'default' })).toBe(0);
    expect(total(s, 'taskd_queue_oldest_ready_age_seconds', { queue: 'parked' })).toBeGreaterThan(0);
    expect(total(s, 'taskd_redis_command_duration_seconds_count', { command: 'lock_renew', result: 'ok' })).toBeGreaterThan(0);
    const leader = s[await cluster.leaderIndex()] as Scrape;
    expect(leader.sum('taskd_leader_epoch')).toBeGreaterThanOrEqual(1);
    expect(leader.sum('taskd_outbox_published_total')).toBeGreaterThan(0);

    // workers: every attempt ran in one of them; the timed-out ones ended as timeout or cancelled.
    expect(total(m.workers, 'taskd_worker_attempts_total', { outcome: 'succeeded' })).toBe(OK);
    expect(total(m.workers, 'taskd_worker_attempts_total', { outcome: 'failed' })).toBe(BAD);
    expect(total(m.workers, 'taskd_worker_connected')).toBe(2);

    // notifier: events from Kafka; one refused delivery, retried, then both delivered.
    expect(m.notifier.sum('taskd_notifier_events_total', { source: 'kafka' })).toBeGreaterThan(0);
    expect(m.notifier.sum('taskd_notifier_deliveries_total', { channel: 'webhook', result: 'retry' })).toBe(1);
    expect(m.notifier.sum('taskd_notifier_deliveries_total', { channel: 'webhook', result: 'delivered' })).toBe(SLOW);

    // Every process: its build info and a Postgres pool where it has one.
    for (const x of [...m.api, ...s, ...m.workers, m.notifier]) expect(x.has('taskd_build_info')).toBe(true);
    for (const x of [...m.api, ...s, m.notifier]) expect(x.has('taskd_pg_pool_connections', { state: 'idle' })).toBe(true);

    // The dashboard, the alert rules, the HPA and its adapter rule use only series these processes export.
    const exported = new Set([...m.api, ...s, ...m.workers, m.notifier].flatMap((x) => [...x.names()]));
    const missing = [...referencedMetrics()].filter(([name]) => !PROMETHEUS_GENERATED.has(name) && !exported.has(name));
    expect(missing.map(([name, where]) => `${name} (${where.join('; ')})`)).toEqual([]);

    // The outbox drains: the leader's relay reports no backlog once Kafka has every event.
    await waitFor('the outbox backlog to reach 0', async () => (await scrape(cluster.schedulers[await cluster.leaderIndex()]!.addr)).sum('taskd_outbox_backlog') === 0, 30_000, 200);
  }, 120_000);

  it('after kill -9 of the leader, the standby reports itself leader of a later epoch and the same queue depth; workers count a reconnect', async () => {
    const old = await cluster.leaderIndex();
    expect(old).toBeGreaterThanOrEqual(0);
    const oldEpoch = (await scrape(cluster.schedulers[old]!.addr)).sum('taskd_leader_epoch');
    cluster.schedulers[old]!.proc.kill('SIGKILL');
    const next = cluster.schedulers[1 - old]!;
    const m = await waitFor('the standby to lead with both workers back', async () => {
      const s = await scrape(next.addr);
      return s.sum('taskd_leader') === 1 && s.sum('taskd_workers_connected') === 2 && s;
    }, 30_000, 200);
    expect(m.sum('taskd_leader_elections_total')).toBe(1);
    expect(m.sum('taskd_leader_epoch')).toBeGreaterThan(oldEpoch);
    expect(m.sum('taskd_queue_depth', { queue: 'parked' })).toBe(PARKED);
    const workers = await Promise.all(workerAddrs.map((a) => scrape(a)));
    expect(total(workers, 'taskd_worker_reconnects_total')).toBe(2);
    expect(total(workers, 'taskd_worker_connected')).toBe(2);
  }, 60_000);
});
