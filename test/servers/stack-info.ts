import type { KafkaServerInfo } from './kafka-server.js';
import type { PgServerInfo } from './pg-server.js';
import type { RedisServerInfo } from './redis-server.js';

/**
 * What test/global-setup.ts hands the `int` project's test files through vitest's
 * `provide`/`inject`: plain, serializable data from which test/stack.ts rebuilds
 * control over the servers inside a test worker.
 */
export interface StackInfo {
  /** Temporary directory holding the servers' data; deleted at teardown. */
  root: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, superuser, trust auth. */
  pgUrl: string;
  /** `redis://127.0.0.1:<port>`. */
  redisUrl: string;
  /** How to control the Postgres cluster. */
  pg: PgServerInfo;
  /** How to control the Redis server. */
  redis: RedisServerInfo;
  /** `127.0.0.1:<port>`: the Kafka bootstrap address. */
  kafkaBrokers: string;
  /** How to control the Kafka broker. */
  kafka: KafkaServerInfo;
}

/** The `provide`/`inject` key under which global setup publishes the {@link StackInfo}. */
export const STACK_KEY = 'taskdStack';

declare module 'vitest' {
  export interface ProvidedContext {
    taskdStack: StackInfo;
  }
}
