import type { Interceptor } from '@connectrpc/connect';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Logger } from '../shared/logger.js';
import { onRpcEnd } from './rpc-end.js';
import { newRequestId, REQUEST, REQUEST_ID_HEADER, saneRequestId } from './request-context.js';

/**
 * Gives every RPC its correlation id: the `x-request-id` header when sane (the server
 * already replaced a missing or insane one with a generated id and echoes it, see
 * RpcServer; an in-memory transport gets one here), left in the handler context
 * ({@link REQUEST}) with a child logger whose lines carry `requestId` (and `traceId`
 * when the call is traced). Logs one access line per call at debug: method, code (the
 * client's: this sits outside the error interceptor), duration; a stream's when it ends.
 */
export function requestInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const id = saneRequestId(req.header.get(REQUEST_ID_HEADER)) ?? newRequestId();
    const span = trace.getActiveSpan()?.spanContext();
    const log = logger.child({ requestId: id, ...(span && isSpanContextValid(span) ? { traceId: span.traceId } : {}) });
    req.contextValues.set(REQUEST, { id, logger: log });
    const method = `${req.service.typeName}/${req.method.name}`;
    const start = performance.now();
    const access = (code: string): void => log.debug({ method, code, durationMs: Math.round((performance.now() - start) * 10) / 10 }, 'rpc');
    return onRpcEnd(() => next(req), access);
  };
}
