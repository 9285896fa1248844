import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { migrateDb, openPostgres, rows, type Db } from './db.js';
import { readyTasksQuery } from './dispatch-store.js';

/**
 * The hot queries must read their index in order, never sort the backlog: with a
 * million queued tasks a sort costs a second per claim (found by the backlog bench:
 * the index said `priority desc nulls last`, the query `priority desc`).
 */
describe('query plans on a large table', () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url);
    await migrateDb(db);
    // 50,000 tasks: 40,000 finished (history) and 10,000 queued in two queues, all priorities.
    await db.orm.execute(sql`insert into tasks (id, namespace, type, queue, priority, status, retry_policy)
      select (lpad(to_hex(1700000000000 + g), 12, '0') || '7000800000000000' || lpad(to_hex(g), 4, '0'))::uuid,
        'default', 'noop', case when g % 2 = 0 then 'a' else 'b' end, g % 10,
        case when g <= 40000 then 'SUCCEEDED' else 'QUEUED' end, '{}'::jsonb
      from generate_series(1, 50000) g`);
    await db.orm.execute(sql`analyze tasks`);
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  const plan = async (q: SQL): Promise<string> =>
    (await rows<{ 'QUERY PLAN': string }>(db.orm, sql`explain ${q}`)).map((r) => r['QUERY PLAN']).join('\n');

  it('the claim reads tasks_ready in order', async () => {
    const p = await plan(readyTasksQuery({ queue: 'a', types: ['noop'], limit: 64 }));
    expect(p).toContain('Index Scan using tasks_ready on tasks');
    expect(p).not.toMatch(/Sort/);
  });

  it('a claim for a worker of some namespaces still reads tasks_ready in order (namespace is a filter)', async () => {
    const p = await plan(readyTasksQuery({ queue: 'a', types: ['noop'], namespaces: ['default', 'team-a'], limit: 64 }));
    expect(p).toContain('Index Scan using tasks_ready on tasks');
    expect(p).not.toMatch(/Sort/);
  });

  it('the aged claim reads tasks_ready_age in order', async () => {
    const p = await plan(readyTasksQuery({ queue: 'a', types: ['noop'], limit: 1, agedBefore: new Date(1700000045000) }));
    expect(p).toContain('tasks_ready_age');
    expect(p).not.toMatch(/Sort/);
  });

  it('listing reads tasks_namespace_id in order', async () => {
    const p = await plan(sql`select * from tasks where namespace = 'default' order by namespace, id desc nulls last limit 100`);
    expect(p).toContain('tasks_namespace_id');
    expect(p).not.toMatch(/Sort/);
  });
});
