import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GetTaskResponseSchema, TaskService } from '../../gen/taskd/v1/task_service_pb.js';
import { DomainError } from '../domain/errors.js';
import { errorInterceptor } from './error-interceptor.js';
import { REQUEST, requestIdOf, saneRequestId } from './request-context.js';
import { requestInterceptor } from './request-interceptor.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A TaskService whose GetTask answers with the request id it saw (as the task id), logging through the request's logger. */
function setup() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const transport = createRouterTransport((r) => r.service(TaskService, {
    getTask(req, ctx) {
      ctx.values.get(REQUEST)?.logger.info('handler ran');
      if (req.id === 'missing') throw new DomainError('not_found', 'task missing not found');
      if (req.id === 'crash') throw new Error('boom');
      return create(GetTaskResponseSchema, { task: { id: requestIdOf(ctx) ?? '' } });
    },
  }), { router: { interceptors: [requestInterceptor(logger), errorInterceptor(logger)] } });
  return { lines, client: createClient(TaskService, transport) };
}

describe('the request interceptor (in-memory transport)', () => {
  it('gives the handler the sane x-request-id, a logger carrying it, and logs one access line at debug', async () => {
    const { lines, client } = setup();
    const r = await client.getTask({ id: 'x' }, { headers: { 'x-request-id': 'abc-123' } });
    expect(r.task?.id).toBe('abc-123');
    expect(lines.find((l) => l.msg === 'handler ran')).toMatchObject({ requestId: 'abc-123' });
    const access = lines.find((l) => l.msg === 'rpc');
    expect(access).toMatchObject({ level: 20, requestId: 'abc-123', method: 'taskd.v1.TaskService/GetTask', code: 'OK' });
    expect(typeof access?.durationMs).toBe('number');
  });

  it.each([
    ['absent', {}],
    ['with spaces', { 'x-request-id': 'a b' }],
    ['longer than 128', { 'x-request-id': 'a'.repeat(129) }],
  ])('generates a UUIDv7 when the header is %s', async (_what, headers: Record<string, string>) => {
    const { client } = setup();
    expect((await client.getTask({ id: 'x' }, { headers })).task?.id).toMatch(UUID_V7);
  });

  it('logs the code the client gets, and an internal error\'s cause with the request id', async () => {
    const { lines, client } = setup();
    await expect(client.getTask({ id: 'missing' }, { headers: { 'x-request-id': 'r1' } })).rejects.toMatchObject({ code: Code.NotFound });
    expect(lines.find((l) => l.msg === 'rpc' && l.requestId === 'r1')).toMatchObject({ code: 'NOT_FOUND' });
    const e = await client.getTask({ id: 'crash' }, { headers: { 'x-request-id': 'r2' } }).catch((x: unknown) => ConnectError.from(x));
    expect(e).toMatchObject({ code: Code.Internal, rawMessage: 'internal error' });
    expect(lines.find((l) => l.msg === 'internal error')).toMatchObject({ requestId: 'r2' });
    expect(lines.find((l) => l.msg === 'rpc' && l.requestId === 'r2')).toMatchObject({ code: 'INTERNAL' });
  });
});

describe('saneRequestId', () => {
  it.each([
    ['test-123', true], ['a/b=c:d.e_f', true], ['x'.repeat(128), true],
    ['', false], ['x'.repeat(129), false], ['a b', false], ['ünicode', false], ['a\nb', false], [null, false], [undefined, false],
  ])('%j -> %s', (v, ok) => {
    expect(saneRequestId(v)).toBe(ok ? v : undefined);
  });
});
