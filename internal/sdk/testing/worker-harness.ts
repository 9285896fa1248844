import { aborted } from '../../shared/sleep.js';
import type { TaskContext } from '../task-context.js';
import { Worker } from '../worker.js';
import type { WorkerOptions } from '../worker-options.js';
import { FakeScheduler, type FakeConnection } from './fake-scheduler.js';
import { deferred, type Deferred } from './test-helpers.js';

/** A running worker under test. */
export interface WorkerUnderTest {
  worker: Worker;
  run: Promise<void>;
  stop: AbortController;
}

/**
 * Per-test fixture: a fake scheduler, workers started against it, and a teardown that
 * stops every worker (acknowledging what they report so drains end at once), awaits
 * every `run()` and closes every scheduler.
 */
export class WorkerHarness {
  scheduler!: FakeScheduler;
  private cleanups: Array<() => Promise<void>> = [];

  async setup(): Promise<void> {
    this.scheduler = await this.startScheduler();
  }

  async teardown(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c();
  }

  /** Another fake scheduler, closed at teardown. */
  async startScheduler(port = 0): Promise<FakeScheduler> {
    const s = await FakeScheduler.start(port);
    this.cleanups.push(() => s.close());
    return s;
  }

  /** Starts a worker (fast backoff, short drain) against the harness scheduler unless `addresses` says otherwise. */
  startWorker(opts: Partial<WorkerOptions>, setup: (w: Worker) => void): WorkerUnderTest {
    const worker = new Worker({
      addresses: [this.scheduler.address],
      slots: 2,
      backoff: { initialMs: 5, maxMs: 50, multiplier: 2, jitter: 1 },
      drainTimeoutMs: 2_000,
      shutdownGraceMs: 500,
      closeGraceMs: 500,
      ...opts,
    });
    setup(worker);
    const stop = new AbortController();
    const run = worker.run(stop.signal);
    this.cleanups.push(async () => {
      this.scheduler.autoAckResults();
      stop.abort();
      await run;
    });
    return { worker, run, stop };
  }

  /** The next stream to `sched`, welcomed. */
  async welcomed(opts: { heartbeatMs?: number; epoch?: number } = {}, sched = this.scheduler): Promise<FakeConnection> {
    const conn = await sched.nextConnection();
    conn.welcome(opts);
    return conn;
  }
}

/** A handler that waits for its task's gate (or its signal) and returns the gate's value. */
export function gated(gates: Map<string, Deferred<string>>): (ctx: TaskContext) => Promise<string> {
  return async (ctx) => {
    const gate = gates.get(ctx.taskId) ?? deferred<string>();
    gates.set(ctx.taskId, gate);
    await Promise.race([gate.promise, aborted(ctx.signal)]);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return gate.promise;
  };
}
