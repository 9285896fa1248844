import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aborted } from '../shared/sleep.js';
import type { TaskContext } from './task-context.js';
import { deferred, nextEvent, type Deferred } from './testing/test-helpers.js';
import { gated, WorkerHarness } from './testing/worker-harness.js';

const h = new WorkerHarness();
beforeEach(() => h.setup());
afterEach(() => h.teardown());

describe('Worker drain', () => {
  it('sends Draining, grants no credit, and resolves run() only after running attempts are acknowledged', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker, run } = h.startWorker({ slots: 2 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    await conn.take('credit');
    const assigned = nextEvent(worker, 'assigned');
    const ref = conn.assign({ taskId: 'a', type: 'block' });
    await assigned;
    let settled = false;
    void run.then(() => (settled = true));

    worker.drain();
    await conn.take('draining');
    expect(worker.status.draining).toBe(true);
    gates.get('a')!.resolve('finished');
    await conn.take('result');
    expect(settled).toBe(false);

    const drained = nextEvent(worker, 'drained');
    conn.ackResult(ref);
    await drained;
    await run;
    await conn.inputEnded;
    expect(conn.all('credit').map((c) => c.slots)).toEqual([2]);
  });

  it('drains when the run signal aborts, and still runs an Assign that was already granted', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker, run, stop } = h.startWorker({ slots: 2 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    await conn.take('credit');
    const first = conn.assign({ taskId: 'first', type: 'block' });
    await nextEvent(worker, 'assigned');
    stop.abort();
    await conn.take('draining');
    const late = conn.assign({ taskId: 'late', type: 'block' });
    await nextEvent(worker, 'assigned');
    gates.get('first')!.resolve('one');
    gates.get('late')!.resolve('two');
    await conn.take('result', (r) => r.attempt?.taskId === 'first');
    await conn.take('result', (r) => r.attempt?.taskId === 'late');
    conn.ackResult(first);
    conn.ackResult(late);
    await run;
    expect(conn.all('credit')).toHaveLength(1);
  });

  it('aborts attempts still running after drainTimeoutMs and reports what they return', async () => {
    const reason = deferred<unknown>();
    const { worker, run } = h.startWorker({ drainTimeoutMs: 50 }, (w) =>
      w.register('stubborn', async (ctx: TaskContext) => {
        await aborted(ctx.signal);
        reason.resolve(ctx.signal.reason);
        throw new Error('interrupted');
      }),
    );
    const conn = await h.welcomed();
    await conn.take('credit');
    const ref = conn.assign({ taskId: 's', type: 'stubborn' });
    await nextEvent(worker, 'assigned');
    worker.drain();
    expect(await reason.promise).toMatchObject({ kind: 'shutdown' });
    const result = await conn.take('result');
    expect(result.outcome).toMatchObject({ case: 'error', value: { message: 'interrupted', retryable: true } });
    conn.ackResult(ref);
    await run;
  });

  it('tells a scheduler that welcomes it mid-drain that it drains, and grants it nothing', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker, run } = h.startWorker({ slots: 2 }, (w) => w.register('block', gated(gates)));
    const c1 = await h.welcomed();
    await c1.take('credit');
    const ref = c1.assign({ taskId: 'a', type: 'block' });
    await nextEvent(worker, 'assigned');
    worker.drain();
    await c1.take('draining');
    c1.end(new ConnectError('failover', Code.Unavailable));
    const c2 = await h.scheduler.nextConnection();
    c2.welcome({ adopted: [ref] });
    await c2.take('draining');
    gates.get('a')!.resolve('done');
    await c2.take('result');
    c2.ackResult(ref);
    await run;
    expect(c2.all('credit')).toHaveLength(0);
  });
});
