import { toJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from './non-retryable-error.js';
import { deferred, nextEvent, nextEvents, type Deferred } from './testing/test-helpers.js';
import { gated, WorkerHarness } from './testing/worker-harness.js';
import type { ResultAckedEvent } from './worker-events.js';

const h = new WorkerHarness();
beforeEach(() => h.setup());
afterEach(() => h.teardown());

describe('Worker credits', () => {
  it('grants its free slots on Welcome, never more than slots, and one more per finished attempt', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 2 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    expect(conn.hello).toMatchObject({ slots: 2, taskTypes: ['block'], queues: ['default'] });
    expect((await conn.take('credit')).slots).toBe(2);

    const assigned = nextEvents(worker, 'assigned', 2);
    const a = conn.assign({ taskId: 'a', type: 'block' });
    conn.assign({ taskId: 'b', type: 'block' });
    await assigned;
    expect(worker.status.running).toBe(2);

    gates.get('a')!.resolve('done-a');
    const result = await conn.take('result', (r) => r.attempt?.taskId === 'a');
    expect(result.outcome.case).toBe('output');
    expect(toJson(ValueSchema, result.outcome.value as never)).toBe('done-a');
    expect((await conn.take('credit')).slots).toBe(1);
    conn.ackResult(a);
    gates.get('b')!.resolve('done-b');
    expect((await conn.take('credit')).slots).toBe(1);
    expect(conn.maxWindow).toBeLessThanOrEqual(2);
  });

  it('coalesces grants of attempts that finish in the same tick into one Credit', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 3 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    expect((await conn.take('credit')).slots).toBe(3);
    const assigned = nextEvents(worker, 'assigned', 3);
    for (const id of ['a', 'b', 'c']) conn.assign({ taskId: id, type: 'block' });
    await assigned;
    for (const id of ['a', 'b', 'c']) gates.get(id)!.resolve(id);
    expect((await conn.take('credit')).slots).toBe(3);
    expect(conn.all('credit').map((c) => c.slots)).toEqual([3, 3]);
    expect(conn.all('result')).toHaveLength(3);
  });

  it('fails an Assign beyond its credits as retryable and keeps running what it has', async () => {
    const gates = new Map<string, Deferred<string>>();
    const { worker } = h.startWorker({ slots: 1 }, (w) => w.register('block', gated(gates)));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 'a', type: 'block' });
    conn.assign({ taskId: 'over', type: 'block' });
    const r = await conn.take('result', (x) => x.attempt?.taskId === 'over');
    expect(r.outcome).toMatchObject({ case: 'error', value: { kind: 'protocol', retryable: true } });
    expect(worker.status.running).toBe(1);
    gates.get('a')!.resolve('ok');
    await conn.take('result', (x) => x.attempt?.taskId === 'a');
    expect((await conn.take('credit')).slots).toBe(1);
  });

  it('answers an Assign of an unregistered type with a retryable unknown_type error and gives the credit back', async () => {
    h.startWorker({ slots: 1 }, (w) => w.register('noop', () => null));
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 'x', type: 'nope' });
    const r = await conn.take('result');
    expect(r.outcome).toMatchObject({ case: 'error', value: { kind: 'unknown_type', retryable: true } });
    expect((await conn.take('credit')).slots).toBe(1);
  });
});

