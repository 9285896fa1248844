import { schedulerRole } from '../../internal/app/roles.js';
import { runProcess } from '../../internal/app/process.js';
import { relayFromConfig } from '../../internal/events/relay-from-config.js';
import { serveRoles } from '../../internal/app/serve.js';
import { buildRpcEdge } from '../../internal/app/rpc-edge.js';
import { advertiseAddress, requireAuthBeyondLoopback } from '../../internal/config/config.js';
import { edgeLimitHandlers, loadProcessConfig, watchProcessConfig } from '../../internal/app/process-config.js';
import { RedisPresence } from '../../internal/coordination/presence.js';
import { RedisLeaderLock } from '../../internal/coordination/redis-leader-lock.js';
import { systemClock } from '../../internal/shared/clock.js';
import { createLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPostgres } from '../../internal/storage/db.js';
import { startTracing } from '../../internal/observability/tracing.js';
import { Metrics } from '../../internal/observability/metrics.js';
import { instrumentPool, instrumentRelay, instrumentScheduler, instrumentConfig } from '../../internal/observability/instrument.js';

const config = loadProcessConfig('scheduler');
const logger = createLogger({ name: 'scheduler', level: config.TASKD_LOG_LEVEL });
const tracing = startTracing(config, { serviceName: 'taskd-scheduler', logger });
runProcess(logger, async (signal) => {
  if (!config.TASKD_DATABASE_URL) throw new Error('invalid configuration: TASKD_DATABASE_URL is required');
  if (!config.TASKD_REDIS_URL) throw new Error('invalid configuration: TASKD_REDIS_URL is required');
  requireAuthBeyondLoopback(config, 'the scheduler');
  const db = openPostgres(config.TASKD_DATABASE_URL, {
    max: config.TASKD_DATABASE_POOL, onError: (e) => logger.warn({ err: e.message }, 'postgres'),
    idleInTransactionTimeoutMs: config.TASKD_LOCK_TTL_MS / 2,
  });
  const metrics = new Metrics({
    process: 'scheduler', parts: ['rpc', 'scheduler', 'postgres', 'redis', 'config', ...(config.TASKD_KAFKA_BROKERS ? (['relay'] as const) : [])],
  });
  const lock = new RedisLeaderLock({
    // A renewal may wait up to half the TTL: the leader's deadline is computed from the send
    // time, so a slow answer is still safe, while a 1 s timeout turned every event-loop
    // stall into a lost renewal and a needless step-down (load test, 1,000 streams).
    url: config.TASKD_REDIS_URL, prefix: config.TASKD_REDIS_PREFIX, commandTimeoutMs: Math.floor(config.TASKD_LOCK_TTL_MS / 2),
    onError: (e) => logger.debug({ err: e.message }, 'redis'),
    observe: (command, seconds, ok) => metrics.redisCommandDuration.observe({ command, result: ok ? 'ok' : 'error' }, seconds),
  });
  const presence = new RedisPresence({ url: config.TASKD_REDIS_URL, prefix: config.TASKD_REDIS_PREFIX });
  try {
    await migrateDb(db);
    instrumentPool(metrics, db);
    const base = { logger, clock: systemClock, metrics };
    const address = advertiseAddress(config.TASKD_ADDR, config.TASKD_ADVERTISE_ADDR);
    // Schedulers take no submissions: the submission limit stays in process (unused).
    const edge = buildRpcEdge(base, config, { db, sharedLimits: false });
    const watcher = watchProcessConfig(logger, config, edgeLimitHandlers(edge));
    instrumentConfig(metrics, watcher);
    try {
      // With TASKD_KAFKA_BROKERS set, every leadership term also runs the outbox relay.
      const relay = relayFromConfig(base, db, config);
      const role = schedulerRole(base, db, { lock, presence }, config, address, relay);
      instrumentScheduler(metrics, role.scheduler, db);
      if (relay) instrumentRelay(metrics, relay);
      await Promise.all([serveRoles(base, config, [role], edge, signal), watcher.run(signal)]);
    } finally {
      await edge.close();
    }
  } finally {
    await tracing.shutdown();
    await presence.close();
    await lock.close();
    await db.close();
  }
});
