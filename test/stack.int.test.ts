import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createTestDatabase,
  redisPrefix,
  restartPostgres,
  restartRedisEmpty,
  startPostgres,
  stopPostgres,
  testEnv,
} from './stack.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function startTime(url: string): Promise<string> {
  const [row] = await query<{ t: string }>(url, 'SELECT pg_postmaster_start_time()::text AS t');
  return row?.t ?? '';
}

const redisClients: Redis[] = [];
function redis(): Redis {
  const client = new Redis(testEnv().redisUrl, { lazyConnect: true });
  client.on('error', () => undefined); // reconnects are expected in these tests
  redisClients.push(client);
  return client;
}

afterAll(async () => {
  for (const c of redisClients) c.disconnect();
  await startPostgres(); // leave the stack as we found it even if a test failed midway
});

describe('integration stack', () => {
  test('serves Postgres and Redis on loopback', async () => {
    const { pgUrl, redisUrl } = testEnv();
    expect(pgUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const [row] = await query<{ version: string; fsync: string; max: string }>(
      pgUrl,
      `SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
              current_setting('max_connections') AS max`,
    );
    expect(row).toMatchObject({ version: expect.stringMatching(/^\d+/), fsync: 'off', max: '300' });
    const client = redis();
    expect(await client.ping()).toBe('PONG');
  });

  test('creates and drops an isolated database', async () => {
    const db = await createTestDatabase();
    expect(db.name).toMatch(/^taskd_t_[0-9a-f]{16}$/);
    expect(new URL(db.url).pathname).toBe(`/${db.name}`);
    const held = new pg.Client({ connectionString: db.url });
    held.on('error', () => undefined); // drop() terminates this connection
    await held.connect();
    await held.query('CREATE TABLE t (x int); INSERT INTO t VALUES (42)');
    expect((await held.query('SELECT x FROM t')).rows).toEqual([{ x: 42 }]);

    await db.drop();
    const left = await query(testEnv().pgUrl, `SELECT 1 FROM pg_database WHERE datname = '${db.name}'`);
    expect(left).toEqual([]);
    await expect(held.query('SELECT 1')).rejects.toThrow();
    await held.end().catch(() => undefined);
    await db.drop(); // idempotent
  });

  test('restarts Postgres; data survives and new connections work', async () => {
    const db = await createTestDatabase();
    await query(db.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
    const before = await startTime(db.url);
    const held = new pg.Client({ connectionString: db.url });
    const lost = new Promise<Error>((resolve) => held.on('error', resolve));
    await held.connect();

    await restartPostgres();
    expect(await lost).toBeInstanceOf(Error);
    expect(await startTime(db.url)).not.toBe(before);
    expect(await query(db.url, 'SELECT x FROM kept')).toEqual([{ x: 7 }]);
    await held.end().catch(() => undefined);
    await db.drop();
  });

  test('stops and starts Postgres', async () => {
    const { pgUrl } = testEnv();
    await stopPostgres();
    await expect(query(pgUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await stopPostgres(); // idempotent
    await startPostgres();
    expect(await query(pgUrl, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  test('restarts Redis empty on the same port; clients reconnect', async () => {
    const prefix = redisPrefix();
    expect(prefix).toMatch(/^t[0-9a-f]{10}:$/);
    expect(redisPrefix()).not.toBe(prefix);
    const client = redis();
    await client.set(`${prefix}k`, 'v');
    const runIdBefore = /run_id:(\w+)/.exec(await client.info('server'))?.[1];
    expect(await client.get(`${prefix}k`)).toBe('v');

    await restartRedisEmpty();
    // The same client reconnects by itself to the new server on the same port.
    expect(await client.get(`${prefix}k`)).toBeNull();
    expect(/run_id:(\w+)/.exec(await client.info('server'))?.[1]).not.toBe(runIdBefore);
    expect(await client.dbsize()).toBe(0);
    await client.set(`${prefix}k`, 'again');
    expect(await redis().get(`${prefix}k`)).toBe('again');
  });
});