describe('Worker results', () => {
  it('reports output, retryable handler errors and NonRetryableError', async () => {
    h.startWorker({ slots: 3 }, (w) => {
      w.register('ok', (ctx) => ({ echo: ctx.payload, attempt: ctx.attempt, key: ctx.idempotencyKey }));
      w.register('throws', () => {
        throw new Error('boom');
      });
      w.register('fatal', async () => {
        throw new NonRetryableError('bad input');
      });
    });
    const conn = await h.welcomed();
    await conn.take('credit');
    conn.assign({ taskId: 'ok', type: 'ok', attempt: 3, payload: { n: 1 }, idempotencyKey: 'k1' });
    conn.assign({ taskId: 'throws', type: 'throws' });
    conn.assign({ taskId: 'fatal', type: 'fatal' });
    const ok = await conn.take('result', (r) => r.attempt?.taskId === 'ok');
    expect(ok.attempt).toMatchObject({ attempt: 3, leaseToken: 'lease-ok' });
    expect(toJson(ValueSchema, ok.outcome.value as never)).toEqual({ echo: { n: 1 }, attempt: 3, key: 'k1' });
    const thrown = await conn.take('result', (r) => r.attempt?.taskId === 'throws');
    expect(thrown.outcome).toMatchObject({ case: 'error', value: { message: 'boom', kind: 'handler', retryable: true } });
    const fatal = await conn.take('result', (r) => r.attempt?.taskId === 'fatal');
    expect(fatal.outcome).toMatchObject({ case: 'error', value: { message: 'bad input', kind: 'handler', retryable: false } });
  });

  it('re-sends unacknowledged results after a reconnect, announces running and unacknowledged attempts, and drops the unadopted', async () => {
    const gates = new Map<string, Deferred<string>>();
    const reasons = new Map<string, unknown>();
    const { worker } = h.startWorker({ slots: 3 }, (w) => {
      w.register('quick', () => 42);
      w.register('block', async (ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.set(ctx.taskId, ctx.signal.reason));
        return gated(gates)(ctx);
      });
    });
    const c1 = await h.welcomed();
    await c1.take('credit');
    const q = c1.assign({ taskId: 'q', type: 'quick' });
    const kept = c1.assign({ taskId: 'kept', type: 'block' });
    c1.assign({ taskId: 'lost', type: 'block' });
    await c1.take('result', (r) => r.attempt?.taskId === 'q');

    const disconnected = nextEvent(worker, 'disconnected');
    c1.end(new ConnectError('leader gone', Code.Unavailable));
    await disconnected;
    const c2 = await h.scheduler.nextConnection();
    // q's result awaits its ack: announced too, so the leader does not take it for undelivered.
    expect(c2.hello.running.map((r) => r.taskId).sort()).toEqual(['kept', 'lost', 'q']);
    const lost = nextEvent(worker, 'completed');
    c2.welcome({ adopted: [kept] });
    expect((await c2.take('result', (r) => r.attempt?.taskId === 'q')).outcome.case).toBe('output');
    expect((await c2.take('credit')).slots).toBe(1);
    expect(await lost).toMatchObject({ taskId: 'lost', ok: false });
    expect(reasons.get('lost')).toMatchObject({ kind: 'lease_lost' });

    const acked = nextEvents<ResultAckedEvent>(worker, 'result_acked', 2);
    c2.ackResult(q);
    gates.get('kept')!.resolve('fine');
    c2.ackResult(await c2.take('result', (r) => r.attempt?.taskId === 'kept').then(() => kept));
    expect((await acked).map((e) => e.taskId).sort()).toEqual(['kept', 'q']);
    expect(worker.status.unacknowledged).toBe(1);
  });

  it('drops a result refused with FAILED_PRECONDITION and does not send it again', async () => {
    const { worker } = h.startWorker({}, (w) => w.register('quick', () => 1));
    const c1 = await h.welcomed();
    await c1.take('credit');
    const ref = c1.assign({ taskId: 't', type: 'quick' });
    await c1.take('result');
    const acked = nextEvent<ResultAckedEvent>(worker, 'result_acked');
    c1.ackResult(ref, false, 'FAILED_PRECONDITION');
    expect(await acked).toEqual({ taskId: 't', attempt: 1, accepted: false, code: 'FAILED_PRECONDITION' });
    expect(worker.status.unacknowledged).toBe(0);
    c1.end(new ConnectError('bye', Code.Unavailable));
    const c2 = await h.welcomed();
    await c2.take('credit');
    expect(c2.all('result')).toHaveLength(0);
  });

  it('re-sends a result refused with UNAVAILABLE on the same stream', async () => {
    const { worker } = h.startWorker({}, (w) => w.register('quick', () => 1));
    const conn = await h.welcomed();
    await conn.take('credit');
    const ref = conn.assign({ taskId: 't', type: 'quick' });
    await conn.take('result');
    conn.ackResult(ref, false, 'UNAVAILABLE');
    await conn.take('result');
    const acked = nextEvent<ResultAckedEvent>(worker, 'result_acked');
    conn.ackResult(ref);
    expect(await acked).toMatchObject({ accepted: true });
    expect(worker.status.unacknowledged).toBe(0);
  });
});

describe('Worker connection', () => {
  it('follows NotLeader to the named leader', async () => {
    const passive = await h.startScheduler();
    const { worker } = h.startWorker({ addresses: [passive.address] }, (w) => w.register('noop', () => null));
    const c1 = await passive.nextConnection();
    const notLeader = nextEvent(worker, 'not_leader');
    c1.notLeader(h.scheduler.address);
    expect(await notLeader).toEqual({ leaderAddress: h.scheduler.address });
    const connected = nextEvent(worker, 'connected');
    const c2 = await h.scheduler.nextConnection();
    c2.welcome({ epoch: 7, sessionId: 'abc' });
    expect(await connected).toEqual({ address: h.scheduler.address, epoch: 7, sessionId: 'abc' });
    expect(worker.status).toMatchObject({ connected: true, leader: h.scheduler.address, epoch: 7 });
  });

  it('moves to the next address when NotLeader names no leader', async () => {
    const passive = await h.startScheduler();
    const { worker } = h.startWorker({ addresses: [passive.address, h.scheduler.address] }, (w) => w.register('noop', () => null));
    (await passive.nextConnection()).notLeader('');
    const connected = nextEvent(worker, 'connected');
    await h.welcomed();
    expect(await connected).toMatchObject({ address: h.scheduler.address });
  });

  it('reconnects with backoff after the scheduler goes away and comes back', async () => {
    const { worker } = h.startWorker({}, (w) => w.register('noop', () => null));
    await h.welcomed();
    const failures = nextEvents(worker, 'disconnected', 3);
    await h.scheduler.close();
    await failures;
    expect(worker.status.connected).toBe(false);
    h.scheduler = await h.startScheduler(Number(new URL(h.scheduler.address).port));
    const connected = nextEvent(worker, 'connected');
    await h.welcomed();
    expect(await connected).toMatchObject({ address: h.scheduler.address });
  });

  it('sends the bearer token, heartbeats at the Welcome interval, and on ctx.heartbeat()', async () => {
    const go = deferred();
    h.startWorker({ token: 's3cret' }, (w) =>
      w.register('beat', async (ctx) => {
        await go.promise;
        ctx.heartbeat();
        return null;
      }),
    );
    const conn = await h.welcomed({ heartbeatMs: 20 });
    expect(conn.headers.get('authorization')).toBe('Bearer s3cret');
    await conn.take('heartbeat');
    await conn.take('heartbeat');
    await conn.take('credit');
    conn.assign({ taskId: 'b', type: 'beat' });
    go.resolve();
    await conn.take('result');
    expect(conn.all('heartbeat').length).toBeGreaterThanOrEqual(3);
  });
});
