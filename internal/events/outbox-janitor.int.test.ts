import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { TaskApi } from '../api/task-api.js';
import { isDomainError } from '../domain/errors.js';
import { DEFAULT_LIMITS } from '../domain/task-spec.js';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPostgres, rows, type Db } from '../storage/db.js';
import { leadershipClaim } from '../storage/leadership-store.js';
import { OutboxJanitor } from './outbox-janitor.js';

describe('OutboxJanitor (no Kafka): the outbox is kept to the retention, fenced', () => {
  let tdb: TestDatabase;
  let db: Db;
  const base = { logger: silentLogger(), clock: systemClock };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 4 });
    await migrateDb(db);
    await db.tx((tx) => leadershipClaim(tx, { epoch: 2, leader: 'test', now: new Date() }));
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('deletes events older than the retention (sent or not), keeps the rest; a deposed term deletes nothing', async () => {
    const api = new TaskApi(base, { db, limits: DEFAULT_LIMITS, hints: { ready: () => {}, due: () => {}, cancelled: () => {} } });
    await api.submit(Array.from({ length: 25 }, () => ({ type: 'noop' })), 'tasks', true);
    await db.orm.execute(sql`update events set occurred_at = now() - interval '2 days' where sequence in (select sequence from events order by sequence limit 20)`);
    const janitor = new OutboxJanitor(base, { db, retentionMs: 24 * 3600_000, batch: 7 });
    const deposed = await janitor.pruneOnce(1).then(() => undefined, (e: unknown) => e);
    expect(isDomainError(deposed, 'not_leader')).toBe(true);
    expect(await janitor.pruneOnce(2)).toBe(20);
    const [left] = await rows<{ n: number }>(db.orm, sql`select count(*)::int n from events`);
    expect(left!.n).toBe(5);
  });
});
