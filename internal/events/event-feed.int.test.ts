import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/stack.js';
import { waitFor } from '../../test/wait.js';
import { isDomainError } from '../domain/errors.js';
import type { StoredEvent } from '../domain/stored-event.js';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPglite, openPostgres, type Db } from '../storage/db.js';
import { EventFeed, type EventFeedOptions } from './event-feed.js';
import type { FeedSubscription } from './feed-subscription.js';

const base = { logger: silentLogger(), clock: systemClock };
const NS = 'feed-test';

/** Inserts one event the way the outbox triggers do: after the transaction has its id. Returns its sequence. */
async function insertEvent(c: pg.ClientBase, type: string): Promise<number> {
  await c.query('select pg_current_xact_id()');
  const r = await c.query<{ sequence: string }>(
    `insert into events (namespace, type, aggregate_type, aggregate_id, data) values ($1, $2, 'task', gen_random_uuid(), '{}') returning sequence`,
    [NS, type]);
  return Number(r.rows[0]!.sequence);
}

/** What a subscription holds now, without waiting. */
async function drain(sub: FeedSubscription): Promise<StoredEvent[]> {
  return (await sub.take(AbortSignal.abort())) ?? [];
}

describe('EventFeed on Postgres: one tail, in sequence order, no gap skipped', () => {
  let tdb: TestDatabase;
  let db: Db;
  const clients: pg.Client[] = [];
  const client = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    clients.push(c);
    return c;
  };
  const feedOf = async (opts: Partial<EventFeedOptions> = {}) => {
    const feed = new EventFeed(base, { db, ...opts });
    while (!feed.isReady) await feed.runOnce();
    return feed;
  };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url, { max: 6 });
    await migrateDb(db);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.close();
    await tdb.drop();
  });

  it('holds a later sequence back until an earlier one commits, then delivers both in order', async () => {
    const feed = await feedOf();
    const sub = await feed.subscribe({ namespace: NS });
    const a = await client();
    const b = await client();
    await a.query('begin');
    const first = await insertEvent(a, 'test.a');
    await b.query('begin');
    const second = await insertEvent(b, 'test.b');
    await b.query('commit');
    expect(second).toBeGreaterThan(first);
    expect(await feed.runOnce()).toMatchObject({ delivered: 0, blocked: true });
    // Still held on the next looks: the transaction holding the earlier sequence is running.
    expect(await feed.runOnce()).toMatchObject({ delivered: 0, blocked: true });
    expect(await feed.runOnce()).toMatchObject({ delivered: 0, blocked: true });
    expect(await drain(sub)).toEqual([]);
    await a.query('commit');
    expect(await feed.runOnce()).toMatchObject({ delivered: 2, blocked: false });
    expect((await drain(sub)).map((e) => [e.sequence, e.type])).toEqual([[first, 'test.a'], [second, 'test.b']]);
    sub.close();
  });

  it('passes a rolled-back sequence once the transactions that were running with it have ended', async () => {
    const feed = await feedOf();
    const sub = await feed.subscribe({ namespace: NS });
    const a = await client();
    const b = await client();
    await a.query('begin');
    await insertEvent(a, 'test.doomed');
    await b.query('begin');
    const kept = await insertEvent(b, 'test.kept');
    await b.query('commit');
    expect(await feed.runOnce()).toMatchObject({ delivered: 0, blocked: true });
    expect(await feed.runOnce()).toMatchObject({ delivered: 0, blocked: true });
    await a.query('rollback');
    expect(await feed.runOnce()).toMatchObject({ delivered: 1, blocked: false });
    expect((await drain(sub)).map((e) => [e.sequence, e.type])).toEqual([[kept, 'test.kept']]);
    expect(feed.current).toBeGreaterThanOrEqual(kept);
  });

  it('delivers exactly the committed events, in sequence order, under concurrent writers with rollbacks', async () => {
    const feed = new EventFeed(base, { db, batch: 50 });
    const ctl = new AbortController();
    const running = feed.run(ctl.signal);
    await once(feed, 'ready');
    const sub = await feed.subscribe({ namespace: NS, match: (e) => e.type.startsWith('load.') });
    const got: StoredEvent[] = [];
    const reading = (async () => {
      for (;;) {
        const batch = await sub.take(ctl.signal);
        if (!batch) return;
        got.push(...batch);
      }
    })();
    const writers = await Promise.all(Array.from({ length: 6 }, () => client()));
    await Promise.all(writers.map(async (c, w) => {
      for (let i = 0; i < 40; i++) {
        await c.query('begin');
        await insertEvent(c, `load.${w}`);
        if (i % 3 === 0) await insertEvent(c, `load.${w}`);
        // Hold some transactions open across others' commits, and roll some back.
        if (i % 5 === 0) await new Promise((r) => setImmediate(r));
        await c.query(i % 7 === 3 ? 'rollback' : 'commit');
      }
    }));
    const committed = (await writers[0]!.query<{ s: number }>(
      `select sequence::int as s from events where namespace = $1 and type like 'load.%' order by sequence`, [NS])).rows.map((r) => r.s);
    await waitFor(`the feed to deliver all ${committed.length} committed events`, async () => got.length >= committed.length, 30_000);
    expect(got.map((e) => e.sequence)).toEqual(committed);
    ctl.abort();
    await running;
    await reading;
  });

  it('cuts off a subscriber that lets its buffer fill, naming why; the others get everything', async () => {
    const feed = await feedOf({ bufferSize: 5 });
    const slow = await feed.subscribe({ namespace: NS });
    const fast = await feed.subscribe({ namespace: NS });
    const c = await client();
    const got: StoredEvent[] = [];
    for (let i = 0; i < 12; i++) {
      await c.query('begin');
      await insertEvent(c, 'test.burst');
      await c.query('commit');
      if (i % 4 === 3) {
        while ((await feed.runOnce()).delivered > 0);
        got.push(...await drain(fast));
      }
    }
    expect(got.map((e) => e.type)).toEqual(Array(12).fill('test.burst'));
    const err = await slow.take(new AbortController().signal).then(() => undefined, (e: unknown) => e);
    expect(isDomainError(err, 'resource_exhausted')).toBe(true);
    expect((err as Error).message).toBe('the watch fell behind: 5 events waited for this client to read them (TASKD_WATCH_BUFFER); '
      + 'watch again with after_event_id set to the last event received');
  });

  it('wakes on NOTIFY, not on its poll', async () => {
    const feed = new EventFeed(base, { db, pollMs: 600_000 });
    const ctl = new AbortController();
    const running = feed.run(ctl.signal);
    await once(feed, 'ready');
    const sub = await feed.subscribe({ namespace: NS });
    // The LISTEN connects on its own; an event committed before it listens is found by the kick after it connects.
    const c = await client();
    const started = Date.now();
    await c.query('begin');
    const seq = await insertEvent(c, 'test.notified');
    await c.query('commit');
    const batch = await sub.take(ctl.signal);
    expect(batch?.map((e) => e.sequence)).toEqual([seq]);
    expect(Date.now() - started).toBeLessThan(10_000);
    ctl.abort();
    await running;
    await expect(sub.take(new AbortController().signal)).rejects.toThrow('this server is shutting down; watch again (with after_event_id to resume)');
  });
});

describe('EventFeed on PGlite (the embedded default)', () => {
  it('tails the outbox and wakes on its in-process NOTIFY', async () => {
    const lite = await openPglite();
    try {
      await migrateDb(lite);
      const feed = new EventFeed(base, { db: lite, pollMs: 600_000 });
      const ctl = new AbortController();
      const running = feed.run(ctl.signal);
      await once(feed, 'ready');
      const sub = await feed.subscribe({ namespace: NS });
      await lite.tx(async (tx) => {
        await tx.execute(`insert into events (namespace, type, aggregate_type, aggregate_id, data)
          values ('${NS}', 'lite.one', 'task', gen_random_uuid(), '{}'), ('${NS}', 'lite.two', 'task', gen_random_uuid(), '{}')` as never);
      });
      const got: string[] = [];
      while (got.length < 2) got.push(...((await sub.take(ctl.signal)) ?? []).map((e) => e.type));
      expect(got).toEqual(['lite.one', 'lite.two']);
      ctl.abort();
      await running;
    } finally {
      await lite.close();
    }
  });
});
