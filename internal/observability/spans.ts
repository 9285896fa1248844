import {
  context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span,
} from '@opentelemetry/api';

/**
 * The spans taskd's servers make around a task's life (docs/observability.md): all
 * through the OpenTelemetry API, so with tracing off (no provider registered, see
 * tracing.ts) they are no-ops and carriers stay empty.
 */

const tracer = trace.getTracer('taskd');

/** W3C trace context as carried in messages and rows: `traceparent` and, when present, `tracestate`. */
export type TraceCarrier = Record<string, string>;

/** Attribute names of taskd's spans. */
export const ATTR = {
  taskId: 'taskd.task.id',
  attempt: 'taskd.task.attempt',
  type: 'taskd.task.type',
  queue: 'taskd.task.queue',
  namespace: 'taskd.namespace',
  tasks: 'taskd.task.count',
  workflowId: 'taskd.workflow.id',
  workerId: 'taskd.worker.id',
  outcome: 'taskd.outcome',
  accepted: 'taskd.result.accepted',
  via: 'taskd.submit.via',
  redelivered: 'taskd.redelivered',
} as const;

/** The carrier of `ctx`'s span; empty when tracing is off or no span is active. */
export function carrierOf(ctx: Context): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A context whose remote parent is the span `carrier` names (the root context when it names none). */
export function contextOf(carrier: TraceCarrier | string | null | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, typeof carrier === 'string' ? { traceparent: carrier } : carrier);
}

/** Ends `span`, as an error when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/**
 * Runs `fn` inside a `taskd.submit` span, a child of the active context (the RPC's
 * server span). `fn` receives the span's `traceparent` to store on the tasks it
 * creates, so their dispatch joins the trace; null when tracing is off. Rethrows what
 * `fn` throws, with the span marked as an error.
 */
export async function inSubmitSpan<T>(attributes: Attributes, fn: (traceparent: string | null) => Promise<T>): Promise<T> {
  const span = tracer.startSpan('taskd.submit', { kind: SpanKind.INTERNAL, attributes });
  const ctx = trace.setSpan(context.active(), span);
  const traceparent = isSpanContextValid(span.spanContext()) ? (carrierOf(ctx).traceparent ?? null) : null;
  try {
    const out = await context.with(ctx, () => fn(traceparent));
    endSpan(span);
    return out;
  } catch (e) {
    endSpan(span, e);
    throw e;
  }
}

/**
 * Starts the leader's `taskd.dispatch` span of one assignment: a child of the trace
 * context stored with the task (`traceparent`; a new trace when there is none), from
 * `startTime` (when its claim began). Returns the span and the carrier the Assign takes
 * to the worker.
 */
export function startDispatchSpan(
  p: { taskId: string; attempt: number; type: string; queue: string; namespace: string; workerId: string; traceparent: string | null; startTime?: number },
): { span: Span; carrier: TraceCarrier } {
  const parent = contextOf(p.traceparent);
  const span = tracer.startSpan('taskd.dispatch', {
    kind: SpanKind.PRODUCER, startTime: p.startTime,
    attributes: {
      [ATTR.taskId]: p.taskId, [ATTR.attempt]: p.attempt, [ATTR.type]: p.type, [ATTR.queue]: p.queue, [ATTR.namespace]: p.namespace,
      [ATTR.workerId]: p.workerId,
    },
  }, parent);
  return { span, carrier: carrierOf(trace.setSpan(parent, span)) };
}

/**
 * Starts the leader's `taskd.result` span, applying one attempt's end: a child of
 * `parent` (the worker's execute span from the Result, else the dispatch span), which
 * the caller ends with the verdict.
 */
export function startResultSpan(p: { taskId: string; attempt: number; outcome: string }, parent: TraceCarrier | undefined): Span {
  return tracer.startSpan('taskd.result', {
    kind: SpanKind.INTERNAL,
    attributes: { [ATTR.taskId]: p.taskId, [ATTR.attempt]: p.attempt, [ATTR.outcome]: p.outcome },
  }, contextOf(parent));
}
