/**
 * The closed set of domain error codes. Each maps to exactly one gRPC code in
 * `internal/rpc/error-interceptor.ts`; nothing else in the codebase speaks gRPC codes.
 */
export type ErrorCode =
  | 'invalid' // INVALID_ARGUMENT: the request is wrong; the message names the field
  | 'not_found' // NOT_FOUND
  | 'already_exists' // ALREADY_EXISTS
  | 'conflict' // ABORTED: a compare-and-set lost (etag, checkpoint version)
  | 'stale_lease' // FAILED_PRECONDITION: a result/heartbeat/checkpoint with an old lease token
  | 'failed_precondition' // FAILED_PRECONDITION: the state does not allow it
  | 'unavailable' // UNAVAILABLE: a dependency is down; retry
  | 'not_leader' // UNAVAILABLE: this scheduler does not lead; the message names the leader
  | 'permission_denied' // PERMISSION_DENIED
  | 'unauthenticated' // UNAUTHENTICATED
  | 'resource_exhausted'; // RESOURCE_EXHAUSTED

/** A field-level violation: `field` is the request path, e.g. `task.priority`. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** The one error type the domain throws. */
export class DomainError extends Error {
  /** For `resource_exhausted` and `unavailable`: when a retry may succeed (sent as google.rpc.RetryInfo). */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly violations: FieldViolation[] = [],
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** An `invalid` error from violations; the message lists each `field: description`. */
  static invalid(violations: FieldViolation[]): DomainError {
    const msg = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    return new DomainError('invalid', msg, violations);
  }
}

/** True when `e` is a DomainError with `code`. */
export function isDomainError(e: unknown, code?: ErrorCode): e is DomainError {
  return e instanceof DomainError && (code === undefined || e.code === code);
}
