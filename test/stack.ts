import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { KafkaServer } from './servers/kafka-server.js';
import { PgServer } from './servers/pg-server.js';
import { RedisServer } from './servers/redis-server.js';
import { STACK_KEY, type StackInfo } from './servers/stack-info.js';

/** Where the integration stack's servers listen. */
export interface TestEnv {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: superuser, no password. */
  pgUrl: string;
  /** `redis://127.0.0.1:<port>`. */
  redisUrl: string;
  /** `127.0.0.1:<port>`: the Kafka bootstrap address (one broker, KRaft; topics are not created automatically). */
  kafkaBrokers: string;
}

/** A database of its own for one test file; see {@link createTestDatabase}. */
export interface TestDatabase {
  /** Its name, `taskd_t_<16 hex digits>`. */
  name: string;
  /** Connection URL (superuser `postgres`). */
  url: string;
  /** Terminates its connections and drops it. Idempotent. */
  drop(): Promise<void>;
}

function stack(): StackInfo {
  const info = inject(STACK_KEY) as StackInfo | undefined;
  if (info === undefined) {
    throw new Error(
      'The integration test stack is not running. Helpers in test/stack.ts work only in the `int` vitest ' +
        'project (files named *.int.test.ts), whose globalSetup test/global-setup.ts starts Postgres, Redis and Kafka.',
    );
  }
  return info;
}

/**
 * The addresses of the Postgres, Redis and Kafka that the `int` project's global
 * setup started. Throws when called outside the `int` project.
 */
export function testEnv(): TestEnv {
  const { pgUrl, redisUrl, kafkaBrokers } = stack();
  return { pgUrl, redisUrl, kafkaBrokers };
}

/**
 * Creates a fresh, empty, uniquely named database on the test Postgres and
 * returns its URL. The caller applies migrations. Throws on connection errors.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `taskd_t_${randomBytes(8).toString('hex')}`;
  const { pgUrl } = stack();
  await withAdmin(pgUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin(pgUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a server restart mid-call surfaces through the query instead
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A unique Redis key prefix such as `t3f9a0c1b2d:`, so tests sharing the one Redis never collide. */
export function redisPrefix(): string {
  return `t${randomBytes(5).toString('hex')}:`;
}

/**
 * Restarts the test Postgres (fast shutdown: every connection is dropped) on the
 * same port and data, resolving once it accepts connections again. Data survives.
 * Throws with the server log's tail if it does not come back.
 */
export async function restartPostgres(): Promise<void> {
  await new PgServer(stack().pg).restart();
}

/** Stops the test Postgres (fast shutdown) and resolves once it is down. No-op if already stopped. */
export async function stopPostgres(): Promise<void> {
  await new PgServer(stack().pg).stop();
}

/**
 * Starts the test Postgres again after {@link stopPostgres}, resolving once it
 * accepts connections. No-op if running. Throws with the log's tail on failure.
 */
export async function startPostgres(): Promise<void> {
  await new PgServer(stack().pg).start();
}

/**
 * Kills the test Redis and starts a new, empty one on the same port, resolving
 * once it answers. Every key of every test is gone afterwards; clients see a
 * dropped connection and must reconnect.
 */
export async function restartRedisEmpty(): Promise<void> {
  const redis = new RedisServer(stack().redis);
  await redis.stop();
  await redis.start();
}

/**
 * Stops the test Kafka (SIGTERM, a clean shutdown; with `kill`, SIGKILL) and resolves
 * once it is gone. Topics and their data survive for {@link startKafka}. No-op if stopped.
 */
export async function stopKafka(opts: { kill?: boolean } = {}): Promise<void> {
  await new KafkaServer(stack().kafka).stop(opts);
}

/**
 * Starts the test Kafka again after {@link stopKafka}, on the same port and data,
 * resolving once it serves clients. No-op if running. Throws with the broker log's
 * tail on failure.
 */
export async function startKafka(): Promise<void> {
  const kafka = new KafkaServer(stack().kafka);
  if (kafka.runningPid() === undefined) await kafka.start();
}

/** Freezes the test Kafka (SIGSTOP): connections stay open, requests go unanswered until {@link thawKafka}. */
export function freezeKafka(): void {
  new KafkaServer(stack().kafka).freeze();
}

/** Resumes the test Kafka after {@link freezeKafka}. No-op if it is not running. */
export function thawKafka(): void {
  new KafkaServer(stack().kafka).thaw();
}
