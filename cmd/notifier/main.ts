import { notifierRole } from '../../internal/app/roles.js';
import { runProcess } from '../../internal/app/process.js';
import { serveRoles } from '../../internal/app/serve.js';
import { buildRpcEdge } from '../../internal/app/rpc-edge.js';
import { requireAuthBeyondLoopback } from '../../internal/config/config.js';
import { edgeLimitHandlers, loadProcessConfig, watchProcessConfig } from '../../internal/app/process-config.js';
import { systemClock } from '../../internal/shared/clock.js';
import { createLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPostgres } from '../../internal/storage/db.js';
import { startTracing } from '../../internal/observability/tracing.js';
import { Metrics } from '../../internal/observability/metrics.js';
import { instrumentNotifier, instrumentPool, instrumentConfig } from '../../internal/observability/instrument.js';

/**
 * The notifier (docs/notifier.md): consumes events from Kafka (TASKD_KAFKA_BROKERS) or
 * the outbox, and delivers webhooks and email. Serves /healthz and /readyz on TASKD_ADDR.
 */
const config = loadProcessConfig('notifier');
const logger = createLogger({ name: 'notifier', level: config.TASKD_LOG_LEVEL });
const tracing = startTracing(config, { serviceName: 'taskd-notifier', logger });
runProcess(logger, async (signal) => {
  if (!config.TASKD_DATABASE_URL) throw new Error('invalid configuration: TASKD_DATABASE_URL is required');
  requireAuthBeyondLoopback(config, 'the notifier');
  const db = openPostgres(config.TASKD_DATABASE_URL, { max: config.TASKD_DATABASE_POOL, onError: (e) => logger.warn({ err: e.message }, 'postgres') });
  try {
    await migrateDb(db);
    const metrics = new Metrics({ process: 'notifier', parts: ['rpc', 'notifier', 'postgres', 'config'] });
    instrumentPool(metrics, db);
    const base = { logger, clock: systemClock, metrics };
    const edge = buildRpcEdge(base, config, { db, sharedLimits: false });
    const watcher = watchProcessConfig(logger, config, edgeLimitHandlers(edge));
    instrumentConfig(metrics, watcher);
    try {
      const role = notifierRole(base, db, config);
      instrumentNotifier(metrics, role.notifier);
      await Promise.all([serveRoles(base, config, [role], edge, signal), watcher.run(signal)]);
    } finally {
      await edge.close();
    }
  } finally {
    await tracing.shutdown();
    await db.close();
  }
});
