import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { TaskService } from '../gen/taskd/v1/task_service_pb.js';
import { freePort, spawnTaskd, type LogLine, type TaskdProcess } from './procs.js';

/** Settings tests shrink so failover and lease expiry happen in a couple of seconds. */
export const FAST_TIMINGS: Record<string, string> = {
  TASKD_LOCK_TTL_MS: '2000',
  TASKD_LOCK_RENEW_MS: '500',
  TASKD_LEASE_TTL_MS: '2000',
  TASKD_HEARTBEAT_MS: '500',
  TASKD_POLL_MS: '200',
};

export interface ClusterOptions {
  pgUrl: string;
  redisUrl: string;
  redisPrefix: string;
  apiservers?: number;
  schedulers?: number;
  workers?: number;
  slots?: number;
  /** TASKD_* settings for every process (defaults: FAST_TIMINGS). */
  env?: Record<string, string>;
  /** Authentication: none by default (every process on loopback, anonymous). */
  auth?: ClusterAuth;
  /** Kafka for the schedulers' outbox relay; none by default (no relay). */
  kafka?: ClusterKafka;
}

/** The Kafka a {@link Cluster}'s schedulers relay the outbox to. */
export interface ClusterKafka {
  /** Bootstrap address (testEnv().kafkaBrokers). */
  brokers: string;
  /**
   * More TASKD_KAFKA_* / TASKD_RELAY_* / TASKD_EVENTS_* settings of schedulers, over
   * replication 1 and 3 partitions (one test broker). Give each test its own topics.
   */
  env?: Record<string, string>;
}

/** Authentication of a {@link Cluster}. */
export interface ClusterAuth {
  /** TASKD_AUTH_* (and limit) settings of apiservers and schedulers; workers do not get them. */
  env: Record<string, string>;
  /** TASKD_WORKER_TOKEN of workers started without one of their own. */
  workerToken?: string;
}

/** A JSON log line with `msg` equal to `msg` (and every field of `fields`). */
export const logMsg = (msg: string, fields: Record<string, unknown> = {}) => (l: LogLine): boolean =>
  typeof l === 'object' && l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v);

interface Member {
  proc: TaskdProcess;
  addr: string;
}

/**
 * A real multi-process taskd on loopback: apiservers, schedulers and workers as
 * separate `node` processes against the given Postgres and Redis.
 */
export class Cluster {
  readonly apiservers: Member[] = [];
  readonly schedulers: Member[] = [];
  readonly workers: TaskdProcess[] = [];
  readonly notifiers: TaskdProcess[] = [];
  readonly sql: pg.Pool;
  private schedulerPorts: number[] = [];
  private seq = 0;

  private constructor(readonly opts: ClusterOptions) {
    this.sql = new pg.Pool({ connectionString: opts.pgUrl, max: 4 });
    // Tests restart Postgres on purpose: an idle client's lost connection is not a failure.
    this.sql.on('error', () => undefined);
  }

  /** Starts schedulers first (the first becomes leader), then apiservers and workers. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    const n = opts.schedulers ?? 2;
    for (let i = 0; i < n; i++) c.schedulerPorts.push(await freePort());
    for (let i = 0; i < n; i++) {
      await c.startScheduler(i);
      if (i === 0) await (c.schedulers[0] as Member).proc.waitForLog(logMsg('became leader'), 30_000);
    }
    for (let i = 0; i < (opts.apiservers ?? 1); i++) await c.startApiserver();
    await Promise.all(Array.from({ length: opts.workers ?? 2 }, () => c.startWorker()));
    return c;
  }

  get schedulerAddrs(): string[] {
    return this.schedulerPorts.map((p) => `http://127.0.0.1:${p}`);
  }

  /** The first apiserver's base URL. */
  get apiUrl(): string {
    return `http://${(this.apiservers[0] as Member).addr}`;
  }

  /** Environment shared by every process. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      TASKD_DATABASE_URL: this.opts.pgUrl,
      TASKD_REDIS_URL: this.opts.redisUrl,
      TASKD_REDIS_PREFIX: this.opts.redisPrefix,
      TASKD_SCHEDULER_ADDRS: this.schedulerAddrs.join(','),
      TASKD_LOG_LEVEL: 'info',
      ...(this.opts.env ?? FAST_TIMINGS),
      ...extra,
    };
  }

  /** (Re)starts scheduler `i` on its fixed port and waits until it listens. */
  async startScheduler(i: number): Promise<Member> {
    const port = this.schedulerPorts[i] as number;
    const kafka = this.opts.kafka
      ? { TASKD_KAFKA_BROKERS: this.opts.kafka.brokers, TASKD_KAFKA_REPLICATION: '1', TASKD_KAFKA_PARTITIONS: '3', ...this.opts.kafka.env }
      : {};
    const proc = spawnTaskd(`scheduler-${i}`, 'cmd/scheduler/main.ts', this.env({ ...this.opts.auth?.env, ...kafka, TASKD_ADDR: `127.0.0.1:${port}` }));
    await proc.waitForLog(logMsg('listening'), 30_000);
    const m = { proc, addr: `127.0.0.1:${port}` };
    this.schedulers[i] = m;
    return m;
  }

