import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../../test/stack.js';
import type { LeaderLock } from '../coordination/leader-lock.js';
import { RedisLeaderLock } from '../coordination/redis-leader-lock.js';
import { isDomainError } from '../domain/errors.js';
import { systemClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { migrateDb, openPostgres, type Db } from '../storage/db.js';
import { leadershipClaim, leadershipFence, leadershipRead } from '../storage/leadership-store.js';
import { LeaderElector } from './leader-elector.js';

const base = { logger: silentLogger(), clock: systemClock };
const TTL = 1500;
const RENEW = 300;

describe('LeaderElector on real Redis and Postgres', () => {
  let tdb: TestDatabase;
  let db: Db;
  const running: { ctl: AbortController; done: Promise<void> }[] = [];
  const locks: LeaderLock[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = openPostgres(tdb.url);
    await migrateDb(db);
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.ctl.abort();
      await r.done;
    }
    for (const l of locks.splice(0)) await l.close();
  });
  afterAll(async () => {
    await db.close();
    await tdb.drop();
  });

  const elector = (prefix: string, address: string, wrap?: (l: LeaderLock) => LeaderLock): LeaderElector => {
    const real = new RedisLeaderLock({ url: testEnv().redisUrl, prefix });
    locks.push(real);
    return new LeaderElector(base, {
      lock: wrap ? wrap(real) : real, address, ttlMs: TTL, renewMs: RENEW,
      epochs: {
        floor: async () => (await leadershipRead(db.orm))?.epoch ?? 0,
        claim: (epoch) => db.tx((tx) => leadershipClaim(tx, { epoch, leader: address, now: new Date() })),
      },
    });
  };
  const start = (e: LeaderElector): AbortController => {
    const ctl = new AbortController();
    running.push({ ctl, done: e.run(ctl.signal) });
    return ctl;
  };

  it('one leads; on shutdown it releases and the standby takes over with a higher epoch', async () => {
    const prefix = redisPrefix();
    const a = elector(prefix, 'a');
    const b = elector(prefix, 'b');
    const aLeads = once(a, 'leader');
    const ctlA = start(a);
    const [{ epoch: e1 }] = await aLeads;
    const bLeads = once(b, 'leader');
    start(b);
    expect(b.isLeader()).toBe(false);
    ctlA.abort();
    const [{ epoch: e2 }] = await bLeads;
    expect(e2).toBeGreaterThan(e1);
    expect(a.isLeader()).toBe(false);
    expect((await leadershipRead(db.orm))?.epoch).toBe(e2);
  });

  it('a leader whose renewals fail steps down on its own deadline, before anyone else can lead', async () => {
    const prefix = redisPrefix();
    let failRenewals = false;
    const a = elector(prefix, 'a', (l) => ({
      ...l,
      tryAcquire: (p) => l.tryAcquire(p),
      renew: async (p) => {
        if (failRenewals) throw new Error('redis unreachable');
        return l.renew(p);
      },
      release: (p) => l.release(p),
      current: () => l.current(),
      close: () => l.close(),
    }));
    const b = elector(prefix, 'b');
    const aLeads = once(a, 'leader');
    start(a);
    const [{ epoch }] = await aLeads;
    start(b);
    let aSteppedDownAt = 0;
    a.on('follower', () => (aSteppedDownAt = performance.now()));
    const bLeads = once(b, 'leader');
    failRenewals = true;
    await bLeads;
    const bLedAt = performance.now();
    expect(aSteppedDownAt).toBeGreaterThan(0);
    expect(aSteppedDownAt).toBeLessThan(bLedAt);
    // The deposed epoch is fenced out of Postgres.
    await expect(db.tx((tx) => leadershipFence(tx, { epoch }))).rejects.toSatisfy((e) => isDomainError(e, 'not_leader'));
  });

  it('after FLUSHALL the next epoch still grows past what Postgres recorded', async () => {
    const prefix = redisPrefix();
    const a = elector(prefix, 'a');
    const leads = once(a, 'leader');
    const ctl = start(a);
    const [{ epoch: before }] = await leads;
    ctl.abort();
    await running.splice(0)[0]!.done;
    const r = new Redis(testEnv().redisUrl);
    await r.flushall();
    r.disconnect();
    const b = elector(prefix, 'b');
    const bLeads = once(b, 'leader');
    start(b);
    const [{ epoch: after }] = await bLeads;
    expect(after).toBeGreaterThan(before);
  });

  it('a leader frozen inside a transaction cannot hold up the next claim: Postgres ends its idle session', async () => {
    const e0 = (await leadershipRead(db.orm))?.epoch ?? 0;
    const frozenDb = openPostgres(tdb.url, { max: 1, idleInTransactionTimeoutMs: 300 });
    let thaw!: () => void;
    const thawed = new Promise<void>((r) => (thaw = r));
    let fenced!: () => void;
    const holding = new Promise<void>((r) => (fenced = r));
    // The "frozen" leader: fenced (the row FOR SHARE), then idle in its transaction.
    const frozen = frozenDb.tx(async (tx) => {
      await leadershipFence(tx, { epoch: e0 });
      fenced();
      await thawed;
      await leadershipFence(tx, { epoch: e0 });
    });
    await holding;
    // The claim waits for the row, which Postgres frees when it ends the idle session.
    expect(await db.tx((tx) => leadershipClaim(tx, { epoch: e0 + 1, leader: 'next', now: new Date(), lockTimeoutMs: 10_000 }))).toBe(true);
    thaw();
    await expect(frozen).rejects.toThrow();
    await frozenDb.close();
  });

  it('a claim waits on a held leadership row no longer than its lock timeout', async () => {
    const e0 = (await leadershipRead(db.orm))?.epoch ?? 0;
    const holder = openPostgres(tdb.url, { max: 1 });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let fenced!: () => void;
    const holding = new Promise<void>((r) => (fenced = r));
    const held = holder.tx(async (tx) => {
      await leadershipFence(tx, { epoch: e0 });
      fenced();
      await released;
    });
    await holding;
    const err = await db.tx((tx) => leadershipClaim(tx, { epoch: e0 + 1, leader: 'next', now: new Date(), lockTimeoutMs: 200 }))
      .then(() => undefined, (e: Error) => e);
    // drizzle wraps the driver's error: the cause is Postgres's.
    expect(String((err?.cause as Error | undefined)?.message)).toMatch(/lock timeout/);
    release();
    await held;
    await holder.close();
    expect((await leadershipRead(db.orm))?.epoch).toBe(e0);
  });
});
