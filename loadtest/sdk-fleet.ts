import { noopHandler, Worker } from '../internal/sdk/index.js';
import { silentLogger } from '../internal/shared/logger.js';
import { sleep } from '../internal/shared/sleep.js';
import { AssignTally, classifyEnd, newCounters, ramp, type EndEvent, type FleetCounters, type StreamFleet, type StreamSpec, type WelcomeEvent } from './fleet.js';

/**
 * One SDK {@link Worker} per stream, all in this process: each has its own HTTP/2
 * connection with its own keepalive PINGs, reconnect loop and jittered backoff,
 * exactly as N separate `cmd/worker` processes would (minus their process overhead).
 */
export class SdkFleet implements StreamFleet {
  readonly counters: FleetCounters = newCounters();
  readonly welcomes: WelcomeEvent[] = [];
  readonly ends: EndEvent[] = [];
  private readonly tally = new AssignTally();
  private readonly workers: { worker: Worker; ctl: AbortController; done: Promise<void> }[] = [];
  /** Epoch of each stream's current Welcome; undefined while disconnected. */
  private readonly current: (number | undefined)[];

  constructor(private readonly addresses: string[], readonly specs: readonly StreamSpec[]) {
    this.current = specs.map(() => undefined);
  }

  async start(perSecond: number, signal: AbortSignal): Promise<void> {
    await ramp(this.specs.length, perSecond, signal, (i) => this.open(i));
  }

  connected(minEpoch = 0): number {
    let n = 0;
    for (const e of this.current) if (e !== undefined && e >= minEpoch) n++;
    return n;
  }

  async stop(timeoutMs: number): Promise<void> {
    for (const w of this.workers) w.ctl.abort();
    await Promise.race([Promise.all(this.workers.map((w) => w.done)), sleep(timeoutMs)]);
  }

  private open(i: number): void {
    const spec = this.specs[i] as StreamSpec;
    const c = this.counters;
    const worker = new Worker({
      addresses: this.addresses, workerId: spec.id, slots: spec.slots, logger: silentLogger(),
      drainTimeoutMs: 1_000, shutdownGraceMs: 500, closeGraceMs: 500,
    });
    if (spec.busy) worker.register('noop', noopHandler);
    else worker.register('idle', noopHandler);
    worker.on('connected', (e) => {
      c.welcomes++;
      this.current[i] = e.epoch;
      this.welcomes.push({ stream: i, epoch: e.epoch, at: Date.now() });
    });
    worker.on('disconnected', (e) => {
      c.disconnects++;
      this.ends.push({ stream: i, at: Date.now(), cause: classifyEnd(e.error) });
      this.current[i] = undefined;
    });
    worker.on('not_leader', () => void c.notLeader++);
    worker.on('assigned', (e) => this.tally.add(e.taskId, c));
    worker.on('completed', () => void c.completed++);
    worker.on('result_acked', (e) => {
      c.resultAcks++;
      if (!e.accepted) c.refused++;
    });
    const ctl = new AbortController();
    this.workers.push({ worker, ctl, done: worker.run(ctl.signal) });
  }
}
