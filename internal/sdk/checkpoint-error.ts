/**
 * Why `ctx.checkpoint()` failed. `code` is the gRPC code name the scheduler answered
 * with: `ABORTED` (another version is stored; `version` is the stored one, and the
 * next checkpoint of this attempt expects it), `FAILED_PRECONDITION` (the lease is
 * stale), or `UNAVAILABLE` (not connected, or the stream broke before the answer:
 * the outcome is unknown).
 */
export class CheckpointError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly version?: number,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}
