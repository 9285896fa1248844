import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, type CreateApiKeyResponse } from '../../gen/taskd/v1/auth_service_pb.js';
import { DeadLetterService } from '../../gen/taskd/v1/dead_letter_service_pb.js';
import { EventService } from '../../gen/taskd/v1/event_service_pb.js';
import { NotificationService } from '../../gen/taskd/v1/notification_service_pb.js';
import { Role } from '../../gen/taskd/v1/options_pb.js';
import { ScheduleService } from '../../gen/taskd/v1/schedule_service_pb.js';
import { TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { WorkflowService } from '../../gen/taskd/v1/workflow_service_pb.js';
import { valueOf } from '../../internal/rpc/convert/json.js';
import { Worker } from '../../internal/sdk/index.js';
import { silentLogger } from '../../internal/shared/logger.js';
import { Cluster, FAST_TIMINGS } from '../cluster.js';
import { curl } from '../curl.js';
import { reapAll } from '../procs.js';
import {
  assertMatches, fillPath, OPENAPI, operations, resolved, rest, sameField, wrongQueryValue, wrongValue, type Answer, type Op, type Schema,
} from '../rest-kit.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';
import { waitFor } from '../wait.js';

const SECRET = 'rest-test-hs256-secret-0123456789abcdef';
const UNKNOWN = '01900000-0000-7000-8000-000000000000';
const MAX_REQUEST_BYTES = 256 * 1024;

const token = (roles: string[], sub = 'rest-test') =>
  new SignJWT({ roles, namespaces: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('taskd').setAudience('taskd')
    .setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

/** How to make a valid request of one operation: values for its path, query and body. */
interface Fixture {
  /** Path parameters; absent ones are the seeded resource of the path's collection. */
  path?: () => Promise<Record<string, string>>;
  query?: Record<string, string | string[]>;
  body?: () => unknown;
  /** For a stream that does not end by itself (WatchEvents): the NDJSON lines to read before closing it. */
  lines?: number;
}

describe('REST gateway on a real stack (apiserver, scheduler, an in-test worker; JWT auth on)', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let admin: Record<string, string>;
  let transport: Transport;
  const stop = new AbortController();
  let working: Promise<void> = Promise.resolve();
  /** Resolved by the test to let a `gate` task finish. */
  let openGate: () => void = () => undefined;
  const seed = { task: '', workflow: '', schedule: '', deadLetter: '', apiKey: '', subscription: '', taskCreated: '' };

  const tasks = () => createClient(TaskService, transport);
  const workflows = () => createClient(WorkflowService, transport);
  const schedules = () => createClient(ScheduleService, transport);
  const apiKeys = () => createClient(ApiKeyService, transport);
  const settled = (id: string) => waitFor(`task ${id} to end`, async () => (await tasks().getTask({ id })).task?.finishedAt !== undefined, 30_000);
  const pendingTask = async () => (await tasks().submitTask({ task: { type: 'noop', start: { case: 'delay', value: durationFromMs(3_600_000) } } })).task!;
  const newSchedule = async (paused = false) => (await schedules().createSchedule({
    schedule: { name: `rest-${Math.random().toString(36).slice(2)}`, cron: '0 0 1 1 *', paused, template: { case: 'task', value: { type: 'noop' } } },
  })).schedule!;
  const deadLetter = async () => {
    const { task } = await tasks().submitTask({ task: { type: 'fail', retryPolicy: { maxAttempts: 1 } } });
    await waitFor(`task ${task!.id} to be dead-lettered`, async () => (await tasks().getTask({ id: task!.id })).task?.finishedAt !== undefined, 30_000);
    return task!.id;
  };
  // No notifier runs here: the URL is never called.
  const subscription = async () => (await createClient(NotificationService, transport).createSubscription({
    subscription: { name: 'rest', target: { case: 'webhookUrl', value: 'http://127.0.0.1:9/rest' } },
  })).subscription!;
  const apiKey = async (): Promise<CreateApiKeyResponse> =>
    apiKeys().createApiKey({ name: `rest-${Math.random().toString(36).slice(2)}`, role: Role.VIEWER, namespaces: ['default'] });

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0,
      env: { ...FAST_TIMINGS, TASKD_AUTH_HS256_SECRET: SECRET, TASKD_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) },
    });
    const adminToken = await token(['admin']);
    admin = { authorization: `Bearer ${adminToken}` };
    const bearer: Interceptor = (next) => (req) => {
      req.header.set('authorization', `Bearer ${adminToken}`);
      return next(req);
    };
    transport = createGrpcTransport({ baseUrl: cluster.apiUrl, interceptors: [bearer] });
    const worker = new Worker({ addresses: cluster.schedulerAddrs, workerId: 'rest-test', slots: 4, token: await token(['worker'], 'rest-worker'), logger: silentLogger() });
    worker.register('noop', (ctx) => ctx.payload ?? null);
    worker.register('fail', () => {
      throw new Error('fails on purpose');
    });
    worker.register('gate', () => new Promise((resolve) => {
      openGate = () => resolve({ opened: true });
    }));
    const connected = new Promise<void>((r) => worker.once('connected', () => r()));
    working = worker.run(stop.signal);
    await connected;

    seed.task = (await tasks().submitTask({ task: { type: 'noop', payload: valueOf({ seed: true }) } })).task!.id;
    await settled(seed.task);
    const wf = await workflows().submitWorkflow({
      workflow: { name: 'seed', tasks: [{ name: 'a', task: { type: 'noop' } }, { name: 'b', dependsOn: ['a'], task: { type: 'noop' } }] },
    });
    seed.workflow = wf.workflow!.id;
    await waitFor('the seed workflow to end', async () => (await workflows().getWorkflow({ id: seed.workflow })).workflow?.finishedAt !== undefined, 30_000);
    seed.schedule = (await newSchedule()).id;
    seed.deadLetter = await deadLetter();
    seed.apiKey = (await apiKey()).apiKey!.id;
    seed.subscription = (await subscription()).id;
    // The seed task's first event, once the apiserver lists its events (created, started, succeeded).
    seed.taskCreated = await waitFor('the seed task\'s events', async () => {
      const r = await createClient(EventService, transport).listEvents({ filter: { aggregateIds: [seed.task] } });
      return r.events.length >= 3 ? r.events[0]!.id : undefined;
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    stop.abort();
    await working;
    await reapAll();
    await cluster?.close();
    await db?.drop();
  });

  /** Path parameters by the collection they address (the path segment before them). */
  const byCollection: Record<string, () => string> = {
    tasks: () => seed.task, workflows: () => seed.workflow, schedules: () => seed.schedule, 'dead-letters': () => seed.deadLetter,
    'api-keys': () => seed.apiKey, subscriptions: () => seed.subscription,
  };

  /** A valid request of every operation in gen/openapi.json, by operationId. A new route needs one here. */
  const FIXTURES: Record<string, Fixture> = {
    TaskService_SubmitTask: { body: () => ({ type: 'noop', payload: { via: 'rest' }, labels: { from: 'rest' } }) },
    TaskService_SubmitTasks: { body: () => ({ tasks: [{ type: 'noop' }, { type: 'noop', priority: 5 }] }) },
    TaskService_GetTask: {},
    TaskService_ListTasks: { query: { statuses: ['TASK_STATUS_SUCCEEDED', 'TASK_STATUS_QUEUED'], page_size: '5', 'labels': 'from=rest' } },
    TaskService_UpdateTask: {
      path: async () => ({ id: (await pendingTask()).id }),
      body: () => ({ version: '1', updateMask: 'priority,labels', priority: 7, labels: { changed: 'yes' } }),
    },
    TaskService_CancelTask: { path: async () => ({ id: (await pendingTask()).id }), body: () => ({ reason: 'rest test' }) },
    TaskService_RetryTask: {
      path: async () => {
        const t = await pendingTask();
        await tasks().cancelTask({ id: t.id });
        return { id: t.id };
      },
      body: () => ({}),
    },
    TaskService_WatchTask: {},
    TaskService_DeleteTask: {
      path: async () => {
        const { task } = await tasks().submitTask({ task: { type: 'noop' } });
        await settled(task!.id);
        return { id: task!.id };
      },
    },
    WorkflowService_SubmitWorkflow: {
      body: () => ({ name: 'rest', failurePolicy: 'FAILURE_POLICY_CONTINUE', tasks: [{ name: 'a', task: { type: 'noop' } }, { name: 'b', dependsOn: ['a'], task: { type: 'noop' } }] }),
    },
    WorkflowService_GetWorkflow: {},
    WorkflowService_ListWorkflows: { query: { statuses: 'WORKFLOW_STATUS_SUCCEEDED', pageSize: '10' } },
    WorkflowService_CancelWorkflow: {
      path: async () => {
        const w = await workflows().submitWorkflow({ workflow: { name: 'later', tasks: [{ name: 'a', task: { type: 'noop', start: { case: 'delay', value: durationFromMs(3_600_000) } } }] } });
        return { id: w.workflow!.id };
      },
      body: () => ({ reason: 'rest test' }),
    },
    WorkflowService_WatchWorkflow: {},
    ScheduleService_CreateSchedule: {
      body: () => ({ name: 'rest-created', cron: '0 0 1 1 *', timeZone: 'Europe/Berlin', task: { type: 'noop' }, misfireGrace: '30s' }),
    },
    ScheduleService_GetSchedule: {},
    ScheduleService_ListSchedules: { query: { pageSize: '3' } },
    ScheduleService_UpdateSchedule: {
      path: async () => ({ 'schedule.id': (await newSchedule()).id }),
      query: { updateMask: 'cron,timeZone' },
      body: () => ({ version: '1', cron: '0 0 2 1 *', timeZone: 'UTC' }),
    },
    ScheduleService_DeleteSchedule: { path: async () => ({ id: (await newSchedule()).id }) },
    ScheduleService_PauseSchedule: { path: async () => ({ id: (await newSchedule()).id }), body: () => ({}) },
    ScheduleService_ResumeSchedule: { path: async () => ({ id: (await newSchedule(true)).id }), body: () => ({}) },
    ScheduleService_TriggerSchedule: { path: async () => ({ id: (await newSchedule()).id }), body: () => ({}) },
    DeadLetterService_ListDeadLetters: { query: { type: 'fail' } },
    DeadLetterService_GetDeadLetter: {},
    DeadLetterService_ReplayDeadLetter: { path: async () => ({ id: await deadLetter() }), body: () => ({}) },
    DeadLetterService_PurgeDeadLetters: { body: () => ({ ids: [UNKNOWN] }) },
    ClusterService_GetCluster: { query: { namespace: 'default' } },
    ApiKeyService_CreateApiKey: { body: () => ({ name: 'rest-created', role: 'ROLE_VIEWER', namespaces: ['default'], expiresAt: '2099-01-01T00:00:00Z' }) },
    ApiKeyService_ListApiKeys: { query: { includeRevoked: 'true' } },
    ApiKeyService_RevokeApiKey: { path: async () => ({ id: (await apiKey()).apiKey!.id }), body: () => ({}) },
    NotificationService_CreateSubscription: {
      body: () => ({ name: 'rest-created', webhookUrl: 'https://hooks.example.com/taskd', filter: { types: ['task.*'], labels: ['from=rest'] } }),
    },
    NotificationService_GetSubscription: {},
    NotificationService_ListSubscriptions: { query: { pageSize: '5' } },
    NotificationService_DeleteSubscription: { path: async () => ({ id: (await subscription()).id }) },
    NotificationService_ListDeliveries: { query: { statuses: ['DELIVERY_STATUS_FAILED', 'DELIVERY_STATUS_PENDING'], pageSize: '10' } },
    EventService_WatchEvents: {
      // Getters: the seed exists only once beforeAll ran. Resuming after the seed task's first event answers at once.
      query: {
        get 'filter.aggregateIds'() { return seed.task; },
        get afterEventId() { return seed.taskCreated; },
        'filter.types': 'task.*',
      },
      lines: 2,
    },
    EventService_ListEvents: { query: { 'filter.types': ['task.*', 'workflow.succeeded'], 'filter.taskTypes': 'noop', pageSize: '5' } },
  };

  const fixtureOf = (o: Op): Fixture => {
    const f = FIXTURES[o.op.operationId];
    if (f === undefined) {
      throw new Error(`no fixture for ${o.op.operationId} (${o.verb.toUpperCase()} ${o.path}): add a valid request to FIXTURES in test/e2e/rest.int.test.ts`);
    }
    return f;
  };

  const pathParams = async (o: Op, f: Fixture): Promise<Record<string, string>> => {
    const given = (await f.path?.()) ?? {};
    for (const p of (o.op.parameters ?? []).filter((x) => x.in === 'path')) {
      if (given[p.name] !== undefined) continue;
      const collection = /\/([^/{}]+)\/\{[^}]+\}[^/]*$/.exec(o.path)?.[1] ?? '';
      const seeded = byCollection[collection];
      if (seeded === undefined) throw new Error(`${o.op.operationId}: no seeded resource for path parameter ${p.name} of ${o.path}: add one`);
      given[p.name] = seeded();
    }
    return given;
  };

  const queryString = (q: Record<string, string | string[]> = {}): string => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) s.append(k, x);
    return s.size === 0 ? '' : `?${s}`;
  };

  const okSchema = (o: Op): [string, Schema] => {
    const [[type, media]] = Object.entries(o.op.responses['200']!.content!) as [[string, { schema: Schema }]];
    return [type, media.schema];
  };

  /** The field violations of a 400 (a stream's error line or a Status). */
  const violation = (a: Answer): { message: string; field: string } => {
    const status = Array.isArray(a.json) ? a.json[0]?.error : a.json;
    assertMatches({ $ref: '#/components/schemas/google.rpc.Status' }, status, 'the error');
    return { message: status.message, field: status.details?.[0]?.fieldViolations?.[0]?.field ?? '' };
  };

  describe.each(operations().map((o) => [`${o.op.operationId} (${o.verb.toUpperCase()} ${o.path})`, o] as const))('%s', (_, o) => {
    it('answers a valid request 2xx with a body matching the document', async () => {
      const f = fixtureOf(o);
      const url = fillPath(o.path, await pathParams(o, f)) + queryString(f.query);
      const a = await rest(cluster.apiUrl, o.verb, url, { body: f.body?.(), headers: admin, maxLines: f.lines });
      expect(a.status, `${o.verb.toUpperCase()} ${url}: ${a.text}`).toBeGreaterThanOrEqual(200);
      expect(a.status, `${o.verb.toUpperCase()} ${url}: ${a.text}`).toBeLessThan(300);
      const [type, schema] = okSchema(o);
      expect(a.contentType).toBe(type);
      const bodies = type === 'application/x-ndjson' ? a.json as unknown[] : [a.json];
      expect(bodies.length).toBeGreaterThan(0);
      for (const b of bodies) assertMatches(schema, b, `${o.op.operationId}'s answer`);
    });

    it('answers malformed requests 400 naming the field', async () => {
      const f = fixtureOf(o);
      const params = await pathParams(o, f);
      const cases: { what: string; url: string; body?: unknown; field: string }[] = [];
      const base = fillPath(o.path, params);
      const valid = f.body?.();
      if (o.op.requestBody) {
        const schema = resolved(o.op.requestBody.content['application/json']!.schema);
        cases.push({ what: 'an unknown body field', url: base + queryString(f.query), body: { ...(valid as object), zzUnknown: 1 }, field: 'zzUnknown' });
        const [prop, bad] = Object.entries(schema.properties ?? {}).map(([k, s]) => [k, wrongValue(s as Schema)] as const).find(([, v]) => v !== undefined) ?? [];
        if (prop !== undefined) cases.push({ what: `a wrong type for body field ${prop}`, url: base + queryString(f.query), body: { ...(valid as object), [prop]: bad }, field: prop });
      } else {
        cases.push({ what: 'an unknown query parameter', url: base + queryString({ ...f.query, zzUnknown: '1' }), field: 'zzUnknown' });
      }
      const typed = (o.op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, wrongQueryValue(p.schema)] as const).find(([, v]) => v !== undefined);
      if (typed) cases.push({ what: `a wrong type for query parameter ${typed[0]}`, url: base + queryString({ ...f.query, [typed[0]]: typed[1]! }), body: valid, field: typed[0] });
      for (const p of (o.op.parameters ?? []).filter((x) => x.in === 'path')) {
        const url = fillPath(o.path, { ...params, [p.name]: 'not-a-uuid' }) + queryString(f.query);
        cases.push({ what: `a bad path ${p.name}`, url, body: valid, field: p.name });
      }
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        const a = await rest(cluster.apiUrl, o.verb, c.url, { body: c.body, headers: admin });
        expect(a.status, `${c.what}: ${o.verb.toUpperCase()} ${c.url} ${JSON.stringify(c.body)} → ${a.text}`).toBe(400);
        const v = violation(a);
        expect(v.message, c.what).toContain(v.field);
        expect(sameField(v.field, c.field), `${c.what}: the violation names "${v.field}", not ${c.field}`).toBe(true);
      }
    });
  });

  it('maps errors to HTTP statuses with google.rpc.Status bodies (NOT_FOUND, FAILED_PRECONDITION, ABORTED, INVALID_ARGUMENT)', async () => {
    const status = { $ref: '#/components/schemas/google.rpc.Status' };
    const missing = await rest(cluster.apiUrl, 'get', `/v1/tasks/${UNKNOWN}`, { headers: admin });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: 5, message: `task ${UNKNOWN} not found`, details: [] });
    const ended = await rest(cluster.apiUrl, 'post', `/v1/tasks/${seed.task}:cancel`, { body: {}, headers: admin });
    expect(ended.status).toBe(400);
    expect(ended.json).toMatchObject({ code: 9, details: [] });
    expect(ended.json.message).toMatch(/SUCCEEDED/);
    const t = await pendingTask();
    const stale = await rest(cluster.apiUrl, 'patch', `/v1/tasks/${t.id}`, { body: { version: '99', updateMask: 'priority', priority: 1 }, headers: admin });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ code: 10, details: [] });
    expect(stale.json.message).toMatch(/version/);
    const invalid = await rest(cluster.apiUrl, 'post', '/v1/tasks', { body: { type: 'noop', priority: 5000 }, headers: admin });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toEqual({
      code: 3, message: 'task.priority: must be an integer from 0 to 1000',
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'task.priority', description: 'must be an integer from 0 to 1000' }] }],
    });
    for (const a of [missing, ended, stale, invalid]) assertMatches(status, a.json, 'an error');
    const nowhere = await rest(cluster.apiUrl, 'get', '/v1/nowhere', { headers: admin });
    expect([nowhere.status, nowhere.json?.code]).toEqual([404, 5]);
  });

  it('WatchTask streams NDJSON lines until the task SUCCEEDED', async () => {
    const { task } = await tasks().submitTask({ task: { type: 'gate' } });
    const r = await fetch(`${cluster.apiUrl}/v1/tasks/${task!.id}:watch`, { headers: admin });
    expect([r.status, r.headers.get('content-type')]).toEqual([200, 'application/x-ndjson']);
    const [, schema] = okSchema(operations().find((o) => o.op.operationId === 'TaskService_WatchTask')!);
    const lines: { result: { task: { status: string } } }[] = [];
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of r.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
        assertMatches(schema, line, 'a WatchTask line');
        lines.push(line);
        // The handler holds the task RUNNING until the stream has shown it running.
        if (line.result.task.status === 'TASK_STATUS_RUNNING') openGate();
      }
    }
    expect(buffered).toBe('');
    const statuses = lines.map((l) => l.result.task.status);
    expect(statuses).toContain('TASK_STATUS_RUNNING');
    expect(statuses.at(-1)).toBe('TASK_STATUS_SUCCEEDED');
    expect(lines.at(-1)!.result.task).toMatchObject({ output: { opened: true } });
  });

  it('works with plain curl over HTTP/1.1: a form-typed JSON body, then a streamed watch', async () => {
    // curl -d sends content-type application/x-www-form-urlencoded: the body is still read as JSON.
    const sub = await curl(['-H', `authorization: ${admin.authorization}`, '-d', '@-', `${cluster.apiUrl}/v1/tasks`], '{"type":"noop","payload":{"from":"curl"}}');
    expect(sub.status).toBe(200);
    const id = JSON.parse(sub.body).id as string;
    const watch = await curl(['-N', '-H', `authorization: ${admin.authorization}`, `${cluster.apiUrl}/v1/tasks/${id}:watch`]);
    expect(watch.status).toBe(200);
    const last = JSON.parse(watch.body.trim().split('\n').at(-1)!);
    expect(last.result.task).toMatchObject({ id, status: 'TASK_STATUS_SUCCEEDED', output: { from: 'curl' } });
    const connect = await curl(['-H', 'content-type: application/json', '-H', `authorization: ${admin.authorization}`, '-d', JSON.stringify({ id }), `${cluster.apiUrl}/taskd.v1.TaskService/GetTask`]);
    expect([connect.status, JSON.parse(connect.body).task.id]).toEqual([200, id]);
  });

  it('meets the same authentication and authorization as gRPC: headers are forwarded, roles enforced, x-api-key accepted', async () => {
    const anonymous = await rest(cluster.apiUrl, 'get', '/v1/tasks');
    expect([anonymous.status, anonymous.json?.code]).toEqual([401, 16]);
    const viewer = { authorization: `Bearer ${await token(['viewer'])}` };
    expect((await rest(cluster.apiUrl, 'get', `/v1/tasks/${seed.task}`, { headers: viewer })).status).toBe(200);
    const refused = await rest(cluster.apiUrl, 'post', '/v1/tasks', { body: { type: 'noop' }, headers: viewer });
    expect([refused.status, refused.json?.code]).toEqual([403, 7]);
    const created = await rest(cluster.apiUrl, 'post', '/v1/api-keys', { body: { name: 'rest-key', role: 'ROLE_VIEWER', namespaces: ['*'] }, headers: admin });
    expect(created.status).toBe(200);
    const byKey = await rest(cluster.apiUrl, 'get', `/v1/tasks/${seed.task}`, { headers: { 'x-api-key': created.json.secret } });
    expect([byKey.status, byKey.json?.id]).toEqual([200, seed.task]);
  });

  it('serves gen/openapi.json at /openapi.json to authenticated callers', async () => {
    expect((await rest(cluster.apiUrl, 'get', '/openapi.json')).status).toBe(401);
    const doc = await rest(cluster.apiUrl, 'get', '/openapi.json', { headers: admin });
    expect(doc.status).toBe(200);
    expect(doc.json).toEqual(OPENAPI);
  });

  it('answers a body over the limit 413 and keeps serving', async () => {
    const big = JSON.stringify({ type: 'noop', payload: { blob: 'x'.repeat(MAX_REQUEST_BYTES) } });
    const a = await rest(cluster.apiUrl, 'post', '/v1/tasks', { body: big, headers: admin });
    expect(a.status).toBe(413);
    expect(a.json).toEqual({ code: 8, message: `request body is larger than the limit of ${MAX_REQUEST_BYTES} bytes`, details: [] });
    expect((await rest(cluster.apiUrl, 'get', `/v1/tasks/${seed.task}`, { headers: admin })).status).toBe(200);
  });
});
