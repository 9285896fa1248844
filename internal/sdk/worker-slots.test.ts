import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, nextEvents, type Deferred } from './testing/test-helpers.js';
import { gated, WorkerHarness } from './testing/worker-harness.js';

const h = new WorkerHarness();
beforeEach(() => h.setup());
afterEach(() => h.teardown());

const credits = (c: { all(kind: 'credit'): { slots: number; totalSlots?: number }[] }) =>
  c.all('credit').map((x) => (x.totalSlots === undefined ? x.slots : [x.slots, x.totalSlots]));

describe('Worker.setSlots', () => {
  it('raising the slots grants the new free slots at once, with the new total', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 1 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    expect((await conn.take('credit')).slots).toBe(1);
    conn.assign({ taskId: 'a', type: 'block' });
    await nextEvent(worker, 'assigned');

    worker.setSlots(3);
    expect(await conn.take('credit')).toMatchObject({ slots: 2, totalSlots: 3 });
    const assigned = nextEvents(worker, 'assigned', 2);
    conn.assign({ taskId: 'b', type: 'block' });
    conn.assign({ taskId: 'c', type: 'block' });
    await assigned;
    expect(worker.status).toMatchObject({ running: 3, slots: 3 });
    expect(conn.all('result')).toHaveLength(0);
    for (const g of gates.values()) g.resolve('done');
  });

  it('lowering the slots cancels nothing and grants nothing until the running attempts are below the new number', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 3 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    await conn.take('credit');
    const assigned = nextEvents(worker, 'assigned', 3);
    for (const id of ['a', 'b', 'c']) conn.assign({ taskId: id, type: 'block' });
    await assigned;

    worker.setSlots(1);
    expect(await conn.take('credit')).toMatchObject({ slots: 0, totalSlots: 1 });
    expect(worker.status.running).toBe(3);
    gates.get('a')!.resolve('a');
    await conn.take('result', (r) => r.attempt?.taskId === 'a');
    gates.get('b')!.resolve('b');
    await conn.take('result', (r) => r.attempt?.taskId === 'b');
    gates.get('c')!.resolve('c');
    await conn.take('result', (r) => r.attempt?.taskId === 'c');
    expect((await conn.take('credit')).slots).toBe(1);
    // Messages arrive in order: no grant came between the take-back and the last result.
    expect(credits(conn)).toEqual([3, [0, 1], 1]);
    expect(conn.all('result').map((r) => r.outcome.case)).toEqual(['output', 'output', 'output']);
  });

  it('takes unused credit back, and accepts the Assigns the scheduler sent on it before it read that', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 4 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 'a', type: 'block' });
    await nextEvent(worker, 'assigned');

    worker.setSlots(2);
    expect(await conn.take('credit')).toMatchObject({ slots: -2, totalSlots: 2 });
    // Sent on credit granted before the take-back: all three are the worker's to run.
    const assigned = nextEvents(worker, 'assigned', 3);
    for (const id of ['b', 'c', 'd']) conn.assign({ taskId: id, type: 'block' });
    await assigned;
    expect(worker.status.running).toBe(4);
    // Beyond every credit ever granted: a protocol violation, as before.
    conn.assign({ taskId: 'e', type: 'block' });
    expect((await conn.take('result', (r) => r.attempt?.taskId === 'e')).outcome).toMatchObject({ case: 'error', value: { kind: 'protocol' } });

    for (const id of ['a', 'b', 'c']) {
      gates.get(id)!.resolve(id);
      await conn.take('result', (r) => r.attempt?.taskId === id);
    }
    expect((await conn.take('credit')).slots).toBe(1);
    expect(credits(conn)).toEqual([4, [-2, 2], 1]);
    gates.get('d')!.resolve('d');
  });

  it('a new stream says the new slots in Hello; a draining worker grants nothing for them', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 1 }, (w) => w.register('block', gated(gates)));
    const c1 = await h.welcomed();
    await c1.take('credit');
    worker.setSlots(5);
    await c1.take('credit');
    c1.end(new ConnectError('failover', Code.Unavailable));
    const c2 = await h.welcomed();
    expect(c2.hello.slots).toBe(5);
    expect((await c2.take('credit')).slots).toBe(5);

    worker.drain();
    await c2.take('draining');
    worker.setSlots(7);
    expect(worker.status.slots).toBe(7);
    expect(credits(c2)).toEqual([5]);
    expect(() => worker.setSlots(0)).toThrow('slots must be an integer >= 1, got 0');
  });
});
