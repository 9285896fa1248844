import { sleep } from '../internal/shared/sleep.js';
import { noopBatch, type TaskClient } from '../bench/submit.js';

/** Submissions go out every this many ms, each carrying what fell due since the last. */
const TICK_MS = 20;
/** Calls in flight before the sender waits (and falls behind, which is reported). */
const MAX_IN_FLIGHT = 64;

/** What a {@link SteadySubmitter} did. */
export interface SubmitterFigures {
  rate: number;
  /** Tasks the apiserver acknowledged. */
  stored: number;
  calls: number;
  /** Calls that failed (their tasks are not counted as stored). */
  failedCalls: number;
  firstError: string | undefined;
  /** How far behind schedule the sender fell at worst, ms. */
  maxLagMs: number;
}

/**
 * Submits `noop` tasks through the apiserver at a fixed rate until stopped: every
 * TICK_MS one SubmitTasks call with the tasks that fell due, without waiting for
 * earlier calls (up to MAX_IN_FLIGHT). A failed call is counted and the load goes on.
 */
export class SteadySubmitter {
  private readonly ctl = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly figures: SubmitterFigures;
  private loop: Promise<void> | undefined;

  constructor(private readonly client: TaskClient, rate: number) {
    this.figures = { rate, stored: 0, calls: 0, failedCalls: 0, firstError: undefined, maxLagMs: 0 };
  }

  /** Starts submitting; `signal` aborting stops it like {@link SteadySubmitter.stop}. */
  start(signal: AbortSignal): void {
    signal.addEventListener('abort', () => this.ctl.abort(), { once: true });
    this.loop = this.run();
  }

  /** Tasks stored so far. */
  get stored(): number {
    return this.figures.stored;
  }

  /** Stops sending and waits (at most `timeoutMs`) for the calls in flight; returns the figures. */
  async stop(timeoutMs = 10_000): Promise<SubmitterFigures> {
    this.ctl.abort();
    await this.loop;
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(timeoutMs)]);
    return { ...this.figures };
  }

  private async run(): Promise<void> {
    const f = this.figures;
    const signal = this.ctl.signal;
    const t0 = performance.now();
    let due = 0;
    let seq = 0;
    for (let tick = 1; !signal.aborted; tick++) {
      if (!(await sleep(t0 + tick * TICK_MS - performance.now(), signal))) return;
      while (this.inFlight.size >= MAX_IN_FLIGHT && !signal.aborted) await Promise.race(this.inFlight);
      const now = performance.now();
      f.maxLagMs = Math.max(f.maxLagMs, now - (t0 + tick * TICK_MS));
      const target = Math.floor(((now - t0) / 1000) * f.rate);
      const size = target - due;
      if (size <= 0) continue;
      due = target;
      const first = seq;
      seq += size;
      f.calls++;
      const call: Promise<void> = this.client.submitTasks({ tasks: noopBatch(first, size) }).then(
        () => void (f.stored += size),
        (e: unknown) => {
          f.failedCalls++;
          f.firstError ??= (e as Error).message;
        },
      ).finally(() => this.inFlight.delete(call));
      this.inFlight.add(call);
    }
  }
}
