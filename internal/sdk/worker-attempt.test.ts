import { toJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aborted } from '../shared/sleep.js';
import { AttemptAbortedError } from './attempt-aborted-error.js';
import { CheckpointError } from './checkpoint-error.js';
import type { TaskContext } from './task-context.js';
import { deferred } from './testing/test-helpers.js';
import { WorkerHarness } from './testing/worker-harness.js';

const h = new WorkerHarness();
beforeEach(() => h.setup());
afterEach(() => h.teardown());

/** A handler that waits for its signal, records why it aborted, and throws. */
function untilAborted(seen: { reason?: unknown; ctx?: TaskContext }) {
  return async (ctx: TaskContext): Promise<never> => {
    seen.ctx = ctx;
    await aborted(ctx.signal);
    seen.reason = ctx.signal.reason;
    throw new Error(`stopped: ${(ctx.signal.reason as Error).message}`);
  };
}

describe('Worker attempts', () => {
  it('aborts the handler signal on Cancel and still reports the result', async () => {
    const seen: { reason?: unknown } = {};
    h.startWorker({}, (w) => w.register('wait', untilAborted(seen)));
    const conn = await h.welcomed();
    await conn.take('credit');
    const ref = conn.assign({ taskId: 'c', type: 'wait' });
    conn.cancel(ref, 'user asked');
    const result = await conn.take('result');
    expect(result.outcome).toMatchObject({ case: 'error', value: { kind: 'handler', retryable: true, message: 'stopped: user asked' } });
    expect(seen.reason).toBeInstanceOf(AttemptAbortedError);
    expect(seen.reason).toMatchObject({ kind: 'cancelled' });
  });

  it('aborts the handler signal when the deadline passes and reports a timeout', async () => {
    const seen: { reason?: unknown; ctx?: TaskContext } = {};
    h.startWorker({}, (w) => w.register('wait', untilAborted(seen)));
    const conn = await h.welcomed();
    await conn.take('credit');
    const deadline = new Date(Date.now() + 30);
    conn.assign({ taskId: 'd', type: 'wait', deadline });
    const result = await conn.take('result');
    expect(result.outcome).toMatchObject({ case: 'error', value: { kind: 'timeout', retryable: true } });
    expect(seen.reason).toMatchObject({ kind: 'deadline' });
    expect(seen.ctx?.deadline?.getTime()).toBe(deadline.getTime());
  });

  it('passes the task fields and the stored checkpoint to the handler', async () => {
    const got = deferred<TaskContext>();
    h.startWorker({}, (w) => w.register('look', (ctx) => void got.resolve(ctx)));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({
      taskId: 't1',
      type: 'look',
      attempt: 2,
      payload: { a: [1, 'x', null] },
      idempotencyKey: 'idem',
      queue: 'q1',
      namespace: 'ns',
      labels: { team: 'x' },
      checkpoint: { data: { step: 3 }, version: 5 },
    });
    const ctx = await got.promise;
    expect(ctx).toMatchObject({
      taskId: 't1',
      attempt: 2,
      type: 'look',
      queue: 'q1',
      namespace: 'ns',
      idempotencyKey: 'idem',
      payload: { a: [1, 'x', null] },
      labels: { team: 'x' },
      deadline: undefined,
      lastCheckpoint: { data: { step: 3 }, version: 5 },
    });
    const result = await conn.take('result');
    expect(result.outcome.case).toBe('output');
    expect(toJson(ValueSchema, result.outcome.value as never)).toBeNull();
  });

  it('checkpoints with compare-and-set versions and surfaces a conflict with its code', async () => {
    const outcome = deferred<{ first: { version: number }; conflict: unknown; last: unknown }>();
    h.startWorker({}, (w) =>
      w.register('cp', async (ctx) => {
        const first = await ctx.checkpoint({ step: 4 });
        const conflict = await ctx.checkpoint({ step: 5 }).catch((e: unknown) => e);
        outcome.resolve({ first, conflict, last: ctx.lastCheckpoint });
        return 'done';
      }),
    );
    const conn = await h.welcomed();
    await conn.take('credit');
    const ref = conn.assign({ taskId: 'k', type: 'cp', checkpoint: { data: { step: 3 }, version: 5 } });
    const cp1 = await conn.take('checkpoint');
    expect(cp1.expectedVersion).toBe(5n);
    expect(cp1.attempt).toMatchObject(ref);
    expect(toJson(ValueSchema, cp1.data!)).toEqual({ step: 4 });
    conn.ackCheckpoint(ref, true, 6);
    const cp2 = await conn.take('checkpoint');
    expect(cp2.expectedVersion).toBe(6n);
    conn.ackCheckpoint(ref, false, 9, 'ABORTED');
    const { first, conflict, last } = await outcome.promise;
    expect(first).toEqual({ version: 6 });
    expect(conflict).toBeInstanceOf(CheckpointError);
    expect(conflict).toMatchObject({ code: 'ABORTED', version: 9 });
    expect(last).toEqual({ data: { step: 4 }, version: 6 });
  });

  it('rejects a checkpoint whose stream broke before the answer as UNAVAILABLE', async () => {
    const failed = deferred<unknown>();
    h.startWorker({}, (w) =>
      w.register('cp', async (ctx) => {
        failed.resolve(await ctx.checkpoint({ n: 1 }).catch((e: unknown) => e));
        return null;
      }),
    );
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 'k', type: 'cp' });
    await conn.take('checkpoint');
    conn.end();
    expect(await failed.promise).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
