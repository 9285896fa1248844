import type { Interceptor } from '@connectrpc/connect';
import {
  context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter,
} from '@opentelemetry/api';
import { ATTR_RPC_METHOD, ATTR_RPC_STATUS_CODE, ATTR_RPC_SYSTEM_NAME } from '@opentelemetry/semantic-conventions';
import { onRpcEnd } from './rpc-end.js';

const tracer = trace.getTracer('taskd');

const headerGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/**
 * The server span of every unary and server-streaming RPC (REST calls included: the
 * gateway dispatches into the same handlers), named `<service>/<method>`, a child of
 * the caller's `traceparent`/`tracestate` metadata when it sent them. The handler runs
 * in the span's context, so what it starts (`taskd.submit`) nests under it. Bidi streams
 * (a worker's or apiserver's session with the leader) get none: they are sessions that
 * live for hours, and each assignment on them has its own spans. Outermost: the span
 * ends with the code the client gets. A no-op while tracing is off.
 */
export function traceInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.method.methodKind === 'bidi_streaming') return next(req);
    const method = `${req.service.typeName}/${req.method.name}`;
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_RPC_SYSTEM_NAME]: 'grpc', [ATTR_RPC_METHOD]: method } }, parent);
    // Tracing off (no provider, no propagator): nothing to carry, so no wrapping either.
    if (!isSpanContextValid(span.spanContext())) return next(req);
    const ctx = trace.setSpan(parent, span);
    return onRpcEnd(() => context.with(ctx, () => next(req)), (code) => end(span, code), (f) => context.with(ctx, f));
  };
}

/** Codes that are the server's failure, as the gRPC server-span conventions count them; the others are the caller's. */
const SERVER_ERRORS = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS']);

function end(span: Span, code: string): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, code);
  if (SERVER_ERRORS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  span.end();
}
