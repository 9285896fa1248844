import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from './non-retryable-error.js';
import type { TaskContext } from './task-context.js';
import { deferred } from './testing/test-helpers.js';
import { WorkerHarness } from './testing/worker-harness.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const DISPATCH_SPAN = '00f067aa0ba902b7';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

// This file's process traces like a worker with TASKD_TRACING_OTLP_URL set, into memory.
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

const h = new WorkerHarness();
beforeEach(() => h.setup());
afterEach(async () => {
  await h.teardown();
  exporter.reset();
});

const spanNamed = (name: string) => {
  const s = exporter.getFinishedSpans().find((x) => x.name === name);
  if (!s) throw new Error(`no span ${name} among ${exporter.getFinishedSpans().map((x) => x.name).join(', ')}`);
  return s;
};

describe('the execute span of an attempt (OpenTelemetry on)', () => {
  it('is a child of the Assign trace context; the handler runs in it, so its own spans nest; the Result carries it', async () => {
    const seen = deferred<TaskContext>();
    h.startWorker({}, (w) => w.register('traced', async (ctx) => {
      seen.resolve(ctx);
      await trace.getTracer('user-code').startActiveSpan('user.work', async (s) => {
        await new Promise((r) => setImmediate(r));
        s.end();
      });
      return { ok: true };
    }));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({
      taskId: 't1', type: 'traced', queue: 'q1', correlationId: 'req-42',
      traceContext: { traceparent: `00-${TRACE_ID}-${DISPATCH_SPAN}-01` },
    });
    const result = await conn.take('result');
    expect((await seen.promise).correlationId).toBe('req-42');

    const execute = spanNamed('taskd.execute traced');
    const user = spanNamed('user.work');
    expect(execute.spanContext().traceId).toBe(TRACE_ID);
    expect(execute.parentSpanContext?.spanId).toBe(DISPATCH_SPAN);
    expect(user.spanContext().traceId).toBe(TRACE_ID);
    expect(user.parentSpanContext?.spanId).toBe(execute.spanContext().spanId);
    expect(execute.attributes).toMatchObject({
      'taskd.task.id': 't1', 'taskd.task.attempt': 1, 'taskd.task.type': 'traced', 'taskd.task.queue': 'q1', 'taskd.outcome': 'succeeded',
    });
    expect(result.traceContext.traceparent).toBe(`00-${TRACE_ID}-${execute.spanContext().spanId}-01`);
  });

  it('ends failed with the error when the handler throws', async () => {
    h.startWorker({}, (w) => w.register('broken', () => {
      throw new NonRetryableError('no good');
    }));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 't2', type: 'broken', traceContext: { traceparent: `00-${TRACE_ID}-${DISPATCH_SPAN}-01` } });
    await conn.take('result');
    const execute = spanNamed('taskd.execute broken');
    expect(execute.attributes).toMatchObject({ 'taskd.outcome': 'failed', 'error.type': 'handler' });
    expect(execute.status).toMatchObject({ code: 2, message: 'no good' });
  });

  it('starts a new trace when the Assign carries no trace context (an older scheduler)', async () => {
    h.startWorker({}, (w) => w.register('plain', () => null));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 't3', type: 'plain' });
    const result = await conn.take('result');
    const execute = spanNamed('taskd.execute plain');
    expect(execute.parentSpanContext).toBeUndefined();
    expect(result.traceContext.traceparent).toContain(execute.spanContext().spanId);
  });
});
