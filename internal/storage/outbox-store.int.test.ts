import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { migrateDb, openPostgres, rows, type Db } from './db.js';
import { outboxBacklog, outboxMarkSent, outboxPrune, outboxReadUnsent } from './outbox-store.js';

describe('the outbox queries of the relay (real Postgres)', () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 2 });
    await migrateDb(db);
  });
  beforeEach(async () => {
    await db.orm.execute(sql`truncate events`);
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  /** Inserts `n` events for aggregate `agg` (a fixed uuid per letter); returns their sequences. */
  const insert = async (n: number, agg = 'a', sentAt: Date | null = null): Promise<string[]> => {
    const id = `00000000-0000-7000-8000-${agg.charCodeAt(0).toString(16).padStart(12, '0')}`;
    const r = await rows<{ sequence: string }>(db.orm, sql`
      insert into events (namespace, type, aggregate_type, aggregate_id, data, sent_at)
      select 'default', 'task.created', 'task', ${id}, jsonb_build_object('taskId', ${id}::text), ${sentAt}
      from generate_series(1, ${n}) returning sequence::text as sequence`);
    return r.map((x) => x.sequence);
  };

  it('reads unsent rows in numeric sequence order, across a change in the number of digits', async () => {
    await db.orm.execute(sql`select setval(pg_get_serial_sequence('events', 'sequence'), 95)`);
    const seqs = await insert(10); // 96 … 105
    const got = await outboxReadUnsent(db.orm, { limit: 100 });
    expect(got.map((r) => r.sequence)).toEqual(seqs);
    expect(seqs.slice(3, 6)).toEqual(['99', '100', '101']);
    expect(got[0]).toMatchObject({ namespace: 'default', type: 'task.created', aggregateType: 'task' });
    expect(got[0]!.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(JSON.parse(got[0]!.data)).toEqual({ taskId: got[0]!.aggregateId });
    expect((await outboxReadUnsent(db.orm, { limit: 3 })).map((r) => r.sequence)).toEqual(seqs.slice(0, 3));
  });

  it('marks only unsent rows, and counts them; sent rows are not read again', async () => {
    const seqs = await insert(5);
    expect(await outboxMarkSent(db.orm, { sequences: seqs.slice(0, 3), now: new Date() })).toBe(3);
    expect(await outboxMarkSent(db.orm, { sequences: seqs.slice(0, 4), now: new Date() })).toBe(1);
    expect((await outboxReadUnsent(db.orm, { limit: 10 })).map((r) => r.sequence)).toEqual([seqs[4]]);
    expect(await outboxBacklog(db.orm)).toMatchObject({ unsent: 1 });
  });

  it('prunes sent rows older than the cutoff from the head, never unsent ones, in steps of `limit`', async () => {
    const old = new Date(Date.now() - 3_600_000);
    await insert(2, 'a', old);
    const unsent = await insert(1, 'b');
    await insert(5, 'c', old);
    await insert(2, 'd', new Date());
    const cutoff = new Date(Date.now() - 60_000);
    // The head is the 4 oldest sent rows: the unsent one is stepped over, never in the way.
    expect(await outboxPrune(db.orm, { sentBefore: cutoff, limit: 4 })).toBe(4);
    expect(await outboxPrune(db.orm, { sentBefore: cutoff, limit: 4 })).toBe(3); // 3 old, then a recent one: stop
    expect(await outboxPrune(db.orm, { sentBefore: cutoff, limit: 4 })).toBe(0);
    const left = await rows<{ sequence: string; sent: boolean }>(db.orm, sql`select sequence::text, sent_at is not null as sent from events order by sequence`);
    expect(left.filter((r) => !r.sent).map((r) => r.sequence)).toEqual(unsent);
    expect(left).toHaveLength(3); // the unsent row and the 2 recent ones
    const b = await outboxBacklog(db.orm);
    expect(b.unsent).toBe(1);
    expect(b.oldestOccurredAt).toBeInstanceOf(Date);
  });
});
