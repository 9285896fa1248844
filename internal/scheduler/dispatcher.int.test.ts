import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { waitFor } from '../../test/wait.js';
import { TaskApi } from '../api/task-api.js';
import { DEFAULT_LIMITS } from '../domain/task-spec.js';
import { ManualClock, systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPostgres, rows, type Db } from '../storage/db.js';
import { leadershipClaim } from '../storage/leadership-store.js';
import { Dispatcher } from './dispatcher.js';
import type { AttemptRef, HelloIn, ToWorker } from './messages.js';
import type { WorkerSession } from './worker-session.js';

type Assign = Extract<ToWorker, { kind: 'assign' }>;

/**
 * The claim-to-Assign gap: a task claimed in Postgres for a worker whose Assign never
 * reached it (the stream, or the whole leader, died in between) is re-sent to that
 * worker when it attaches again, as the same attempt, instead of lapsing into a retry.
 */
describe('Dispatcher on real Postgres: undelivered attempts, stalls', () => {
  let tdb: TestDatabase;
  let db: Db;
  const base = { logger: silentLogger(), clock: systemClock };
  let api: TaskApi;
  const terms: { d: Dispatcher; stop: AbortController; done: Promise<void> }[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 6 });
    await migrateDb(db);
    api = new TaskApi(base, { db, limits: DEFAULT_LIMITS, hints: { ready: () => {}, due: () => {}, cancelled: () => {} } });
  });
  beforeEach(async () => {
    await db.orm.execute(sql`delete from tasks`);
  });
  afterEach(async () => {
    for (const t of terms.splice(0)) {
      t.stop.abort();
      await t.done.catch(() => {});
    }
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  /** Starts a term: claims the epoch in Postgres and runs a dispatcher for it. */
  const term = async (epoch: number): Promise<Dispatcher> => {
    await db.tx((tx) => leadershipClaim(tx, { epoch, leader: `test-${epoch}`, now: new Date() }));
    const d = new Dispatcher(base, { db, epoch, leaseTtlMs: 10_000, pollMs: 200, agingMs: 60_000 });
    const stop = new AbortController();
    terms.push({ d, stop, done: d.run(stop.signal) });
    await d.ready;
    return d;
  };
  const hello = (running: AttemptRef[] = [], namespaces = ['*'], workerId = 'w1'): HelloIn =>
    ({ workerId, taskTypes: ['noop'], queues: ['default'], slots: 4, labels: {}, running, namespaces });
  /** Reads `n` assignments from a session's outbound queue. */
  const assigns = async (s: WorkerSession, n: number): Promise<Assign[]> => {
    const out: Assign[] = [];
    const it = s.out[Symbol.asyncIterator]();
    while (out.length < n) {
      const m = await it.next();
      if (m.done) throw new Error('session closed');
      if (m.value.kind === 'assign') out.push(m.value);
    }
    return out;
  };
  const attempts = () => rows<{ task_id: string; number: number; status: string }>(db.orm, sql`select task_id, number, status from attempts order by task_id`);

  it('after a takeover: the new leader re-sends the same attempt; nothing lapses, nothing runs twice', async () => {
    const [task] = await api.submit([{ type: 'noop' }], 'task', false);
    const first = await term(1);
    const lost = first.attach(hello()).session;
    first.credit(lost, 1);
    const [claimed] = await waitFor('the claim', async () => (lost.out.size > 0 ? assigns(lost, 1) : undefined), 10_000, 20);
    expect(claimed!.ref.taskId).toBe(task!.task.id);
    // The old leader dies with the Assign unsent; the worker finds the new one holding nothing.
    terms[0]!.stop.abort();
    await terms[0]!.done;
    const second = await term(2);
    const { session, adopted } = second.attach(hello());
    expect(adopted).toEqual([]);
    second.credit(session, 4);
    const [again] = await assigns(session, 1);
    expect(again!.ref).toEqual(claimed!.ref);
    expect(again!.type).toBe('noop');
    await second.result(session, { ref: again!.ref, output: { ok: true }, error: null });
    expect(await attempts()).toEqual([{ task_id: task!.task.id, number: 1, status: 'SUCCEEDED' }]);
  });

  it('after a stream break under the same leader, with the worker announcing what it does hold', async () => {
    const [a, b] = await api.submit([{ type: 'noop' }, { type: 'noop' }], 'tasks', true);
    const d = await term(3);
    const s1 = d.attach(hello()).session;
    d.credit(s1, 2);
    const got = await assigns(s1, 2);
    expect(got.map((g) => g.ref.taskId).sort()).toEqual([a!.task.id, b!.task.id].sort());
    d.detach(s1, 'stream closed');
    // The worker received only the first of the two before the stream broke.
    const held = got[0]!.ref;
    const { session, adopted } = d.attach(hello([held]));
    expect(adopted).toEqual([held]);
    d.credit(session, 3);
    const [resent] = await assigns(session, 1);
    expect(resent!.ref).toEqual(got[1]!.ref);
    for (const ref of [held, resent!.ref]) await d.result(session, { ref, output: null, error: null });
    expect((await attempts()).map((x) => [x.number, x.status])).toEqual([[1, 'SUCCEEDED'], [1, 'SUCCEEDED']]);
  });

  it('a worker that never grants credit again (draining) gets nothing; the lease lapses into a retry', async () => {
    const [task] = await api.submit([{ type: 'noop' }], 'task', false);
    const d = new Dispatcher(base, { db, epoch: 4, leaseTtlMs: 300, pollMs: 100, agingMs: 60_000 });
    await db.tx((tx) => leadershipClaim(tx, { epoch: 4, leader: 'test-4', now: new Date() }));
    const stop = new AbortController();
    terms.push({ d, stop, done: d.run(stop.signal) });
    await d.ready;
    const s1 = d.attach(hello()).session;
    d.credit(s1, 1);
    await assigns(s1, 1);
    d.detach(s1, 'stream closed');
    const s2 = d.attach(hello()).session;
    d.drain(s2);
    await waitFor('the retry', async () => {
      const r = await attempts();
      return r.length === 1 && r[0]!.status === 'FAILED' ? r : undefined;
    }, 10_000, 50);
    expect(s2.out.size).toBe(0);
    const [row] = await rows<{ status: string; attempt: number }>(db.orm, sql`select status, attempt from tasks where id = ${task!.task.id}`);
    expect(row).toMatchObject({ attempt: 1 });
    expect(['PENDING', 'QUEUED']).toContain(row!.status);
  });

  it('a leader that stalls longer than the lease TTL (GC, SIGSTOP) does not count its stall against its workers', async () => {
    await api.submit([{ type: 'noop' }], 'task', false);
    const clock = new ManualClock();
    await db.tx((tx) => leadershipClaim(tx, { epoch: 5, leader: 'test-5', now: new Date() }));
    const d = new Dispatcher({ ...base, clock }, { db, epoch: 5, leaseTtlMs: 1_000, pollMs: 100, agingMs: 60_000 });
    const stop = new AbortController();
    terms.push({ d, stop, done: d.run(stop.signal) });
    await d.ready;
    const s = d.attach(hello()).session;
    d.credit(s, 1);
    const [held] = await assigns(s, 1);
    const lapsed: unknown[] = [];
    d.keeper.on('lapsed', (e) => lapsed.push(e));
    const stalled = new Promise<{ ms: number }>((r) => d.keeper.once('stalled', r));
    // Ten lease TTLs pass between two ticks of the keeper, with no heartbeat read.
    clock.advance(10_000);
    expect((await stalled).ms).toBeGreaterThan(9_000);
    // The lapse check runs in the same tick, right after the stall is forgiven.
    await new Promise((r) => setImmediate(r));
    expect(lapsed).toEqual([]);
    expect(d.keeper.leases.match(held!.ref)?.session).toBe(s);
  });

  it('a worker receives only tasks of its credential\'s namespaces', async () => {
    const subs = await api.submit(
      ['team-a', 'team-b', 'team-a', 'team-c'].map((namespace) => ({ type: 'noop', namespace })), 'tasks', true);
    const d = await term(6);
    const a = d.attach(hello([], ['team-a'], 'wa')).session;
    const bc = d.attach(hello([], ['team-b', 'team-c'], 'wbc')).session;
    d.credit(a, 4);
    d.credit(bc, 4);
    const gotA = await assigns(a, 2);
    const gotBc = await assigns(bc, 2);
    expect(gotA.map((g) => g.namespace)).toEqual(['team-a', 'team-a']);
    expect(gotBc.map((g) => g.namespace).sort()).toEqual(['team-b', 'team-c']);
    expect([...gotA, ...gotBc].map((g) => g.ref.taskId).sort()).toEqual(subs.map((s) => s.task.id).sort());
    // More work for team-b only: the team-a worker, with credit left, still gets none of it.
    const [late] = await api.submit([{ type: 'noop', namespace: 'team-b' }], 'task', false);
    d.hint(['default']);
    const [got] = await assigns(bc, 1);
    expect(got!.ref.taskId).toBe(late!.task.id);
    expect(a.out.size).toBe(0);
  });
});
