import { sleep } from './sleep.js';

/**
 * A wake-up flag for a loop: `kick()` from anywhere; the loop's `wait(ms, signal)`
 * returns at once if kicked since the last wait, else at the first kick, timeout or
 * abort. Kicks never queue up: many kicks wake the loop once.
 */
export class Kicker {
  private kicked = false;
  private wake: (() => void) | undefined;

  kick(): void {
    this.kicked = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits for a kick, `ms`, or `signal` (at once if it has already aborted); returns true when kicked. */
  async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    // An 'abort' listener added after the abort never runs: without this check the wait would take all of `ms`.
    if (!this.kicked && !signal.aborted) {
      const ctl = new AbortController();
      const onAbort = (): void => ctl.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = () => ctl.abort();
      await sleep(ms, ctl.signal);
      signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
    const k = this.kicked;
    this.kicked = false;
    return k;
  }
}
