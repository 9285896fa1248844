import { apiserverRole } from '../../internal/app/roles.js';
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
import { instrumentPool, instrumentConfig } from '../../internal/observability/instrument.js';

const config = loadProcessConfig('apiserver');
const logger = createLogger({ name: 'apiserver', level: config.TASKD_LOG_LEVEL });
const tracing = startTracing(config, { serviceName: 'taskd-apiserver', logger });
runProcess(logger, async (signal) => {
  if (!config.TASKD_DATABASE_URL) throw new Error('invalid configuration: TASKD_DATABASE_URL is required');
  requireAuthBeyondLoopback(config, 'the apiserver');
  const db = openPostgres(config.TASKD_DATABASE_URL, { max: config.TASKD_DATABASE_POOL, onError: (e) => logger.warn({ err: e.message }, 'postgres') });
  try {
    await migrateDb(db);
    const metrics = new Metrics({ process: 'apiserver', parts: ['rpc', 'api', 'postgres', 'config'] });
    instrumentPool(metrics, db);
    const base = { logger, clock: systemClock, metrics };
    const edge = buildRpcEdge(base, config, { db, sharedLimits: true });
    const watcher = watchProcessConfig(logger, config, edgeLimitHandlers(edge));
    instrumentConfig(metrics, watcher);
    try {
      await Promise.all([serveRoles(base, config, [apiserverRole(base, db, config, edge)], edge, signal), watcher.run(signal)]);
    } finally {
      await edge.close();
    }
  } finally {
    await tracing.shutdown();
    await db.close();
  }
});
