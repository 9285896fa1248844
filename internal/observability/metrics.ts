import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The parts a process plays; each registers its own metric families. A process exposes
 * the families of its parts only, so a scrape shows what that process can measure.
 */
export type MetricsPart = 'rpc' | 'api' | 'scheduler' | 'relay' | 'worker' | 'notifier' | 'postgres' | 'redis' | 'config';

/** Runs before each scrape to set gauges from live state; may be async (bounded by the scrape). */
export type Collector = () => void | Promise<void>;

const SECONDS_FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_SLOW = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Every Prometheus metric taskd exports, on the registry a process gives it (never the
 * global default). Names follow Prometheus conventions: `taskd_` prefix, base units
 * (seconds), `_total` counters. Families of parts the process does not play are created
 * but not registered, so code may record into them unconditionally and nothing shows.
 * docs/observability.md lists them with their labels.
 */
export class Metrics {
  readonly registry: Registry;
  private readonly collectors: Collector[] = [];

  // rpc: every process serving RPCs
  readonly rpcRequests: Counter<'service' | 'method' | 'code'>;
  readonly rpcDuration: Histogram<'service' | 'method'>;

  // api: apiservers
  readonly tasksSubmitted: Counter<'queue' | 'type'>;
  readonly workflowsSubmitted: Counter;

  // scheduler: the leader's dispatch, attempts and election
  readonly tasksDispatched: Counter<'queue' | 'type'>;
  readonly tasksCompleted: Counter<'queue' | 'type' | 'status'>;
  readonly taskRetries: Counter<'queue' | 'type' | 'reason'>;
  readonly tasksDeadLettered: Counter<'queue' | 'type'>;
  readonly attemptDuration: Histogram<'queue' | 'type' | 'outcome'>;
  readonly queueWait: Histogram<'queue'>;
  readonly queueDepth: Gauge<'queue'>;
  readonly queueOldestReadyAge: Gauge<'queue'>;
  readonly workersConnected: Gauge;
  readonly workerSlots: Gauge<'state'>;
  readonly leasesActive: Gauge;
  readonly leasesExpired: Counter<'reason'>;
  readonly leader: Gauge;
  readonly leaderEpoch: Gauge;
  readonly leaderElections: Counter;
  readonly leaderStalls: Counter;
  readonly scheduleFires: Counter<'outcome'>;

  // relay: the leader's outbox relay (and the outbox as the leader sees it)
  readonly outboxBacklog: Gauge;
  readonly outboxRelayLag: Gauge;
  readonly outboxPublished: Counter;
  readonly outboxLastPublish: Gauge;

  // worker: the SDK worker
  readonly workerAttempts: Counter<'type' | 'outcome'>;
  readonly workerAttemptDuration: Histogram<'type' | 'outcome'>;
  readonly workerConnected: Gauge;
  readonly workerBusySlots: Gauge;
  readonly workerFreeSlots: Gauge;
  readonly workerReconnects: Counter;

  // notifier
  readonly notifierDeliveries: Counter<'channel' | 'result'>;
  readonly notifierDeliveryDuration: Histogram<'channel'>;
  readonly notifierEvents: Counter<'source'>;

  // postgres, redis
  readonly pgPoolConnections: Gauge<'state'>;
  readonly pgPoolWaiting: Gauge;
  readonly redisCommandDuration: Histogram<'command' | 'result'>;

  // config
  readonly configReloads: Counter<'result'>;
  readonly configLastReload: Gauge;

