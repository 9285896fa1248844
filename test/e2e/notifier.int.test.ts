import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus, NotificationService, type Delivery } from '../../gen/taskd/v1/notification_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { verifyWebhookSignature } from '../../internal/notifier/webhook-signature.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../cluster.js';
import { connectJson } from '../curl.js';
import { InprocWorkers } from '../inproc-worker.js';
import { SmtpSink, WebhookReceiver } from '../notifier-kit.js';
import { freePort, reapAll, spawnTaskd } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const OWN_SECRET = 'notify-targets-secret-0123456789';
const NOTIFIER_ENV: Record<string, string> = {
  TASKD_NOTIFIER_POLL_MS: '100', TASKD_NOTIFIER_TIMEOUT_MS: '2500', TASKD_NOTIFIER_MAX_ATTEMPTS: '4',
  TASKD_NOTIFIER_INITIAL_BACKOFF_MS: '100', TASKD_NOTIFIER_MAX_BACKOFF_MS: '400', TASKD_NOTIFIER_WEBHOOK_SECRET: OWN_SECRET,
};
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The deliveries of one subscription or task, once `done` holds for them (polled: their rows have no event to wait on). */
async function deliveriesWhen(
  api: Client<typeof NotificationService>, filter: { subscriptionId?: string; taskId?: string; namespace?: string }, what: string,
  done: (ds: Delivery[]) => boolean, timeoutMs = 30_000,
): Promise<Delivery[]> {
  return waitFor(what, async () => {
    const { deliveries } = await api.listDeliveries(filter);
    return done(deliveries) ? deliveries : undefined;
  }, timeoutMs, 50);
}

