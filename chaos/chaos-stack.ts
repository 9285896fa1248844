import { randomBytes } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import type pg from 'pg';
import { TaskService } from '../gen/taskd/v1/task_service_pb.js';
import { Cluster, FAST_TIMINGS, logMsg } from '../test/cluster.js';
import { freePort, reapAll, spawnTaskd, type TaskdProcess } from '../test/procs.js';
import { LeadershipLog } from './leadership-log.js';
import { saveOutput } from './log-tap.js';
import type { TaskClient } from './load.js';
import type { Servers } from './servers.js';

/** Process counts of a chaos stack. */
export interface StackShape {
  apiservers: number;
  schedulers: number;
  workers: number;
  /** Slots per worker. */
  slots: number;
}

/** 2 apiservers, 3 schedulers, 3 workers of 8 slots. */
export const DEFAULT_SHAPE: StackShape = { apiservers: 2, schedulers: 3, workers: 3, slots: 8 };

/** Lock TTL 2 s (renewed every 500 ms), lease TTL 2 s, heartbeat 500 ms, poll 200 ms. */
export const CHAOS_TIMINGS: Record<string, string> = { ...FAST_TIMINGS };

const START_MS = 30_000;

/**
 * The multi-process taskd under test: schedulers on fixed ports (test/cluster.ts),
 * apiservers on fixed ports of their own so clients reach a restarted one at the same
 * address, and workers with fixed ids. Knows which processes it killed on purpose;
 * any other exit is recorded as unexpected.
 */
export class ChaosStack {
  readonly leadership = new LeadershipLog();
  /** Processes that exited without being killed by the harness, with their last output. */
  readonly unexpectedExits: string[] = [];
  private readonly killed = new WeakSet<TaskdProcess>();
  private readonly dead = new WeakSet<TaskdProcess>();
  private readonly apis: TaskdProcess[] = [];
  private readonly clients: TaskClient[] = [];
  private stopping = false;

  private constructor(
    readonly cluster: Cluster,
    private readonly apiPorts: number[],
    private readonly workerProcs: TaskdProcess[],
    /** Where every process's output is copied, one file per process. */
    readonly logDir: string,
  ) {}

  /**
   * Starts schedulers (the first leads), apiservers and workers, copying their output
   * into `logDir`; throws (after killing what started) if one does not come up.
   */
  static async start(servers: Servers, shape: StackShape, logDir: string): Promise<ChaosStack> {
    try {
      const cluster = await Cluster.start({
        pgUrl: servers.pgUrl, redisUrl: servers.redisUrl, redisPrefix: servers.redisPrefix ?? `chaos${randomBytes(4).toString('hex')}:`,
        apiservers: 0, schedulers: shape.schedulers, workers: shape.workers, slots: shape.slots, env: CHAOS_TIMINGS,
      });
      // A Postgres restart drops idle pooled connections; unhandled, that 'error' would end this process.
      cluster.sql.on('error', () => undefined);
      const ports = await Promise.all(Array.from({ length: shape.apiservers }, () => freePort()));
      // Cluster.start lists workers in the order they connected; index i must be the one with id worker-<i>.
      const workers = Array.from({ length: shape.workers }, (_, i) => cluster.workers.find((p) => p.name === `worker-${i}`) as TaskdProcess);
      const stack = new ChaosStack(cluster, ports, workers, logDir);
      cluster.schedulers.forEach((m, i) => stack.watchScheduler(m.proc, i));
      stack.workerProcs.forEach((p) => stack.watch(p));
      for (let i = 0; i < shape.apiservers; i++) await stack.startApiserver(i);
      return stack;
    } catch (e) {
      await reapAll();
      throw e;
    }
  }

  /** The Postgres pool the harness reads through (max 4 connections). */
  get sql(): pg.Pool {
    return this.cluster.sql;
  }

  /** Schedulers, apiservers and workers in the stack (fixed for its life). */
  get schedulerCount(): number {
    return this.cluster.schedulers.length;
  }

  get workerCount(): number {
    return this.workerProcs.length;
  }

  get apiserverCount(): number {
    return this.apiPorts.length;
  }

  /** The TaskService client of apiserver `i` (replaced when it restarts). */
  client(i: number): TaskClient {
    return this.clients[i] as TaskClient;
  }

  /** Index of the scheduler whose /readyz says it leads, or -1 (a frozen one never answers). */
  leaderIndex(): Promise<number> {
    return this.cluster.leaderIndex();
  }

  /** The current process of scheduler `i` (a new one after each restart). */
  scheduler(i: number): TaskdProcess {
    return (this.cluster.schedulers[i] as { proc: TaskdProcess }).proc;
  }

  /** The current process of worker `i`. */
  worker(i: number): TaskdProcess {
    return this.workerProcs[i] as TaskdProcess;
  }

  /** The current process of apiserver `i`. */
  apiserver(i: number): TaskdProcess {
    return this.apis[i] as TaskdProcess;
  }

  /** SIGKILLs `proc` (counted as intended, not as a crash) and resolves once it has exited. */
  async kill9(proc: TaskdProcess): Promise<void> {
    this.killed.add(proc);
    proc.cont();
    proc.kill9();
    await proc.exited;
  }

  /** (Re)starts scheduler `i` on its fixed port and waits until it listens. */
  async startScheduler(i: number): Promise<void> {
    const m = await this.cluster.startScheduler(i);
    this.watchScheduler(m.proc, i);
  }

  /** (Re)starts worker `i` under its fixed id (`worker-<i>`) and waits until a leader welcomed it. */
  async startWorker(i: number): Promise<void> {
    const p = await this.cluster.startWorker({ TASKD_WORKER_ID: `worker-${i}` });
    this.workerProcs[i] = p;
    this.watch(p);
  }

  /** (Re)starts apiserver `i` on its fixed port, waits until it listens, and gives it a fresh client. */
  async startApiserver(i: number): Promise<void> {
    const addr = `127.0.0.1:${this.apiPorts[i] as number}`;
    const proc = spawnTaskd(`apiserver-${i}`, 'cmd/apiserver/main.ts', this.cluster.env({ TASKD_ADDR: addr }));
    this.watch(proc);
    await proc.waitForLog(logMsg('listening'), START_MS);
    this.apis[i] = proc;
    this.clients[i] = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${addr}` }));
  }

  /** Restarts every process that is no longer running (killed and not restarted, or crashed). */
  async heal(): Promise<void> {
    for (let i = 0; i < this.schedulerCount; i++) if (this.dead.has(this.scheduler(i))) await this.startScheduler(i);
    for (let i = 0; i < this.apiserverCount; i++) if (this.dead.has(this.apiserver(i))) await this.startApiserver(i);
    for (let i = 0; i < this.workerCount; i++) if (this.dead.has(this.worker(i))) await this.startWorker(i);
  }

  /** Kills every taskd process (SIGCONT, then SIGKILL) and closes the pool. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    await reapAll();
    await this.cluster.sql.end().catch(() => undefined);
  }

  private watchScheduler(proc: TaskdProcess, i: number): void {
    this.leadership.tap(proc, i);
    this.watch(proc);
  }

  private watch(proc: TaskdProcess): void {
    saveOutput(proc, this.logDir);
    void proc.exited.then((st) => {
      this.dead.add(proc);
      if (this.stopping || this.killed.has(proc)) return;
      const tail = proc.output().slice(-15).join('\n');
      this.unexpectedExits.push(`${proc.name} (pid ${proc.pid}) exited by itself (code ${st.code}, signal ${st.signal}); its last output:\n${tail}`);
    });
  }
}
