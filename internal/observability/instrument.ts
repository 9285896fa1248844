import type { ConfigWatcher } from '../config/config-watcher.js';
import type { OutboxRelay } from '../events/outbox-relay.js';
import type { Notifier } from '../notifier/notifier.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Worker } from '../sdk/worker.js';
import type { Db } from '../storage/db.js';
import { taskQueueStats } from '../storage/dispatch-store.js';
import type { Metrics } from './metrics.js';

/*
 * Metrics are recorded from the components' typed events and read from their state at
 * scrape time, so the components themselves know nothing of Prometheus: every number
 * here is something a test can also observe through the same events.
 */

/** Terminal statuses a finished attempt can leave its task in. */
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'DEAD_LETTERED']);

/**
 * A scheduler's metrics: leadership (gauge, epoch, elections, stalls), each term's
 * dispatches, queue waits, attempt ends (completions, retries, dead letters, durations),
 * lease expiries and schedule fires; at scrape time, on the leader, the connected
 * workers and their slots, the live leases, and each queue's depth and oldest ready age
 * (one bounded query; a standby exports no queue gauges, so sums across instances hold).
 */
export function instrumentScheduler(m: Metrics, scheduler: Scheduler, db: Db): void {
  scheduler.elector.on('leader', ({ epoch }) => {
    m.leader.set(1);
    m.leaderEpoch.set(epoch);
    m.leaderElections.inc();
  });
  scheduler.elector.on('follower', () => m.leader.set(0));
  m.leader.set(0);
  scheduler.on('term', ({ dispatcher, runner }) => {
    dispatcher.on('assigned', (a) => {
      if (a.redelivered) return;
      m.tasksDispatched.inc({ queue: a.queue, type: a.type });
      m.queueWait.observe({ queue: a.queue }, a.waitedMs / 1000);
    });
    const keeper = dispatcher.keeper;
    keeper.on('finished', (f) => {
      const labels = { queue: f.queue, type: f.type };
      const outcome = f.errorKind === null ? 'succeeded' : 'failed';
      m.attemptDuration.observe({ ...labels, outcome }, f.durationMs / 1000);
      if (TERMINAL.has(f.status)) m.tasksCompleted.inc({ ...labels, status: f.status.toLowerCase() });
      else m.taskRetries.inc({ ...labels, reason: f.errorKind ?? 'unknown' });
      if (f.status === 'DEAD_LETTERED') m.tasksDeadLettered.inc(labels);
    });
    keeper.on('lapsed', (l) => m.leasesExpired.inc({ reason: l.why }));
    keeper.on('stalled', () => m.leaderStalls.inc());
    runner.on('fire', (f) => {
      if (f.recorded) m.scheduleFires.inc({ outcome: f.skippedReason === null ? 'fired' : 'skipped' });
    });
  });

  const knownQueues = new Set<string>();
  m.collect(async () => {
    const active = scheduler.active();
    if (!active) {
      m.workersConnected.set(0);
      m.workerSlots.reset();
      m.leasesActive.set(0);
      m.queueDepth.reset();
      m.queueOldestReadyAge.reset();
      knownQueues.clear();
      return;
    }
    const { workers, leases } = active.describe();
    m.workersConnected.set(workers.length);
    m.workerSlots.set({ state: 'busy' }, workers.reduce((n, w) => n + w.running, 0));
    m.workerSlots.set({ state: 'free' }, workers.reduce((n, w) => n + Math.max(0, w.credits), 0));
    m.leasesActive.set(leases);
    const stats = await taskQueueStats(db, { timeoutMs: 4_000 });
    // A queue that emptied shows 0 rather than vanishing, so rates and the HPA see it drain.
    const seen = new Set<string>();
    for (const s of stats) {
      seen.add(s.queue);
      knownQueues.add(s.queue);
      m.queueDepth.set({ queue: s.queue }, s.ready);
      m.queueOldestReadyAge.set({ queue: s.queue }, s.oldestReadyMs / 1000);
    }
    for (const q of knownQueues) {
      if (seen.has(q)) continue;
      m.queueDepth.set({ queue: q }, 0);
      m.queueOldestReadyAge.set({ queue: q }, 0);
    }
  });
}

/** The outbox relay's metrics: events published (per batch) and, at scrape time, backlog, lag and last publish. */
export function instrumentRelay(m: Metrics, relay: OutboxRelay): void {
  relay.on('batch', (b) => {
    m.outboxPublished.inc(b.rows);
    m.outboxLastPublish.set(Date.now() / 1000);
  });
  m.collect(async () => {
    const s = await relay.state();
    m.outboxBacklog.set(s.backlog);
    m.outboxRelayLag.set((s.oldestUnsentAgeMs ?? 0) / 1000);
  });
}

/** The notifier's metrics: deliveries by channel and result, their durations, events consumed by source. */
export function instrumentNotifier(m: Metrics, notifier: Notifier): void {
  notifier.loop.on('attempted', (d) => {
    const result = d.status === 'DELIVERED' ? 'delivered' : d.status === 'FAILED' ? 'failed' : 'retry';
    m.notifierDeliveries.inc({ channel: d.channel.toLowerCase(), result });
    m.notifierDeliveryDuration.observe({ channel: d.channel.toLowerCase() }, d.durationMs / 1000);
  });
  const source = notifier.input.kind;
  notifier.input.source.on('recorded', (r: { events: number }) => m.notifierEvents.inc({ source }, r.events));
}

/** A worker's metrics: attempts by type and outcome with durations, connection, reconnects; slots at scrape time. */
export function instrumentWorker(m: Metrics, worker: Worker): void {
  let connections = 0;
  worker.on('connected', () => {
    if (connections++ > 0) m.workerReconnects.inc();
  });
  worker.on('completed', (c) => {
    m.workerAttempts.inc({ type: c.type, outcome: c.outcome });
    m.workerAttemptDuration.observe({ type: c.type, outcome: c.outcome }, c.durationMs / 1000);
  });
  m.collect(() => {
    const s = worker.status;
    m.workerConnected.set(s.connected ? 1 : 0);
    m.workerBusySlots.set(s.running);
    m.workerFreeSlots.set(Math.max(0, s.slots - s.running));
  });
}

/** The Postgres pool's connections (busy, idle) and waiting queries, at scrape time. */
export function instrumentPool(m: Metrics, db: Db): void {
  m.collect(() => {
    const s = db.poolStats();
    m.pgPoolConnections.set({ state: 'idle' }, s.idle);
    m.pgPoolConnections.set({ state: 'busy' }, Math.max(0, s.total - s.idle));
    m.pgPoolWaiting.set(s.waiting);
  });
}

/** Config reloads by result, and when the config was last loaded successfully. */
export function instrumentConfig(m: Metrics, watcher: ConfigWatcher): void {
  watcher.on('reloaded', () => {
    m.configReloads.inc({ result: 'applied' });
    m.configLastReload.set(Date.now() / 1000);
  });
  watcher.on('rejected', () => m.configReloads.inc({ result: 'rejected' }));
}
