import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../chaos/faults.js';
import { runChaos } from '../../chaos/harness.js';
import { renderSummary } from '../../chaos/report.js';
import type { Servers } from '../../chaos/servers.js';
import { reapAll } from '../procs.js';
import { createTestDatabase, redisPrefix, restartPostgres, restartRedisEmpty, testEnv, type TestDatabase } from '../stack.js';

/** Fixed so that a failure replays with the same fault schedule: `npm run chaos -- --seed 20261123 --seconds 60 --faults 6`. */
const SEED = 20261123;

describe('chaos: random faults under a steady load (2 apiservers, 3 schedulers, 3 workers)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await reapAll();
    await db?.drop();
  });

  it('one of each fault kind, and every promise checked from Postgres holds', async () => {
    const servers: Servers = { pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), restartPostgres, restartRedisEmpty };
    const result = await runChaos(servers, { seconds: 60, faults: FAULT_KINDS.length, seed: SEED, rate: 20, drainSeconds: 60 }, {
      signal: new AbortController().signal,
      log: (msg) => console.log(`[chaos] ${msg}`),
    });
    console.log(renderSummary(result));
    expect(new Set(result.faults.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(result.submissions.ok).toBeGreaterThan(500);
    expect(result.takeovers.filter((t) => t.firstDispatchMs !== undefined)).toHaveLength(2);
    expect(result.violations).toEqual([]);
    rmSync(result.logDir, { recursive: true, force: true }); // kept when the test fails
  }, 360_000);
});
