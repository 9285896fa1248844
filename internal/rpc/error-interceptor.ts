import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { BadRequestSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import type { Logger } from '../shared/logger.js';
import { mapDbError } from '../storage/db.js';
import { REQUEST } from './request-context.js';

const CODES: Record<ErrorCode, Code> = {
  invalid: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  conflict: Code.Aborted,
  stale_lease: Code.FailedPrecondition,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
  not_leader: Code.Unavailable,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  resource_exhausted: Code.ResourceExhausted,
};

/** The gRPC code of a domain error code: the one place the two vocabularies meet. */
export const grpcCodeOf = (c: ErrorCode): Code => CODES[c];

/**
 * Turns a thrown error into what the client sees. DomainErrors keep their message,
 * field violations (as google.rpc.BadRequest details) and retry delay (as
 * google.rpc.RetryInfo); ConnectErrors pass through;
 * anything else becomes Internal with the cause logged and never sent.
 */
export function toConnectError(e: unknown, logger: Logger, procedure: string): ConnectError {
  const mapped = mapDbError(e);
  if (mapped instanceof ConnectError) return mapped;
  if (mapped instanceof DomainError) {
    const details: ConstructorParameters<typeof ConnectError>[3] = [];
    if (mapped.violations.length > 0) details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: mapped.violations }) });
    if (mapped.retryAfterMs !== undefined) {
      details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(Math.max(1, Math.ceil(mapped.retryAfterMs))) }) });
    }
    return new ConnectError(mapped.message, CODES[mapped.code], undefined, details);
  }
  logger.error({ err: mapped, procedure }, 'internal error');
  return new ConnectError('internal error', Code.Internal);
}

/**
 * The interceptor every server installs: maps errors of unary and streaming handlers
 * alike. Causes are logged with the request's logger (its `requestId`) when the request
 * interceptor ran.
 */
export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const log = req.contextValues.get(REQUEST)?.logger ?? logger;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStream(res.message, log, req.url) };
    } catch (e) {
      throw toConnectError(e, log, req.url);
    }
  };
}

async function* mapStream<T>(it: AsyncIterable<T>, logger: Logger, procedure: string): AsyncIterable<T> {
  try {
    yield* it;
  } catch (e) {
    throw toConnectError(e, logger, procedure);
  }
}
