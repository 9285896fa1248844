import { loadProcessConfig, watchProcessConfig } from '../../internal/app/process-config.js';
import { registerBuiltins, startHealthServer, Worker, workerReadiness } from '../../internal/sdk/index.js';
import { createLogger } from '../../internal/shared/logger.js';
import { startTracing } from '../../internal/observability/tracing.js';
import { Metrics } from '../../internal/observability/metrics.js';
import { instrumentWorker, instrumentConfig } from '../../internal/observability/instrument.js';

const config = loadProcessConfig('worker');
const logger = createLogger({ name: 'worker', level: config.TASKD_LOG_LEVEL });
const tracing = startTracing(config, { serviceName: 'taskd-worker', logger });

const worker = new Worker({
  addresses: config.TASKD_SCHEDULER_ADDRS,
  workerId: config.TASKD_WORKER_ID,
  queues: config.TASKD_WORKER_QUEUES,
  slots: config.TASKD_WORKER_SLOTS,
  // A JWT or API key with the worker role; the worker receives tasks of its namespaces only.
  token: config.TASKD_WORKER_TOKEN,
  logger,
});
registerBuiltins(worker);
const metrics = new Metrics({ process: 'worker', parts: ['worker', 'config'] });
instrumentWorker(metrics, worker);
worker.on('connected', (e) => logger.info({ leader: e.address, epoch: e.epoch, sessionId: e.sessionId }, 'worker connected'));

const health = await startHealthServer(config.TASKD_WORKER_HEALTH_ADDR, () => workerReadiness(worker.status), metrics);
logger.info({ health: health.address, workerId: worker.id }, 'worker listening');

const stop = new AbortController();
const onSignal = (sig: NodeJS.Signals): void => {
  if (stop.signal.aborted) {
    logger.warn({ signal: sig }, 'second signal: exiting now');
    process.exit(1);
  }
  logger.info({ signal: sig }, 'draining');
  stop.abort();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

const watcher = watchProcessConfig(logger, config, { TASKD_WORKER_SLOTS: (c) => worker.setSlots(c.TASKD_WORKER_SLOTS) });
instrumentConfig(metrics, watcher);
await Promise.all([worker.run(stop.signal), watcher.run(stop.signal)]);
await health.close();
// After the last result went out: its execute span is among those flushed.
await tracing.shutdown();
logger.info('worker stopped');
