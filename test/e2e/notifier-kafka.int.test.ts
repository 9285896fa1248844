import { randomBytes } from 'node:crypto';
import { createClient, type Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus, NotificationService } from '../../gen/taskd/v1/notification_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { KafkaSource, type KafkaChunk } from '../../internal/notifier/kafka-source.js';
import { verifyWebhookSignature } from '../../internal/notifier/webhook-signature.js';
import { systemClock } from '../../internal/shared/clock.js';
import { silentLogger } from '../../internal/shared/logger.js';
import { openPostgres, type Db } from '../../internal/storage/db.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { WebhookReceiver } from '../notifier-kit.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const OWN_SECRET = 'kafka-notify-secret-0123456789';

describe('the notifier as a Kafka consumer group (real Kafka, Postgres, Redis)', () => {
  const topic = `t${randomBytes(5).toString('hex')}`;
  const topics = { TASKD_KAFKA_EVENTS_TOPIC: `${topic}.events`, TASKD_KAFKA_DEAD_LETTERS_TOPIC: `${topic}.dead-letters` };
  let db: TestDatabase;
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  let api: Client<typeof NotificationService>;
  let tasks: Client<typeof TaskService>;
  const workers = new InprocWorkers();
  const pools: Db[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await WebhookReceiver.start();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0, env: { ...FAST_TIMINGS },
      kafka: { brokers: testEnv().kafkaBrokers, env: topics },
    });
    await cluster.schedulers[0]!.proc.waitForLog(logMsg('kafka topics created'), 30_000);
    const notifier = await cluster.startNotifier({
      TASKD_NOTIFIER_KAFKA_GROUP: `${topic}-notifier`, TASKD_NOTIFIER_WEBHOOK_SECRET: OWN_SECRET, TASKD_NOTIFIER_POLL_MS: '100',
      TASKD_NOTIFIER_INITIAL_BACKOFF_MS: '100', TASKD_NOTIFIER_MAX_BACKOFF_MS: '400',
    });
    await notifier.waitForLog(logMsg('notifier joined its consumer group'), 60_000);
    await workers.start(cluster.schedulerAddrs, { 'kafka-case': async () => ({ via: 'kafka' }) });
    api = createClient(NotificationService, cluster.transport());
    tasks = cluster.client();
  }, 180_000);

  afterAll(async () => {
    await workers.stopAll();
    await reapAll();
    for (const p of pools.splice(0)) await p.close();
    await cluster?.close();
    await receiver?.close();
    await db?.drop();
  });

  it('delivers a subscription\'s webhook and the task\'s own from the topic, once each, signed', async () => {
    receiver.route('/k-sub', (n) => (n === 1 ? { status: 502 } : { status: 200 }));
    const { subscription } = await api.createSubscription({
      subscription: { name: 'kafka', target: { case: 'webhookUrl', value: receiver.url('/k-sub') }, filter: { types: ['task.succeeded', 'task.failed'], taskTypes: ['kafka-case'] } },
    });
    const { task } = await tasks.submitTask({ task: { type: 'kafka-case', notify: { webhookUrl: receiver.url('/k-own') } } });
    await receiver.waitUntil('both webhooks of the task', () => receiver.requests('/k-sub').some((r) => r.status === 200) && receiver.requests('/k-own').length === 1, 60_000);
    const [sub1, sub2] = receiver.requests('/k-sub');
    expect(receiver.requests('/k-sub').map((r) => r.status)).toEqual([502, 200]);
    expect(verifyWebhookSignature({ header: sub2!.headers['x-taskd-signature']!, body: sub2!.body, secret: subscription!.secret, nowSeconds: Math.floor(Date.now() / 1000) })).toBe(true);
    expect(sub1!.headers['x-taskd-delivery']).toBe(sub2!.headers['x-taskd-delivery']);
    const [own] = receiver.requests('/k-own');
    expect(verifyWebhookSignature({ header: own!.headers['x-taskd-signature']!, body: own!.body, secret: OWN_SECRET, nowSeconds: Math.floor(Date.now() / 1000) })).toBe(true);
    // The body is the record's value as the relay published it.
    expect(JSON.parse(own!.body)).toMatchObject({ type: 'task.succeeded', aggregateId: task!.id, task: { output: { via: 'kafka' } } });
    expect(own!.body).toBe(sub2!.body);
    const ds = await waitFor('both deliveries DELIVERED', async () => {
      const { deliveries } = await api.listDeliveries({ taskId: task!.id });
      return deliveries.length === 2 && deliveries.every((d) => d.status === DeliveryStatus.DELIVERED) ? deliveries : undefined;
    }, 30_000);
    expect(ds.map((d) => [d.subscriptionId, d.attempts]).sort()).toEqual([['', 1], [subscription!.id, 2]].sort());
  });

  it('the whole topic consumed again by a new consumer group creates no second delivery', async () => {
    await waitFor('the outbox to drain to Kafka', async () =>
      Number((await cluster.sql.query<{ n: string }>('select count(*) n from events where sent_at is null')).rows[0]!.n) === 0, 60_000, 100);
    const outbox = Number((await cluster.sql.query<{ n: string }>('select count(*) n from events')).rows[0]!.n);
    const deliveries = async () => Number((await cluster.sql.query<{ n: string }>('select count(*) n from deliveries')).rows[0]!.n);
    const before = await deliveries();
    const sent = receiver.requests().length;
    expect(before).toBeGreaterThan(0);

    const pool = openPostgres(db.url, { max: 2 });
    pools.push(pool);
    const again = new KafkaSource({ logger: silentLogger(), clock: systemClock }, {
      db: pool, brokers: [testEnv().kafkaBrokers], clientId: 'notifier-replay', groupId: `${topic}-replay`, topic: topics.TASKD_KAFKA_EVENTS_TOPIC, batch: 3,
    });
    const chunks: KafkaChunk[] = [];
    const read = () => chunks.reduce((n, c) => n + c.events + c.unreadable, 0);
    const caughtUp = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the replay consumer read ${read()} of ${outbox} events in 60 s`)), 60_000);
      again.on('recorded', (c) => {
        chunks.push(c);
        if (read() >= outbox) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const ctl = new AbortController();
    const running = again.run(ctl.signal);
    try {
      await caughtUp;
    } finally {
      ctl.abort();
      await running;
    }
    expect(chunks.reduce((n, c) => n + c.created, 0), 'deliveries created by the replay').toBe(0);
    expect(chunks.reduce((n, c) => n + c.duplicates, 0)).toBe(before);
    expect(chunks.reduce((n, c) => n + c.unreadable, 0)).toBe(0);
    expect(await deliveries()).toBe(before);
    expect(receiver.requests().length).toBe(sent);
  });
});
