/**
 * The Postgres and Redis a chaos run drives. The harness never starts or stops
 * them itself: `npm run chaos` passes its own private servers (see
 * {@link OwnServers}), the integration test passes the vitest stack's.
 */
export interface Servers {
  /** URL of an empty database the run owns; taskd migrates it on start. */
  readonly pgUrl: string;
  /** `redis://host:port`. */
  readonly redisUrl: string;
  /** Prefix of the run's Redis keys; default a random `chaos<hex>:`. */
  readonly redisPrefix?: string;
  /** Stops Postgres (fast shutdown: every connection drops) and starts it again; resolves once it accepts connections. */
  restartPostgres(): Promise<void>;
  /** Kills Redis and starts an empty one on the same port; resolves once it answers. */
  restartRedisEmpty(): Promise<void>;
}
