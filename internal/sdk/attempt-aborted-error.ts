/** Why an attempt's `ctx.signal` aborted. */
export type AbortCause = 'cancelled' | 'deadline' | 'shutdown' | 'lease_lost';

/**
 * The `reason` of an aborted `ctx.signal`: the server cancelled the attempt, its
 * deadline passed, the worker shut down hard, or a new leader did not adopt it.
 */
export class AttemptAbortedError extends Error {
  constructor(
    readonly kind: AbortCause,
    message: string,
  ) {
    super(message);
    this.name = 'AbortError';
  }
}