  constructor(opts: { registry?: Registry; parts: MetricsPart[]; process: string; defaultMetrics?: boolean }) {
    const reg = opts.registry ?? new Registry();
    this.registry = reg;
    const parts = new Set(opts.parts);
    const on = (part: MetricsPart): Registry[] => (parts.has(part) ? [reg] : []);

    new Gauge({ name: 'taskd_build_info', help: 'Always 1; labels name the process and version.', labelNames: ['process', 'version'], registers: [reg] })
      .set({ process: opts.process, version: VERSION }, 1);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: reg });

    const rpc = on('rpc');
    this.rpcRequests = new Counter({ name: 'taskd_rpc_requests_total', help: 'RPCs handled, by service, method and gRPC code (streams count when they end).', labelNames: ['service', 'method', 'code'], registers: rpc });
    this.rpcDuration = new Histogram({ name: 'taskd_rpc_duration_seconds', help: 'Time to answer a unary RPC.', labelNames: ['service', 'method'], buckets: SECONDS_FAST, registers: rpc });

    const api = on('api');
    this.tasksSubmitted = new Counter({ name: 'taskd_tasks_submitted_total', help: 'Tasks created by submissions (SubmitTask, SubmitTasks; idempotent repeats excluded).', labelNames: ['queue', 'type'], registers: api });
    this.workflowsSubmitted = new Counter({ name: 'taskd_workflows_submitted_total', help: 'Workflows created.', registers: api });

    const s = on('scheduler');
    this.tasksDispatched = new Counter({ name: 'taskd_tasks_dispatched_total', help: 'Attempts assigned to workers by this leader.', labelNames: ['queue', 'type'], registers: s });
    this.tasksCompleted = new Counter({ name: 'taskd_tasks_completed_total', help: 'Tasks that reached an end state through an attempt (succeeded, failed, dead_lettered).', labelNames: ['queue', 'type', 'status'], registers: s });
    this.taskRetries = new Counter({ name: 'taskd_task_retries_total', help: 'Failed attempts followed by another attempt, by failure kind.', labelNames: ['queue', 'type', 'reason'], registers: s });
    this.tasksDeadLettered = new Counter({ name: 'taskd_tasks_dead_lettered_total', help: 'Tasks moved to the dead-letter queue (retries exhausted).', labelNames: ['queue', 'type'], registers: s });
    this.attemptDuration = new Histogram({ name: 'taskd_attempt_duration_seconds', help: 'From assignment to the applied result, as the leader saw it.', labelNames: ['queue', 'type', 'outcome'], buckets: SECONDS_SLOW, registers: s });
    this.queueWait = new Histogram({ name: 'taskd_queue_wait_seconds', help: 'From ready (queued) to dispatch.', labelNames: ['queue'], buckets: SECONDS_SLOW, registers: s });
    this.queueDepth = new Gauge({ name: 'taskd_queue_depth', help: 'Ready (QUEUED) tasks per queue; exported by the leader only.', labelNames: ['queue'], registers: s });
    this.queueOldestReadyAge = new Gauge({ name: 'taskd_queue_oldest_ready_age_seconds', help: 'Age of the oldest ready task per queue; leader only.', labelNames: ['queue'], registers: s });
    this.workersConnected = new Gauge({ name: 'taskd_workers_connected', help: 'Worker streams attached to this leader.', registers: s });
    this.workerSlots = new Gauge({ name: 'taskd_worker_slots', help: 'Slots of attached workers: busy (running attempts) and free (granted credit).', labelNames: ['state'], registers: s });
    this.leasesActive = new Gauge({ name: 'taskd_leases_active', help: 'Running attempts whose lease this leader holds.', registers: s });
    this.leasesExpired = new Counter({ name: 'taskd_leases_expired_total', help: 'Attempts ended by the leader: lease lapsed (worker_lost) or timeout.', labelNames: ['reason'], registers: s });
    this.leader = new Gauge({ name: 'taskd_leader', help: '1 while this scheduler leads, else 0.', registers: s });
    this.leaderEpoch = new Gauge({ name: 'taskd_leader_epoch', help: 'Epoch of the term this scheduler leads or last led (0: never).', registers: s });
    this.leaderElections = new Counter({ name: 'taskd_leader_elections_total', help: 'Terms this scheduler won.', registers: s });
    this.leaderStalls = new Counter({ name: 'taskd_leader_stalls_total', help: 'Stalls of the leader process long enough to move lease clocks.', registers: s });
    this.scheduleFires = new Counter({ name: 'taskd_schedule_fires_total', help: 'Cron schedule fires by outcome (fired, skipped).', labelNames: ['outcome'], registers: s });

    const relay = on('relay');
    this.outboxBacklog = new Gauge({ name: 'taskd_outbox_backlog', help: 'Outbox events not yet published to Kafka.', registers: relay });
    this.outboxRelayLag = new Gauge({ name: 'taskd_outbox_relay_lag_seconds', help: 'Age of the oldest unpublished outbox event (0 when none).', registers: relay });
    this.outboxPublished = new Counter({ name: 'taskd_outbox_published_total', help: 'Outbox events published to Kafka by this process.', registers: relay });
    this.outboxLastPublish = new Gauge({ name: 'taskd_outbox_last_publish_timestamp_seconds', help: 'When this process last published a batch (Unix time; 0: never).', registers: relay });

    const w = on('worker');
    this.workerAttempts = new Counter({ name: 'taskd_worker_attempts_total', help: 'Attempts this worker ran, by outcome (succeeded, failed, cancelled).', labelNames: ['type', 'outcome'], registers: w });
    this.workerAttemptDuration = new Histogram({ name: 'taskd_worker_attempt_duration_seconds', help: "Handler run time in this worker.", labelNames: ['type', 'outcome'], buckets: SECONDS_SLOW, registers: w });
    this.workerConnected = new Gauge({ name: 'taskd_worker_connected', help: '1 while a leader has welcomed this worker.', registers: w });
    this.workerBusySlots = new Gauge({ name: 'taskd_worker_busy_slots', help: 'Attempts running in this worker.', registers: w });
    this.workerFreeSlots = new Gauge({ name: 'taskd_worker_free_slots', help: 'Slots of this worker not running an attempt.', registers: w });
    this.workerReconnects = new Counter({ name: 'taskd_worker_reconnects_total', help: 'Streams to a scheduler this worker opened after the first.', registers: w });

    const n = on('notifier');
    this.notifierDeliveries = new Counter({ name: 'taskd_notifier_deliveries_total', help: 'Delivery attempts by channel (webhook, email) and result (delivered, retry, failed).', labelNames: ['channel', 'result'], registers: n });
    this.notifierDeliveryDuration = new Histogram({ name: 'taskd_notifier_delivery_duration_seconds', help: 'Time of one delivery attempt.', labelNames: ['channel'], buckets: SECONDS_FAST, registers: n });
    this.notifierEvents = new Counter({ name: 'taskd_notifier_events_total', help: 'Events the notifier consumed, by source (kafka, outbox).', labelNames: ['source'], registers: n });

    const p = on('postgres');
    this.pgPoolConnections = new Gauge({ name: 'taskd_pg_pool_connections', help: 'Postgres pool connections by state (idle, busy).', labelNames: ['state'], registers: p });
    this.pgPoolWaiting = new Gauge({ name: 'taskd_pg_pool_waiting', help: 'Queries waiting for a pool connection.', registers: p });
    this.redisCommandDuration = new Histogram({ name: 'taskd_redis_command_duration_seconds', help: 'Round trips of Redis commands taskd issues, by command and result (ok, error).', labelNames: ['command', 'result'], buckets: SECONDS_FAST, registers: on('redis') });

    const c = on('config');
    this.configReloads = new Counter({ name: 'taskd_config_reloads_total', help: 'Config file reloads by result (applied, rejected).', labelNames: ['result'], registers: c });
    this.configLastReload = new Gauge({ name: 'taskd_config_last_reload_success_timestamp_seconds', help: 'When the config was last loaded successfully (Unix time).', registers: c });
    this.configLastReload.set(Date.now() / 1000);

    // Series of closed label sets exist from the start at 0, so rates and alerts on them
    // see a first increase instead of a series appearing out of nowhere.
    for (const result of ['applied', 'rejected']) this.configReloads.inc({ result }, 0);
    for (const outcome of ['fired', 'skipped']) this.scheduleFires.inc({ outcome }, 0);
    for (const reason of ['worker_lost', 'timeout']) this.leasesExpired.inc({ reason }, 0);
    for (const channel of ['webhook', 'email']) {
      for (const result of ['delivered', 'retry', 'failed']) this.notifierDeliveries.inc({ channel, result }, 0);
    }
  }

  /** Adds a collector run before every scrape (to set gauges from live state). */
  collect(fn: Collector): void {
    this.collectors.push(fn);
  }

  /**
   * The Prometheus text exposition: runs the collectors (each bounded by `timeoutMs`;
   * one that fails or is late leaves its gauges as they were), then renders the registry.
   */
  async scrape(timeoutMs = 5_000): Promise<string> {
    await Promise.all(this.collectors.map((fn) => withTimeout(Promise.resolve().then(fn), timeoutMs).catch(() => undefined)));
    return this.registry.metrics();
  }

  /** Content-Type of {@link scrape}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** taskd's version, for taskd_build_info. */
export const VERSION = '0.1.0';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`collector took over ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Seconds since `startMs` (monotonic ms), for histograms. */
export function secondsSince(startMs: number, nowMs: number): number {
  return Math.max(0, (nowMs - startMs) / 1000);
}