  async startApiserver(): Promise<Member> {
    const port = await freePort();
    const proc = spawnTaskd(`apiserver-${this.apiservers.length}`, 'cmd/apiserver/main.ts', this.env({ ...this.opts.auth?.env, TASKD_ADDR: `127.0.0.1:${port}` }));
    await proc.waitForLog(logMsg('listening'), 30_000);
    const m = { proc, addr: `127.0.0.1:${port}` };
    this.apiservers.push(m);
    return m;
  }

  /**
   * Starts a notifier (cmd/notifier) with `extra` settings and waits until it runs; with
   * the cluster's Kafka (`kafka` option) it consumes the events topic, else the outbox.
   */
  async startNotifier(extra: Record<string, string> = {}): Promise<TaskdProcess> {
    const port = await freePort();
    const kafka = this.opts.kafka ? { TASKD_KAFKA_BROKERS: this.opts.kafka.brokers, ...this.opts.kafka.env } : {};
    const proc = spawnTaskd(`notifier-${this.seq++}`, 'cmd/notifier/main.ts', this.env({ ...this.opts.auth?.env, ...kafka, TASKD_ADDR: `127.0.0.1:${port}`, ...extra }));
    await proc.waitForLog(logMsg('notifier started'), 30_000);
    this.notifiers.push(proc);
    return proc;
  }

  /** Starts a worker (id `worker-<n>`) and waits until a leader welcomed it. */
  async startWorker(extra: Record<string, string> = {}): Promise<TaskdProcess> {
    const id = `worker-${this.seq++}`;
    const proc = spawnTaskd(id, 'cmd/worker/main.ts', this.env({
      TASKD_WORKER_ID: id, TASKD_WORKER_SLOTS: String(this.opts.slots ?? 4),
      ...(this.opts.auth?.workerToken ? { TASKD_WORKER_TOKEN: this.opts.auth.workerToken } : {}), ...extra,
    }));
    await proc.waitForLog(logMsg('worker connected'), 30_000);
    this.workers.push(proc);
    return proc;
  }

  /** Index of the scheduler that reports itself leader on /readyz, or -1. */
  async leaderIndex(): Promise<number> {
    for (const [i, s] of this.schedulers.entries()) {
      try {
        const r = await fetch(`http://${s.addr}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (((await r.json()) as { leader?: boolean }).leader) return i;
      } catch {
        // down or frozen: not the leader
      }
    }
    return -1;
  }

  /** A TaskService client over gRPC (HTTP/2) to the first apiserver; with `token`, sent as a bearer credential. */
  client(token?: string): Client<typeof TaskService> {
    return createClient(TaskService, this.transport(token));
  }

  /** A gRPC (HTTP/2) transport to the first apiserver (or `baseUrl`); with `token`, sent as a bearer credential. */
  transport(token?: string, baseUrl = this.apiUrl): Transport {
    const interceptors: Interceptor[] = token === undefined ? [] : [(next) => (req) => {
      req.header.set('authorization', `Bearer ${token}`);
      return next(req);
    }];
    return createGrpcTransport({ baseUrl, interceptors });
  }

  /** Status counts of all tasks, straight from Postgres. */
  async statusCounts(): Promise<Record<string, number>> {
    const r = await this.sql.query<{ status: string; n: string }>('select status, count(*) n from tasks group by status');
    return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
  }

  /** Waits until `count` tasks are in a terminal state (polling Postgres every 100 ms). */
  async waitTerminal(count: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.sql.query<{ n: string }>(
        "select count(*) n from tasks where status in ('SUCCEEDED','FAILED','DEAD_LETTERED','CANCELLED','SKIPPED')",
      );
      if (Number(r.rows[0]?.n) >= count) return;
      if (Date.now() > until) throw new Error(`only ${r.rows[0]?.n} of ${count} tasks ended within ${timeoutMs} ms: ${JSON.stringify(await this.statusCounts())}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  async close(): Promise<void> {
    await this.sql.end();
  }
}
