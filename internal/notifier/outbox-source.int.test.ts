import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPostgres, type Db } from '../storage/db.js';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { OutboxSource } from './outbox-source.js';

/** An outbox row as the triggers would write it: a task that succeeded, with its own webhook. */
const INSERT = `insert into events (namespace, type, aggregate_type, aggregate_id, data)
  values ('default', 'task.succeeded', 'task', gen_random_uuid(), jsonb_build_object('taskId', gen_random_uuid(), 'taskType', 'noop',
    'status', 'TASK_STATUS_SUCCEEDED', 'notify', jsonb_build_object('webhookUrl', 'http://127.0.0.1:9/hook')))
  returning sequence::text as sequence`;

describe('OutboxSource on Postgres: the cursor never skips an event that may still commit', () => {
  let tdb: TestDatabase;
  let db: Db;
  let sql: pg.Pool;
  const base = { logger: silentLogger(), clock: systemClock };
  /** A source whose cursor starts at the outbox's head (as the migration starts the real one). */
  const source = async () => {
    const cursor = `c${Math.random()}`;
    await sql.query('insert into notifier_cursors (name, sequence) select $1, coalesce(max(sequence), 0) from events', [cursor]);
    return new OutboxSource(base, { db, batch: 100, pollMs: 50, cursor });
  };
  const rolledBack = async () => {
    const c = await sql.connect();
    try {
      await c.query('begin');
      const seq = await insert(c);
      await c.query('rollback');
      return seq;
    } finally {
      c.release();
    }
  };
  const deliveries = async () => Number((await sql.query<{ n: string }>('select count(*) n from deliveries')).rows[0]!.n);
  const insert = async (c: pg.Pool | pg.PoolClient = sql) => (await c.query<{ sequence: string }>(INSERT)).rows[0]!.sequence;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 4 });
    await migrateDb(db);
    sql = new pg.Pool({ connectionString: tdb.url, max: 4 });
  });

  afterAll(async () => {
    await sql?.end();
    await db?.close();
    await tdb?.drop();
  });

  it('records contiguous events once, advancing the cursor in the same transaction; a replay records nothing new', async () => {
    const s = await source();
    const seqs = [await insert(), await insert(), await insert()];
    const r = await s.runOnce();
    expect(r).toMatchObject({ events: 3, created: 3, duplicates: 0, cursor: seqs[2], busy: false, more: false });
    expect(r.waitingAt).toBeUndefined();
    expect(await deliveries()).toBe(3);
    expect(await s.runOnce()).toMatchObject({ events: 0, created: 0, cursor: seqs[2] });
    const replay = new OutboxSource(base, { db, batch: 100, pollMs: 50, cursor: `replay${Math.random()}` });
    expect(await replay.runOnce()).toMatchObject({ events: 3, created: 0, duplicates: 3 });
    expect(await deliveries()).toBe(3);
  });

  it('waits at a sequence whose transaction is still open, then records it once it commits', async () => {
    const s = await source();
    const before = await insert();
    await s.runOnce();
    const had = await deliveries();
    const open = await sql.connect();
    try {
      await open.query('begin');
      const pending = await insert(open);
      const after = await insert();
      for (let i = 0; i < 3; i++) {
        expect(await s.runOnce()).toMatchObject({ events: 0, cursor: before, waitingAt: pending });
      }
      await open.query('commit');
      expect(await s.runOnce()).toMatchObject({ events: 2, created: 2, cursor: after });
      expect(await deliveries()).toBe(had + 2);
    } finally {
      open.release();
    }
  });

  it('waits for a writer whose transaction id is above the snapshot\'s xmax (an older transaction committed the later sequence)', async () => {
    const s = await source();
    const before = await insert();
    await s.runOnce();
    const older = await sql.connect();
    const writer = await sql.connect();
    try {
      // `older` takes its transaction id first; `writer` takes a later one and the next sequence;
      // `older` then takes the sequence after it and commits: the latest completed id is below the writer's.
      await older.query('begin');
      await older.query('select pg_current_xact_id()');
      await writer.query('begin');
      const pending = await insert(writer);
      const after = await insert(older);
      await older.query('commit');
      for (let i = 0; i < 3; i++) {
        expect(await s.runOnce()).toMatchObject({ events: 0, cursor: before, waitingAt: pending });
      }
      await writer.query('commit');
      expect(await s.runOnce()).toMatchObject({ events: 2, cursor: after });
    } finally {
      older.release();
      writer.release();
    }
  });

  it('passes a rolled-back sequence once every transaction that was running when it was seen has ended', async () => {
    const s = await source();
    const had = await deliveries();
    const first = await insert();
    const gap = await rolledBack();
    const last = await insert();
    expect(await s.runOnce()).toMatchObject({ events: 1, cursor: first, waitingAt: gap });
    expect(await s.runOnce()).toMatchObject({ events: 1, cursor: last });
    expect(await deliveries()).toBe(had + 2);
  });

  it('a replay from 0 passes every rolled-back gap and records nothing new', async () => {
    const s = await source();
    for (let i = 0; i < 3; i++) {
      await insert();
      await rolledBack();
      await rolledBack();
    }
    const head = await insert();
    for (let i = 0; i < 10 && (await s.runOnce()).cursor !== head; i++);
    expect((await s.runOnce()).cursor).toBe(head);
    const had = await deliveries();
    const replay = new OutboxSource(base, { db, batch: 7, pollMs: 50, cursor: `replay${Math.random()}` });
    let passes = 0;
    while ((await replay.runOnce()).cursor !== head) expect(++passes, 'passes to replay the outbox').toBeLessThan(100);
    expect(await deliveries()).toBe(had);
  });

  it('a second reader finds the cursor busy while the first holds it', async () => {
    const name = `busy${Math.random()}`;
    const a = new OutboxSource(base, { db, batch: 100, pollMs: 50, cursor: name });
    await a.runOnce();
    const c = await sql.connect();
    try {
      await c.query('begin');
      await c.query('select 1 from notifier_cursors where name = $1 for update', [name]);
      expect(await a.runOnce()).toMatchObject({ busy: true, events: 0 });
      await c.query('commit');
    } finally {
      c.release();
    }
    expect(await a.runOnce()).toMatchObject({ busy: false });
  });
});