describe('the notifier on the outbox (no Kafka): webhooks and email from a real cluster', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  let smtp: SmtpSink;
  let api: Client<typeof NotificationService>;
  let tasks: Client<typeof TaskService>;
  const workers = new InprocWorkers();

  beforeAll(async () => {
    db = await createTestDatabase();
    [receiver, smtp] = await Promise.all([WebhookReceiver.start(), SmtpSink.start()]);
    cluster = await Cluster.start({ pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0, env: { ...FAST_TIMINGS } });
    await cluster.startNotifier({ ...NOTIFIER_ENV, TASKD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, TASKD_SMTP_FROM: 'taskd test <taskd@test.local>' });
    const ok = async () => ({ done: true });
    await workers.start(cluster.schedulerAddrs, {
      'flaky-case': ok, 'blocking-case': ok, 'email-case': ok, 'own-case': ok, 'crud-case': ok,
      'failing-case': async () => {
        throw new Error('fails on purpose');
      },
    });
    api = createClient(NotificationService, cluster.transport());
    tasks = cluster.client();
  }, 120_000);

  afterAll(async () => {
    await workers.stopAll();
    await reapAll();
    await cluster?.close();
    await Promise.all([receiver?.close(), smtp?.close()]);
    await db?.drop();
  });

  it('a webhook that fails 3 times then accepts gets the event once accepted, signed with the subscription\'s secret; 4 attempts, DELIVERED', async () => {
    receiver.route('/flaky', (n) => (n <= 3 ? { status: 500, body: `not yet (${n})` } : { status: 204 }));
    const { subscription } = await api.createSubscription({
      subscription: { name: 'flaky', target: { case: 'webhookUrl', value: receiver.url('/flaky') }, filter: { types: ['task.succeeded'], taskTypes: ['flaky-case'] } },
    });
    expect(subscription!.secret).toMatch(/^whsec_/);
    expect((await api.getSubscription({ id: subscription!.id })).subscription!.secret, 'the secret is returned only by Create').toBe('');
    const { task } = await tasks.submitTask({ task: { type: 'flaky-case' } });

    await receiver.waitUntil('the flaky webhook to accept', () => receiver.requests('/flaky').some((r) => r.status === 204), 30_000);
    const reqs = receiver.requests('/flaky');
    expect(reqs.map((r) => r.status)).toEqual([500, 500, 500, 204]);
    for (const r of reqs) {
      expect(verifyWebhookSignature({ header: r.headers['x-taskd-signature']!, body: r.body, secret: subscription!.secret, nowSeconds: nowSeconds() }), `signature ${r.headers['x-taskd-signature']}`).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-taskd-event']).toBe('task.succeeded');
    }
    expect(new Set(reqs.map((r) => r.headers['x-taskd-delivery'])).size).toBe(1);
    const event = JSON.parse(reqs[3]!.body);
    expect(event).toMatchObject({ type: 'task.succeeded', aggregateType: 'task', aggregateId: task!.id, namespace: 'default', task: { taskId: task!.id, taskType: 'flaky-case', status: 'TASK_STATUS_SUCCEEDED' } });
    expect(reqs[3]!.headers['x-taskd-event-id']).toBe(event.id);

    const [d] = await deliveriesWhen(api, { subscriptionId: subscription!.id }, 'the flaky delivery to be recorded DELIVERED', (ds) => ds[0]?.status === DeliveryStatus.DELIVERED);
    expect(d).toMatchObject({
      id: reqs[0]!.headers['x-taskd-delivery'], eventId: event.id, eventType: 'task.succeeded', taskId: task!.id, subscriptionId: subscription!.id,
      channel: 'webhook', target: receiver.url('/flaky'), attempts: 4, lastError: 'HTTP 500 Internal Server Error: not yet (3)',
    });
    expect(d!.deliveredAt).toBeDefined();
  });

  it('refused connections, an unknown host, a receiver that always fails and one that never answers end FAILED with the last error, and never hold up another subscription', async () => {
    receiver.route('/always-500', () => ({ status: 503, body: 'down for good' }));
    receiver.route('/hang', () => 'hang');
    receiver.route('/gone', () => ({ status: 410, body: 'unsubscribed' }));
    const closedPort = await freePort();
    const targets = {
      refused: `http://127.0.0.1:${closedPort}/refused`, unknownHost: 'http://nonexistent-host.invalid/hook', failing: receiver.url('/always-500'),
      hanging: receiver.url('/hang'), gone: receiver.url('/gone'), good: receiver.url('/good'),
    };
    const subs: Record<string, string> = {};
    for (const [name, url] of Object.entries(targets)) {
      const { subscription } = await api.createSubscription({ subscription: { name, target: { case: 'webhookUrl', value: url }, filter: { types: ['task.succeeded'], taskTypes: ['blocking-case'] } } });
      subs[name] = subscription!.id;
    }
    const { task: first } = await tasks.submitTask({ task: { type: 'blocking-case' } });
    await receiver.waitUntil('the good webhook to get the first task', () => receiver.requests('/good').length === 1, 30_000);
    // The hanging target takes 4 × 2.5 s to fail; meanwhile a second event reaches the good one too.
    const { task: second } = await tasks.submitTask({ task: { type: 'blocking-case' } });
    await receiver.waitUntil('the good webhook to get the second task', () => receiver.requests('/good').length === 2, 30_000);
    const hanging = (await api.listDeliveries({ subscriptionId: subs.hanging, taskId: first!.id })).deliveries[0]!;
    expect(hanging.status, 'the hanging target is still being retried when the others are through').toBe(DeliveryStatus.PENDING);
    expect(receiver.requests('/good').map((r) => JSON.parse(r.body).aggregateId)).toEqual([first!.id, second!.id]);

    const settled = (ds: Delivery[]) => ds.length === 2 && ds.every((d) => d.status === DeliveryStatus.FAILED);
    const failed = async (name: string) => deliveriesWhen(api, { subscriptionId: subs[name] }, `both ${name} deliveries to end FAILED`, settled);
    for (const d of await failed('refused')) {
      expect(d).toMatchObject({ attempts: 4 });
      expect(d.lastError).toBe(`connection refused (127.0.0.1:${closedPort}): connect ECONNREFUSED 127.0.0.1:${closedPort} (gave up after 4 attempts)`);
    }
    for (const d of await failed('unknownHost')) {
      // ENOTFOUND fails at once; a resolver that cannot answer at all (EAI_AGAIN) is retried to the end.
      expect(d.lastError).toMatch(/^(unknown host|DNS lookup failed temporarily) \(nonexistent-host\.invalid\): /);
    }
    for (const d of await failed('failing')) expect(d).toMatchObject({ attempts: 4, lastError: 'HTTP 503 Service Unavailable: down for good (gave up after 4 attempts)' });
    for (const d of await failed('hanging')) expect(d).toMatchObject({ attempts: 4, lastError: 'no answer from ' + new URL(targets.hanging).host + ' within 2500 ms (gave up after 4 attempts)' });
    for (const d of await failed('gone')) expect(d).toMatchObject({ attempts: 1, lastError: 'HTTP 410 Gone: unsubscribed' });
    const good = await deliveriesWhen(api, { subscriptionId: subs.good }, 'both good deliveries DELIVERED', (ds) => ds.length === 2 && ds.every((d) => d.status === DeliveryStatus.DELIVERED));
    expect(good.map((d) => d.attempts)).toEqual([1, 1]);
    const { deliveries: onlyFailed } = await api.listDeliveries({ statuses: [DeliveryStatus.FAILED], taskId: second!.id });
    expect(onlyFailed.map((d) => d.subscriptionId).sort()).toEqual([subs.refused, subs.unknownHost, subs.failing, subs.hanging, subs.gone].sort());
  });

  it('an email reaches the SMTP server with the task id, status and timestamps; a failed task\'s error too', async () => {
    const { subscription } = await api.createSubscription({
      subscription: { name: 'ops mail', target: { case: 'email', value: 'ops@example.com' }, filter: { types: ['task.dead_lettered'], taskTypes: ['failing-case'] } },
    });
    expect(subscription!.secret).toBe('');
    const { task } = await tasks.submitTask({ task: { type: 'email-case', notify: { email: 'owner@example.com' }, labels: { team: 'mail' } } });
    const mail = await smtp.waitFor('the task owner\'s email', (m) => m.to.includes('owner@example.com'), 30_000);
    const t = (await tasks.getTask({ id: task!.id })).task!;
    expect(mail.subject).toBe(`[taskd] task email-case succeeded: ${task!.id}`);
    expect(mail.from).toBe('taskd@test.local');
    const field = (name: string) => new RegExp(`^${name}: +(.*)$`, 'm').exec(mail.text)?.[1];
    expect([field('Namespace'), field('Task'), field('Type'), field('Status'), field('Labels')]).toEqual(['default', task!.id, 'email-case', 'SUCCEEDED', 'team=mail']);
    for (const [name, ts] of [['Created', t.createdAt], ['Started', t.startedAt], ['Finished', t.finishedAt]] as const) {
      expect(Date.parse(field(name) ?? ''), `${name} in:\n${mail.text}`).toBe(timestampDate(ts!).getTime());
    }

    const { task: doomed } = await tasks.submitTask({ task: { type: 'failing-case', retryPolicy: { maxAttempts: 1 } } });
    const ops = await smtp.waitFor('the ops email of the dead-lettered task', (m) => m.to.includes('ops@example.com'), 30_000);
    expect(ops.subject).toBe(`[taskd] task failing-case dead lettered: ${doomed!.id}`);
    expect(ops.text).toMatch(/^Error: +handler: fails on purpose$/m);
    await deliveriesWhen(api, { subscriptionId: subscription!.id }, 'the email delivery DELIVERED', (ds) => ds[0]?.status === DeliveryStatus.DELIVERED && ds[0].channel === 'email');
  });

  it('a task\'s own webhook hears its terminal event only, signed with TASKD_NOTIFIER_WEBHOOK_SECRET', async () => {
    const { task } = await tasks.submitTask({ task: { type: 'own-case', notify: { webhookUrl: receiver.url('/own') } } });
    await receiver.waitUntil('the task\'s own webhook', () => receiver.requests('/own').length === 1, 30_000);
    const [r] = receiver.requests('/own');
    expect(verifyWebhookSignature({ header: r!.headers['x-taskd-signature']!, body: r!.body, secret: OWN_SECRET, nowSeconds: nowSeconds() })).toBe(true);
    expect(JSON.parse(r!.body)).toMatchObject({ type: 'task.succeeded', aggregateId: task!.id, task: { notify: { webhookUrl: receiver.url('/own') } } });
    // Its earlier events (created, queued, started) were read before this one: none made a delivery.
    const ds = await deliveriesWhen(api, { taskId: task!.id }, 'the own delivery recorded', (x) => x[0]?.status === DeliveryStatus.DELIVERED);
    expect(ds.map((d) => [d.eventType, d.subscriptionId, d.channel])).toEqual([['task.succeeded', '', 'webhook']]);
  });

  it('replaying the outbox from the start creates no second delivery and sends nothing again', async () => {
    const count = async () => Number((await cluster.sql.query<{ n: string }>('select count(*) n from deliveries')).rows[0]!.n);
    const head = async () => (await cluster.sql.query<{ s: string }>('select max(sequence)::text s from events')).rows[0]!.s;
    await waitFor('the notifier to reach the outbox head', async () =>
      (await cluster.sql.query<{ s: string }>("select sequence::text s from notifier_cursors where name = 'outbox'")).rows[0]!.s === (await head()), 30_000);
    const before = await count();
    const sent = receiver.requests().length;
    expect(before).toBeGreaterThan(0);
    await cluster.sql.query("update notifier_cursors set sequence = 0 where name = 'outbox'");
    const target = await head();
    await waitFor('the notifier to read the whole outbox again', async () =>
      BigInt((await cluster.sql.query<{ s: string }>("select sequence::text s from notifier_cursors where name = 'outbox'")).rows[0]!.s) >= BigInt(target!), 30_000);
    expect(await count()).toBe(before);
    const { deliveries } = await api.listDeliveries({ statuses: [DeliveryStatus.PENDING] });
    expect(deliveries.filter((d) => d.attempts === 0), 'new pending deliveries').toEqual([]);
    // Every earlier delivery has ended, so any request now would be the replay's.
    expect(receiver.requests().length, 'requests caused by the replay').toBe(sent);
  });

  it('subscriptions: validation names the field; list pages; delete ends pending deliveries FAILED and answers NOT_FOUND after', async () => {
    const invalid = async (s: object) => {
      const e = await api.createSubscription({ subscription: s }).then(() => undefined, (x: unknown) => ConnectError.from(x));
      expect(e?.code).toBe(Code.InvalidArgument);
      return e!.rawMessage;
    };
    expect(await invalid({ name: 'x', target: { case: 'webhookUrl', value: 'ftp://nowhere/x' } })).toBe('subscription.webhook_url: must be an absolute http or https URL of at most 2048 characters');
    expect(await invalid({ name: 'x', target: { case: 'email', value: 'not-an-address' } })).toBe('subscription.email: must be an email address of at most 254 characters');
    expect(await invalid({ name: 'x' })).toBe('subscription.target: one of webhook_url and email is required');
    expect(await invalid({ name: 'x', target: { case: 'webhookUrl', value: 'http://h/x' }, filter: { types: ['Task'], aggregateIds: ['nope'] } }))
      .toBe('subscription.filter.types[0]: must be an event type such as "task.succeeded", or a prefix ending in "*" such as "task.*"; subscription.filter.aggregate_ids[0]: must be a UUID');
    const bad = await api.listDeliveries({ subscriptionId: 'nope' }).catch((x: unknown) => ConnectError.from(x));
    expect([(bad as ConnectError).code, (bad as ConnectError).rawMessage]).toEqual([Code.InvalidArgument, 'subscription_id: must be a UUID']);

    const created = [];
    for (let i = 0; i < 3; i++) created.push((await api.createSubscription({ subscription: { namespace: 'paging', name: `p${i}`, target: { case: 'email', value: `p${i}@example.com` } } })).subscription!);
    const page1 = await api.listSubscriptions({ namespace: 'paging', pageSize: 2 });
    const page2 = await api.listSubscriptions({ namespace: 'paging', pageSize: 2, pageToken: page1.nextPageToken });
    expect([...page1.subscriptions, ...page2.subscriptions].map((s) => s.name)).toEqual(['p2', 'p1', 'p0']);
    expect(page2.nextPageToken).toBe('');

    receiver.route('/slow', () => 'hang');
    const { subscription } = await api.createSubscription({ subscription: { name: 'to delete', target: { case: 'webhookUrl', value: receiver.url('/slow') }, filter: { taskTypes: ['crud-case'] } } });
    await tasks.submitTask({ task: { type: 'crud-case' } });
    await receiver.waitUntil('the doomed subscription\'s first request', () => receiver.requests('/slow').length >= 1, 30_000);
    await api.deleteSubscription({ id: subscription!.id });
    const ds = await api.listDeliveries({ subscriptionId: subscription!.id });
    expect(ds.deliveries.length).toBeGreaterThan(0);
    expect(ds.deliveries.map((d) => [d.status, d.lastError])).toEqual(ds.deliveries.map(() => [DeliveryStatus.FAILED, 'subscription deleted']));
    const gone = await api.getSubscription({ id: subscription!.id }).catch((x: unknown) => ConnectError.from(x));
    expect([(gone as ConnectError).code, (gone as ConnectError).rawMessage]).toEqual([Code.NotFound, `subscription ${subscription!.id} not found`]);
  });
});

