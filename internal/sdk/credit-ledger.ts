import type { Outlet } from './protocol.js';

/**
 * Flow control of the worker stream. Credits are deltas: the server may send as
 * many Assigns as the credits granted on this stream minus the Assigns it already
 * sent. The ledger keeps running attempts plus that window equal to the slots: on
 * Welcome it grants all free slots, each finished attempt grants one more (grants of
 * one event-loop turn coalesce into one Credit), and while draining or disconnected it
 * grants nothing. A new stream starts from an empty window.
 *
 * The slots may change while it runs ({@link CreditLedger.resize}): more slots are
 * granted at once; fewer take back unused credit (a negative Credit) and then grant
 * nothing until the running attempts are below the new number, so no running attempt
 * is ever cancelled for it. Every resize tells the server the new total.
 */
export class CreditLedger {
  private window = 0;
  /**
   * Credit taken back that the server may have spent before it read the take-back:
   * Assigns beyond the window are accepted up to this many (the server clamps its
   * credits at zero, so the window stays equal to the server's count either way).
   */
  private revoked = 0;
  private flushScheduled = false;
  private open = false;

  /**
   * `running`: attempts the worker holds now (they count against the slots).
   * Throws when `slots` is not an integer >= 1.
   */
  constructor(
    private readonly outlet: Outlet,
    private readonly running: () => number,
    private slots: number,
    private readonly schedule: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {
    checkSlots(slots);
  }

  /** Assigns the server may still send on this stream. */
  get outstanding(): number {
    return this.window;
  }

  /** A stream was welcomed: grant the free slots at once (nothing if none). */
  start(): void {
    this.reset();
    this.open = true;
    this.grant(this.slots - this.running() - this.window);
  }

  /** A stream ended or was welcomed while draining: empty window, no grants. */
  reset(): void {
    this.stop();
    this.window = 0;
    this.revoked = 0;
  }

  /** The worker drains: grant nothing more (Assigns already granted stay valid). */
  stop(): void {
    this.open = false;
  }

  /** Consumes one credit for an Assign; false when the server had none (over-assignment). */
  take(): boolean {
    if (this.window > 0) this.window--;
    else if (this.revoked > 0) this.revoked--;
    else return false;
    return true;
  }

  /** A slot became free: top the window up in this turn's coalesced Credit. */
  release(): void {
    if (!this.open || this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => {
      this.flushScheduled = false;
      if (this.open) this.grant(this.slots - this.running() - this.window);
    });
  }

  /**
   * The worker's slots are now `slots`. On an open stream this sends one Credit at once:
   * the free slots gained, or the unused credit beyond the new number taken back, with
   * the new total. Closed, the next Hello carries it. Throws when `slots` is not an
   * integer >= 1.
   */
  resize(slots: number): void {
    checkSlots(slots);
    this.slots = slots;
    if (!this.open) return;
    // Never below zero: credit the server may have spent already cannot be taken back.
    const delta = Math.max(slots - this.running() - this.window, -this.window);
    if (!this.outlet.send({ kind: 'credit', slots: delta, totalSlots: slots })) return;
    this.window += delta;
    if (delta < 0) this.revoked -= delta;
  }

  private grant(n: number): void {
    if (n <= 0) return;
    if (this.outlet.send({ kind: 'credit', slots: n })) this.window += n;
  }
}

function checkSlots(slots: number): void {
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`slots must be an integer >= 1, got ${slots}`);
}
