import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { isDomainError } from '../domain/errors.js';
import type { Json } from '../domain/task.js';
import { waitFor } from '../../test/wait.js';
import { rows } from './db.js';
import { sql } from 'drizzle-orm';
import { DEFAULT_LIMITS, validateTaskSpec } from '../domain/task-spec.js';
import { migrateDb, openPostgres, type Db } from './db.js';
import {
  attemptFinishMany, taskCheckpoint, taskClaimReady, type Claimed,
} from './dispatch-store.js';
import { leadershipClaim, leadershipFence } from './leadership-store.js';
import { taskInsertMany } from './task-store.js';

describe('the compare-and-sets in Postgres', () => {
  let tdb: TestDatabase;
  let db: Db;
  const now = () => new Date();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 6 });
    await migrateDb(db);
    await db.tx((tx) => leadershipClaim(tx, { epoch: 1, leader: 'test', now: now() }));
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  const claimOne = async (type: string): Promise<Claimed> => {
    await db.tx((tx) => taskInsertMany(tx, { tasks: [validateTaskSpec({ type }, 'task', DEFAULT_LIMITS, Date.now())], now: now() }));
    const [c] = await db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: 1 });
      return taskClaimReady(tx, { epoch: 1, queue: 'default', types: [type], slots: ['w'], now: now() });
    });
    return c!;
  };

  it('two checkpoint writes with the same expected version: exactly one wins', async () => {
    const c = await claimOne('cp');
    const ref = { taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken };
    const write = (data: Json) => db.tx((tx) => taskCheckpoint(tx, { ...ref, data, expected: 0, now: now() }));
    const outs = await Promise.all([write({ by: 'a' }), write({ by: 'b' })]);
    expect(outs.filter((o) => o.ok)).toHaveLength(1);
    expect(outs.find((o) => !o.ok)).toEqual({ ok: false, code: 'ABORTED', version: 1 });
    const stale = await db.tx((tx) => taskCheckpoint(tx, { ...ref, leaseToken: '00000000-0000-4000-8000-000000000000', data: {}, expected: 1, now: now() }));
    expect(stale).toEqual({ ok: false, code: 'FAILED_PRECONDITION', version: 1 });
  });

  it('an attempt finishes once; a stale lease token changes nothing', async () => {
    const c = await claimOne('fin');
    const f = {
      taskId: c.id, attempt: c.attempt, leaseToken: c.leaseToken, taskStatus: 'SUCCEEDED' as const, attemptStatus: 'SUCCEEDED' as const,
      output: { n: 1 }, error: null, runAt: null,
    };
    const finish = (x: typeof f) => db.tx((tx) => attemptFinishMany(tx, { epoch: 1, finishes: [x], now: now() }));
    const [a, b] = await Promise.all([finish(f), finish({ ...f, output: { n: 2 } })]);
    expect(a.size + b.size).toBe(1);
    expect((await finish({ ...f, leaseToken: '00000000-0000-4000-8000-000000000000' })).size).toBe(0);
  });

  it('a deposed epoch is fenced out, even when its transaction started before the takeover', async () => {
    const c = await claimOne('fence');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let fencedIn!: () => void;
    const inside = new Promise<void>((r) => (fencedIn = r));
    // The old leader holds the fence while the new leader claims epoch 2: the claim waits.
    const old = db.tx(async (tx) => {
      await leadershipFence(tx, { epoch: 1 });
      fencedIn();
      await held;
    });
    await inside;
    let claimed = false;
    const takeover = db.tx((tx) => leadershipClaim(tx, { epoch: 2, leader: 'new', now: now() })).then((ok) => (claimed = ok));
    await waitFor('the takeover to wait on the fence lock', async () => {
      const [w] = await rows<{ n: number }>(db.orm, sql`select count(*)::int n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`);
      return w!.n >= 1;
    }, 10_000);
    expect(claimed).toBe(false);
    release();
    await old;
    await takeover;
    expect(claimed).toBe(true);
    await expect(db.tx((tx) => leadershipFence(tx, { epoch: 1 }))).rejects.toSatisfy((e) => isDomainError(e, 'not_leader'));
    expect(c.attempt).toBe(1);
  });
});
