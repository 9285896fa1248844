import { Worker, type Handler } from '../internal/sdk/index.js';
import { silentLogger } from '../internal/shared/logger.js';

/**
 * Workers running inside the test process, with handlers the test controls. `stopAll`
 * drains them and waits until every `run()` settled.
 */
export class InprocWorkers {
  private readonly running: { ctl: AbortController; done: Promise<void> }[] = [];

  /** Starts a worker on `addresses` with `handlers`; resolves once a leader welcomed it. */
  async start(addresses: string[], handlers: Record<string, Handler>, opts: { slots?: number; id?: string; token?: string } = {}): Promise<Worker> {
    const w = new Worker({
      addresses, slots: opts.slots ?? 4, workerId: opts.id, logger: silentLogger(), drainTimeoutMs: 1_000, shutdownGraceMs: 500, token: opts.token,
    });
    for (const [type, h] of Object.entries(handlers)) w.register(type, h);
    const ctl = new AbortController();
    const connected = new Promise<void>((r) => w.once('connected', () => r()));
    this.running.push({ ctl, done: w.run(ctl.signal) });
    await connected;
    return w;
  }

  async stopAll(): Promise<void> {
    const all = this.running.splice(0);
    for (const r of all) r.ctl.abort();
    await Promise.all(all.map((r) => r.done));
  }
}