describe('the notifier in the embedded default (npm start: PGlite, outbox)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'taskd-notifier-dev-'));
  let receiver: WebhookReceiver;
  afterAll(async () => {
    await reapAll();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a subscription\'s webhook and a task\'s own, once each', async () => {
    receiver = await WebhookReceiver.start();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dev = spawnTaskd('dev', 'cmd/dev/main.ts', { ...NOTIFIER_ENV, TASKD_ADDR: `127.0.0.1:${port}`, TASKD_DATA_DIR: dataDir });
    await dev.waitForLog(logMsg('notifier started', { source: 'outbox' }), 60_000);
    await dev.waitForLog(logMsg('worker connected'), 30_000);
    const sub = await connectJson(url, 'taskd.v1.NotificationService/CreateSubscription', {
      subscription: { name: 'dev', webhookUrl: receiver.url('/dev-sub'), filter: { types: ['task.succeeded'] } },
    });
    expect(sub.status, JSON.stringify(sub.json)).toBe(200);
    const submitted = await connectJson(url, 'taskd.v1.TaskService/SubmitTask', { task: { type: 'noop', notify: { webhookUrl: receiver.url('/dev-own') } } });
    const id = submitted.json.task.id as string;
    await receiver.waitUntil('both webhooks of the dev task', () => receiver.requests('/dev-sub').length === 1 && receiver.requests('/dev-own').length === 1, 30_000);
    const [s] = receiver.requests('/dev-sub');
    expect(verifyWebhookSignature({ header: s!.headers['x-taskd-signature']!, body: s!.body, secret: sub.json.subscription.secret, nowSeconds: nowSeconds() })).toBe(true);
    expect(JSON.parse(s!.body)).toMatchObject({ type: 'task.succeeded', aggregateId: id });
    const listed = await waitFor('both dev deliveries DELIVERED', async () => {
      const r = await connectJson(url, 'taskd.v1.NotificationService/ListDeliveries', { taskId: id });
      const ds = r.json.deliveries as { status: string }[] | undefined;
      return ds?.length === 2 && ds.every((d) => d.status === 'DELIVERY_STATUS_DELIVERED') ? ds : undefined;
    }, 30_000);
    expect(listed).toHaveLength(2);
  });
});
