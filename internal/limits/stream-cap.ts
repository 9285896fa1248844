/**
 * Counts open streams per identity on this process and refuses more than `max`.
 * `open` returns a release function (idempotent), or undefined when the identity is at
 * its cap. Lowering `max` (setMax) closes nothing: an identity above it opens no more
 * until it is below.
 */
export class StreamCap {
  private readonly counts = new Map<string, number>();
  private cap: number;

  constructor(max: number) {
    this.cap = checkMax(max);
  }

  get max(): number {
    return this.cap;
  }

  /** Throws unless `max` is an integer >= 1. */
  setMax(max: number): void {
    this.cap = checkMax(max);
  }

  open(who: string): (() => void) | undefined {
    const n = this.counts.get(who) ?? 0;
    if (n >= this.max) return undefined;
    this.counts.set(who, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(who) ?? 1) - 1;
      if (left <= 0) this.counts.delete(who);
      else this.counts.set(who, left);
    };
  }

  /** Streams `who` holds now. */
  count(who: string): number {
    return this.counts.get(who) ?? 0;
  }
}

function checkMax(max: number): number {
  if (!Number.isInteger(max) || max < 1) throw new Error(`StreamCap: max must be an integer >= 1, got ${max}`);
  return max;
}
