import { Code } from '@connectrpc/connect';

/**
 * The exit codes scripts can rely on. Stable: a code's meaning never changes; new
 * codes may be added. Listed in `taskctl --help` and docs/taskctl.md.
 */
export const ExitCode = {
  ok: 0,
  /** Anything not listed below (an internal server error, an unimplemented RPC…). */
  error: 1,
  /** Bad command line: unknown flag, missing argument, unparsable value or file. */
  usage: 2,
  /** The task, workflow, schedule, dead letter or key does not exist (NOT_FOUND). */
  notFound: 3,
  /** The task or workflow ended, and not successfully (watch, --wait, result). */
  unsuccessful: 4,
  /** The server could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
  unavailable: 5,
  /** No or a bad token, or a role too small (UNAUTHENTICATED, PERMISSION_DENIED). */
  denied: 6,
  /** The server rejected the request's content (INVALID_ARGUMENT); the field violations are printed. */
  invalid: 7,
  /** The object's state does not allow it: already ended, stale version, not finished yet (FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS). */
  conflict: 8,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an RPC that failed with `code`. */
export function exitCodeOfRpc(code: Code): ExitCodeValue {
  switch (code) {
    case Code.NotFound:
      return ExitCode.notFound;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
      return ExitCode.unavailable;
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return ExitCode.denied;
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return ExitCode.invalid;
    case Code.FailedPrecondition:
    case Code.Aborted:
    case Code.AlreadyExists:
      return ExitCode.conflict;
    default:
      return ExitCode.error;
  }
}

/** The help text's table of exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other error (internal server error, unimplemented RPC, …)
  2  usage error: unknown flag, missing argument, bad value or file
  3  not found
  4  the task or workflow ended unsuccessfully (watch, --wait, result)
  5  server unavailable or timed out
  6  unauthenticated or permission denied
  7  invalid argument, rejected by the server (field violations printed)
  8  state conflict: already ended, stale version, not finished yet`;
