import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, type Interceptor } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleService, UpdateScheduleResponseSchema } from '../../../gen/taskd/v1/schedule_service_pb.js';
import { TaskSchema, TaskStatus } from '../../../gen/taskd/v1/task_pb.js';
import {
  GetTaskResponseSchema, ListTasksResponseSchema, TaskService, UpdateTaskResponseSchema, WatchTaskResponseSchema,
  type ListTasksRequest, type UpdateTaskRequest,
} from '../../../gen/taskd/v1/task_service_pb.js';
import type { UpdateScheduleRequest } from '../../../gen/taskd/v1/schedule_service_pb.js';
import { DomainError } from '../../domain/errors.js';
import { silentLogger } from '../../shared/logger.js';
import { errorInterceptor } from '../error-interceptor.js';
import { RestGateway } from './rest-gateway.js';

/**
 * The gateway's translation, against a router whose handlers record what they receive
 * (the services are stand-ins; test/e2e/rest.int.test.ts runs the real ones).
 */
describe('RestGateway', () => {
  let server: Server;
  let base: string;
  let watchCancelled: () => void = () => undefined;
  const seen: { list?: ListTasksRequest; update?: UpdateTaskRequest; schedule?: UpdateScheduleRequest; auth?: string | null } = {};
  /** Stands in for authentication: refuses calls carrying `x-deny`, records `authorization`. */
  const gate: Interceptor = (next) => async (req) => {
    if (req.header.has('x-deny')) throw new ConnectError('denied by interceptor', Code.Unauthenticated);
    seen.auth = req.header.get('authorization');
    return next(req);
  };

  beforeAll(async () => {
    const router = createConnectRouter({ interceptors: [errorInterceptor(silentLogger()), gate] });
    router.service(TaskService, {
      getTask: (req) => create(GetTaskResponseSchema, { task: { id: req.id, status: TaskStatus.QUEUED, version: 7n } }),
      listTasks: (req) => {
        seen.list = req;
        return create(ListTasksResponseSchema, { nextPageToken: 'next' });
      },
      updateTask: (req) => {
        seen.update = req;
        return create(UpdateTaskResponseSchema, { task: { id: req.id } });
      },
      cancelTask: (req) => {
        throw new DomainError(req.reason === 'conflict' ? 'conflict' : 'failed_precondition', `task ${req.id} cannot be cancelled`);
      },
      async *watchTask(req, ctx) {
        if (req.id === 'missing') throw new DomainError('not_found', 'task missing not found');
        if (req.id === 'hang') {
          yield create(WatchTaskResponseSchema, { task: create(TaskSchema, { id: req.id, status: TaskStatus.RUNNING }) });
          await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
          watchCancelled();
          return;
        }
        yield create(WatchTaskResponseSchema, { task: create(TaskSchema, { id: req.id, status: TaskStatus.RUNNING }) });
        yield create(WatchTaskResponseSchema, { task: create(TaskSchema, { id: req.id, status: TaskStatus.SUCCEEDED }) });
        if (req.namespace === 'broken') throw new DomainError('unavailable', 'link lost');
      },
    });
    router.service(ScheduleService, {
      updateSchedule: (req) => {
        seen.schedule = req;
        return create(UpdateScheduleResponseSchema, { schedule: req.schedule });
      },
    });
    const gateway = new RestGateway({ handlers: router.handlers, readMaxBytes: 1024, logger: silentLogger() });
    server = createServer((req, res) => void gateway.handle(req, res)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init = { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) };
    const r = await fetch(`${base}${path}`, init);
    const text = await r.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: r.status, type: r.headers.get('content-type'), text, json };
  };

  it('fills repeated, enum, nested and aliased query parameters', async () => {
    const q = 'statuses=TASK_STATUS_QUEUED&statuses=5&page_size=7&workflowId=w1&labels=a%3Db&labels=c%3Dd&pageToken=t';
    const r = await call('GET', `/v1/tasks?${q}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ nextPageToken: 'next' });
    expect(seen.list).toMatchObject({
      statuses: [TaskStatus.QUEUED, TaskStatus.FAILED], pageSize: 7, workflowId: 'w1', labels: ['a=b', 'c=d'], pageToken: 't',
    });
  });

  it('sets nested path variables over the body field and takes the rest from the query', async () => {
    const r = await call('PATCH', '/v1/schedules/s-1?updateMask=cron,timeZone', { id: 'from-body', cron: '* * * * *', version: '3' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 's-1', cron: '* * * * *', version: '3' });
    expect(seen.schedule?.schedule?.id).toBe('s-1');
    expect(seen.schedule?.updateMask?.paths).toEqual(['cron', 'time_zone']);
  });

  it('answers response_body alone, decodes path variables, forwards headers into the interceptors', async () => {
    const r = await call('GET', '/v1/tasks/a%2Fb', undefined, { authorization: 'Bearer xyz' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: 'a/b', status: 'TASK_STATUS_QUEUED', version: '7' });
    expect(seen.auth).toBe('Bearer xyz');
    const denied = await call('GET', '/v1/tasks/x', undefined, { 'x-deny': '1' });
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ code: Code.Unauthenticated, message: 'denied by interceptor', details: [] });
  });

  it('takes a body "*" with proto or JSON names and the path id', async () => {
    const r = await call('PATCH', '/v1/tasks/t-1', { version: '4', update_mask: 'priority,runAt', priority: 9, runAt: '2030-01-01T00:00:00Z' });
    expect(r.status).toBe(200);
    expect(seen.update).toMatchObject({ id: 't-1', version: 4n, priority: 9, updateMask: { paths: ['priority', 'run_at'] } });
  });

  it('names the field for unknown fields and wrong types, in the body, the query and nested messages', async () => {
    const cases: [string, string, unknown, string][] = [
      ['GET', '/v1/tasks?pageSize=abc', undefined, 'page_size'],
      ['GET', '/v1/tasks?statuses=NOPE', undefined, 'statuses'],
      ['GET', '/v1/tasks?nope=1', undefined, 'nope'],
      ['GET', '/v1/tasks?type=a&type=b', undefined, 'type'],
      ['GET', '/v1/tasks/x?id=y', undefined, 'id'],
      ['PATCH', '/v1/tasks/t?priority=1', { version: '1' }, 'priority'],
      ['PATCH', '/v1/tasks/t', { prio: 1 }, 'prio'],
      ['PATCH', '/v1/tasks/t', { delay: 'soon' }, 'delay'],
      ['PATCH', '/v1/tasks/t', { labels: { a: 1 } }, 'labels'],
      ['PATCH', '/v1/schedules/s', { task: { retryPolicy: { maxAttempts: 'x' } } }, 'schedule.task.retry_policy.max_attempts'],
      ['PATCH', '/v1/schedules/s', { task: { typo: 1 } }, 'schedule.task.typo'],
      ['PATCH', '/v1/schedules/s', { id: 12 }, 'schedule.id'],
      ['PATCH', '/v1/schedules/s', { workflow: { tasks: [{ name: 'a' }, { name: 'b', dependsOn: 'a' }] } }, 'schedule.workflow.tasks[1].depends_on'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.json.code).toBe(Code.InvalidArgument);
      expect(r.json.message, `${method} ${path}`).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
      expect(r.json.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: expect.any(String) }] }]);
    }
  });

  it('maps gRPC codes to HTTP statuses as grpc-gateway does', async () => {
    const pre = await call('POST', '/v1/tasks/t:cancel', {});
    expect(pre.status).toBe(400);
    expect(pre.json).toEqual({ code: Code.FailedPrecondition, message: 'task t cannot be cancelled', details: [] });
    const conflict = await call('POST', '/v1/tasks/t:cancel', { reason: 'conflict' });
    expect(conflict.status).toBe(409);
    expect(conflict.json.code).toBe(Code.Aborted);
  });

  it('streams NDJSON results, an error line on failure, and the mapped status for an error before the first message', async () => {
    const ok = await call('GET', '/v1/tasks/t:watch');
    expect(ok.status).toBe(200);
    expect(ok.type).toBe('application/x-ndjson');
    expect(ok.text.split('\n')).toEqual([
      JSON.stringify({ result: { task: { id: 't', status: 'TASK_STATUS_RUNNING' } } }),
      JSON.stringify({ result: { task: { id: 't', status: 'TASK_STATUS_SUCCEEDED' } } }),
      '',
    ]);
    const broken = await call('GET', '/v1/tasks/t:watch?namespace=broken');
    expect(broken.text.trim().split('\n').map((l) => JSON.parse(l))[2]).toEqual({ error: { code: Code.Unavailable, message: 'link lost', details: [] } });
    const missing = await call('GET', '/v1/tasks/missing:watch');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: Code.NotFound, message: 'task missing not found', details: [] } });
  });

  it('cancels the RPC when the client goes away mid-stream', async () => {
    const cancelled = new Promise<void>((r) => {
      watchCancelled = r;
    });
    const ctl = new AbortController();
    const r = await fetch(`${base}/v1/tasks/hang:watch`, { signal: ctl.signal });
    const first = await r.body!.getReader().read();
    expect(JSON.parse(new TextDecoder().decode(first.value))).toEqual({ result: { task: { id: 'hang', status: 'TASK_STATUS_RUNNING' } } });
    ctl.abort();
    await cancelled;
  });

  it('answers unknown paths 404 JSON, other verbs 405, RPC-shaped paths a bare 404, bad JSON 400, big bodies 413', async () => {
    expect(await call('GET', '/v1/nothing')).toMatchObject({ status: 404, json: { code: Code.NotFound, message: 'no route for GET /v1/nothing' } });
    const verb = await fetch(`${base}/v1/tasks`, { method: 'PUT' });
    expect([verb.status, verb.headers.get('allow')]).toEqual([405, 'POST, GET']);
    expect(await call('POST', '/taskd.v1.NoSuchService/Nope', {})).toMatchObject({ status: 404, text: '' });
    expect(await call('PATCH', '/v1/tasks/t', '{"version": ')).toMatchObject({ status: 400, json: { code: Code.InvalidArgument } });
    expect(await call('PATCH', '/v1/tasks/t', '[1]')).toMatchObject({ status: 400, json: { message: 'body: must be a JSON object (taskd.v1.UpdateTaskRequest)' } });
    const big = await call('PATCH', '/v1/tasks/t', { reason: 'x'.repeat(2000) });
    expect(big).toMatchObject({ status: 413, json: { code: Code.ResourceExhausted, message: 'request body is larger than the limit of 1024 bytes' } });
  });
});
