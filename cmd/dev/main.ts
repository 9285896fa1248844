import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { runProcess } from '../../internal/app/process.js';
import { apiserverRole, notifierRole, schedulerRole } from '../../internal/app/roles.js';
import { serveRoles } from '../../internal/app/serve.js';
import { internalCredential, buildRpcEdge } from '../../internal/app/rpc-edge.js';
import { authEnabled, parseHostPort } from '../../internal/config/config.js';
import { edgeLimitHandlers, loadProcessConfig, watchProcessConfig } from '../../internal/app/process-config.js';
import { MemoryLeaderLock } from '../../internal/coordination/memory-leader-lock.js';
import { MemoryPresence } from '../../internal/coordination/presence.js';
import { registerBuiltins, Worker } from '../../internal/sdk/index.js';
import { systemClock } from '../../internal/shared/clock.js';
import { createLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPglite } from '../../internal/storage/db.js';
import { startTracing } from '../../internal/observability/tracing.js';
import { Metrics } from '../../internal/observability/metrics.js';
import { instrumentNotifier, instrumentScheduler, instrumentWorker, instrumentConfig } from '../../internal/observability/instrument.js';

/**
 * The embedded default: apiserver, scheduler, notifier and a worker in one process, on PGlite
 * under TASKD_DATA_DIR and an in-process leader lock. The roles still talk over gRPC on
 * the one port, exactly as the multi-process stack does.
 */
const DEV_DEFAULTS = { TASKD_LOCK_TTL_MS: '3000', TASKD_LOCK_RENEW_MS: '500', TASKD_POLL_MS: '250' };
const config = loadProcessConfig('taskd-dev', DEV_DEFAULTS);
const logger = createLogger({ name: 'taskd-dev', level: config.TASKD_LOG_LEVEL });
const tracing = startTracing(config, { serviceName: 'taskd-dev', logger });
const { host, port } = parseHostPort(config.TASKD_ADDR);
if (!authEnabled(config) && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
  logger.fatal({ addr: config.TASKD_ADDR }, 'the embedded default runs without authentication and binds only to loopback; set TASKD_ADDR=127.0.0.1:PORT');
  process.exit(1);
}

runProcess(logger, async (signal) => {
  const dataDir = resolve(config.TASKD_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const db = await openPglite(dataDir);
  try {
    await migrateDb(db);
    const metrics = new Metrics({ process: 'dev', parts: ['rpc', 'api', 'scheduler', 'notifier', 'worker', 'config'] });
    const base = { logger, clock: systemClock, metrics };
    const self = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const devConfig = { ...config, TASKD_SCHEDULER_ADDRS: [self] };
    const edge = buildRpcEdge(base, devConfig, { db, sharedLimits: false });
    const scheduler = schedulerRole(base, db, { lock: new MemoryLeaderLock(systemClock), presence: new MemoryPresence() }, devConfig, self);
    // No relay runs here: the notifier reads the outbox.
    const notifier = notifierRole(base, db, devConfig, { outboxOnly: true });
    instrumentScheduler(metrics, scheduler.scheduler, db);
    instrumentNotifier(metrics, notifier.notifier);
    const roles = [scheduler, apiserverRole(base, db, devConfig, edge), notifier];
    // With authentication on, the in-process worker needs a credential like any other.
    const token = await internalCredential(config, systemClock, {
      role: 'worker', subject: 'dev-worker', fixed: config.TASKD_WORKER_TOKEN, fixedKey: 'TASKD_WORKER_TOKEN', ttlMs: 365 * 24 * 3600_000,
    }).token();
    const worker = new Worker({
      addresses: [self], workerId: 'dev-worker', slots: config.TASKD_WORKER_SLOTS, queues: config.TASKD_WORKER_QUEUES, logger, token,
    });
    registerBuiltins(worker);
    instrumentWorker(metrics, worker);
    worker.on('connected', (e) => logger.info({ leader: e.address, epoch: e.epoch }, 'worker connected'));
    const workerDone = new Promise<void>((r) => setImmediate(r)).then(() => worker.run(signal));
    const watcher = watchProcessConfig(logger, config, {
      ...edgeLimitHandlers(edge), TASKD_WORKER_SLOTS: (c) => worker.setSlots(c.TASKD_WORKER_SLOTS),
    }, DEV_DEFAULTS);
    instrumentConfig(metrics, watcher);
    const watching = watcher.run(signal);
    await serveRoles(base, devConfig, [...roles, { routes: () => {}, run: () => workerDone, readiness: async () => ({ worker: worker.status.connected }) }], edge, signal, (addr) => {
      process.stdout.write(
        `\ntaskd is running on http://${addr} (data in ${dataDir})\n` +
          `Submit a task:\n  curl -s -H 'content-type: application/json' -d '{"task":{"type":"noop","payload":{"hello":"world"}}}' http://${addr}/taskd.v1.TaskService/SubmitTask\n` +
          `Read it back:\n  curl -s -H 'content-type: application/json' -d '{"id":"<id>"}' http://${addr}/taskd.v1.TaskService/GetTask\n\n`,
      );
    });
    await watching;
    await edge.close();
  } finally {
    await tracing.shutdown();
    await db.close();
  }
});
