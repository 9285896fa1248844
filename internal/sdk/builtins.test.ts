import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonValue } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpHandler, noopHandler, registerBuiltins, sleepHandler, stepsHandler } from './builtins.js';
import { CheckpointError } from './checkpoint-error.js';
import { NonRetryableError } from './non-retryable-error.js';
import type { Handler, TaskContext } from './task-context.js';

function context(payload: JsonValue, signal = new AbortController().signal): TaskContext {
  return {
    taskId: 't',
    attempt: 1,
    idempotencyKey: '',
    type: 'test',
    queue: 'default',
    namespace: 'default',
    payload,
    labels: {},
    workflowId: '',
    correlationId: '',
    parents: {},
    deadline: undefined,
    signal,
    lastCheckpoint: undefined,
    heartbeat: () => {},
    checkpoint: () => Promise.resolve({ version: 1 }),
  };
}

let server: Server;
let base: string;
const seen: Array<{ method?: string; url?: string; body: string; contentType?: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, contentType: req.headers['content-type'] });
      if (req.url === '/json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (req.url === '/text') return void res.writeHead(201, { 'content-type': 'text/plain' }).end('made');
      if (req.url === '/hang') return;
      res.writeHead(503).end('down');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('builtins', () => {
  it('registers noop, sleep, http and steps', () => {
    const types: string[] = [];
    registerBuiltins({ register: (type: string, _h: Handler) => types.push(type) });
    expect(types).toEqual(['noop', 'sleep', 'http', 'steps']);
  });

  it('steps checkpoints after every step and resumes from the last checkpoint', async () => {
    const saved: JsonValue[] = [];
    const ctx = { ...context({ steps: 5, stepMs: 0 }), lastCheckpoint: { data: { step: 3 }, version: 3 } };
    ctx.checkpoint = (data: JsonValue) => {
      saved.push(data);
      return Promise.resolve({ version: 3 + saved.length });
    };
    expect(await stepsHandler(ctx)).toEqual({ steps: 5, resumedFrom: 3 });
    expect(saved).toEqual([{ step: 4 }, { step: 5 }]);
    await expect(stepsHandler(context({ steps: -1 }))).rejects.toThrow('payload.steps: must be a non-negative integer');
  });

  it('steps survives a failover: skips an UNAVAILABLE checkpoint, retries an ABORTED one once, stops on a stale lease', async () => {
    const calls: string[] = [];
    const answers = ['UNAVAILABLE', 'ABORTED', 'ok', 'ok'];
    const ctx = context({ steps: 3, stepMs: 0 });
    ctx.checkpoint = (data: JsonValue) => {
      const a = answers.shift() ?? 'ok';
      calls.push(`${JSON.stringify(data)}:${a}`);
      return a === 'ok' ? Promise.resolve({ version: calls.length }) : Promise.reject(new CheckpointError(a, 'test'));
    };
    expect(await stepsHandler(ctx)).toEqual({ steps: 3, resumedFrom: 0 });
    expect(calls).toEqual(['{"step":1}:UNAVAILABLE', '{"step":2}:ABORTED', '{"step":2}:ok', '{"step":3}:ok']);
    const stale = context({ steps: 2, stepMs: 0 });
    stale.checkpoint = () => Promise.reject(new CheckpointError('FAILED_PRECONDITION', 'stale lease'));
    await expect(stepsHandler(stale)).rejects.toThrow('stale lease');
  });

  it('noop returns its payload', async () => {
    expect(await noopHandler(context({ a: 1 }))).toEqual({ a: 1 });
  });

  it('sleep waits and reports, rejects a bad payload, and stops when the signal aborts', async () => {
    expect(await sleepHandler(context({ ms: 1 }))).toEqual({ slept: 1 });
    await expect(sleepHandler(context({ ms: 'x' }))).rejects.toThrow(NonRetryableError);
    await expect(sleepHandler(context({ ms: -1 }))).rejects.toThrow(/payload\.ms/);
    await expect(sleepHandler(context([]))).rejects.toThrow(/payload: must be an object/);
    const ac = new AbortController();
    const pending = sleepHandler(context({ ms: 60_000 }, ac.signal));
    ac.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
  });

  it('http returns status, headers and a JSON body, and sends a JSON body', async () => {
    const out = (await httpHandler(context({ url: `${base}/json`, body: { hello: 'world' } }))) as Record<string, unknown>;
    expect(out).toMatchObject({ status: 200, body: { ok: true }, headers: { 'content-type': 'application/json' } });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"hello":"world"}', contentType: 'application/json' });
  });

  it('http returns a text body when the content-type is not JSON', async () => {
    const out = await httpHandler(context({ url: `${base}/text`, method: 'put', headers: { 'x-a': 'b' }, body: 'raw' }));
    expect(out).toMatchObject({ status: 201, body: 'made' });
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', body: 'raw' });
  });

  it('http fails a non-2xx answer as retryable, naming the status', async () => {
    const err = await Promise.resolve(httpHandler(context({ url: `${base}/fail` }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toMatch(/status 503/);
  });

  it('http rejects a bad payload as non-retryable, naming the field', async () => {
    const cases: Array<[JsonValue, RegExp]> = [
      [{}, /payload\.url/],
      [{ url: 'not a url' }, /payload\.url/],
      [{ url: base, method: 1 }, /payload\.method/],
      [{ url: base, headers: { a: 1 } }, /payload\.headers\.a/],
      [{ url: base, headers: 'x' }, /payload\.headers/],
      ['x', /payload/],
    ];
    for (const [payload, field] of cases) {
      const err = await Promise.resolve(httpHandler(context(payload))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonRetryableError);
      expect((err as Error).message).toMatch(field);
    }
  });

  it('http stops when the signal aborts', async () => {
    const ac = new AbortController();
    const pending = Promise.resolve(httpHandler(context({ url: `${base}/hang` }, ac.signal)));
    ac.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
  });
});
