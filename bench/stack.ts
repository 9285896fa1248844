import { randomBytes } from 'node:crypto';
import { Cluster } from '../test/cluster.js';
import { reapAll, type TaskdProcess } from '../test/procs.js';
import type { EventsSetting } from './args.js';
import type { BenchServers } from './servers.js';

/** Worker processes every mode ends up with. */
export const WORKERS = 2;

/** A taskd process the bench watches, by role. */
export interface NamedPid {
  name: string;
  pid: number;
}

/**
 * One mode's taskd: its own database and Redis prefix on the bench servers, and
 * 1 apiserver, 1 scheduler and `workers` workers of `slots` slots each, with
 * taskd's default settings (not the shortened test timings).
 */
export class BenchStack {
  private died: string | undefined;
  private stopping = false;

  private constructor(readonly cluster: Cluster, readonly dbUrl: string) {
    for (const p of this.all()) this.watch(p);
  }

  /**
   * Starts the stack; throws (after killing what started) if a process does not come up
   * within 30 s. `events` (--events): with `kafka` the scheduler relays the outbox to
   * the bench Kafka (topics of its own); with `off` the tasks' event triggers are
   * disabled before any task exists.
   */
  static async start(servers: BenchServers, p: { label: string; workers: number; slots: number; events: EventsSetting }): Promise<BenchStack> {
    const dbUrl = await servers.createDatabase(p.label);
    try {
      if (p.events === 'kafka' && !servers.kafka) throw new Error('--events kafka: the bench servers were started without Kafka');
      const topic = `bench.${p.label}.${randomBytes(3).toString('hex')}`;
      const cluster = await Cluster.start({
        pgUrl: dbUrl, redisUrl: servers.redis.url, redisPrefix: `bench${randomBytes(4).toString('hex')}:`,
        apiservers: 1, schedulers: 1, workers: p.workers, slots: p.slots, env: {},
        ...(p.events === 'kafka' && servers.kafka ? {
          kafka: { brokers: servers.kafka.brokers, env: { TASKD_KAFKA_EVENTS_TOPIC: `${topic}.events`, TASKD_KAFKA_DEAD_LETTERS_TOPIC: `${topic}.dead-letters` } },
        } : {}),
      });
      // The scheduler has migrated the database by now; no task exists yet.
      if (p.events === 'off') await cluster.sql.query('alter table tasks disable trigger tasks_events_insert, disable trigger tasks_events_update');
      return new BenchStack(cluster, dbUrl);
    } catch (e) {
      await reapAll();
      throw e;
    }
  }

  /** Starts one more worker and waits until the leader welcomed it. */
  async startWorker(): Promise<TaskdProcess> {
    const p = await this.cluster.startWorker();
    this.watch(p);
    return p;
  }

  /** Why the stack is broken: the first taskd process that exited before {@link BenchStack.stop}, with its last output. */
  failure(): string | undefined {
    return this.died;
  }

  /** The taskd processes running now: apiserver, scheduler, workers. */
  processes(): NamedPid[] {
    return this.all().map((p) => ({ name: p.name, pid: p.pid }));
  }

  /** Kills every taskd process (SIGKILL) and closes the SQL pool. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    await reapAll();
    await this.cluster.sql.end().catch(() => undefined);
  }

  private all(): TaskdProcess[] {
    const c = this.cluster;
    return [...c.apiservers.map((m) => m.proc), ...c.schedulers.map((m) => m.proc), ...c.workers];
  }

  private watch(p: TaskdProcess): void {
    void p.exited.then((st) => {
      if (this.stopping || this.died !== undefined) return;
      const tail = p.output().slice(-20).join('\n');
      this.died = `${p.name} (pid ${p.pid}) exited (code ${st.code}, signal ${st.signal}); its last output:\n${tail}`;
    });
  }
}
