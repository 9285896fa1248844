import type { Outlet } from './protocol.js';

/**
 * Flow control of the worker stream. Credits are deltas: the server may send as
 * many Assigns as the credits granted on this stream minus the Assigns it already
 * sent. The ledger keeps that window equal to the free slots: on Welcome it grants
 * all free slots, each finished attempt grants one more (grants of one event-loop
 * turn coalesce into one Credit), and while draining or disconnected it grants
 * nothing. A new stream starts from an empty window.
 */
export class CreditLedger {
  private window = 0;
  private owed = 0;
  private flushScheduled = false;
  private open = false;

  constructor(
    private readonly outlet: Outlet,
    private readonly schedule: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** Assigns the server may still send on this stream. */
  get outstanding(): number {
    return this.window;
  }

  /** A stream was welcomed: grant the free slots at once (nothing if 0). */
  start(freeSlots: number): void {
    this.reset();
    this.open = true;
    this.grant(freeSlots);
  }

  /** A stream ended or was welcomed while draining: empty window, no grants. */
  reset(): void {
    this.stop();
    this.window = 0;
  }

  /** The worker drains: grant nothing more (Assigns already granted stay valid). */
  stop(): void {
    this.open = false;
    this.owed = 0;
  }

  /** Consumes one credit for an Assign; false when the server had none (over-assignment). */
  take(): boolean {
    if (this.window <= 0) return false;
    this.window--;
    return true;
  }

  /** A slot became free: grant it in this turn's coalesced Credit. */
  release(): void {
    if (!this.open) return;
    this.owed++;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => {
      this.flushScheduled = false;
      const n = this.owed;
      this.owed = 0;
      if (this.open) this.grant(n);
    });
  }

  private grant(n: number): void {
    if (n <= 0) return;
    if (this.outlet.send({ kind: 'credit', slots: n })) this.window += n;
  }
}
