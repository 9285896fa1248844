import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { AbortCause } from './attempt-aborted-error.js';
import type { AssignMessage, AttemptOutcome } from './protocol.js';

const tracer = trace.getTracer('taskd.sdk');

/** How an attempt ended, as its span's `taskd.outcome` says. */
export type SpanOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timeout';

/**
 * The worker's `taskd.execute <type>` span of one attempt: a child of the scheduler's
 * dispatch span (the Assign's trace context), with the task's id, attempt, type and
 * queue, ended with the outcome. The handler runs in its context, so spans user code
 * starts nest under it. Made through the OpenTelemetry API: in a process that
 * registered no tracer provider (or no propagator) it records nothing.
 */
export class AttemptSpan {
  /** Its W3C trace context, sent with the Result so the scheduler's result span joins the trace. */
  readonly carrier: Record<string, string> = {};
  private readonly span: Span;
  private readonly context: Context;

  constructor(task: AssignMessage) {
    const parent = propagation.extract(ROOT_CONTEXT, task.traceContext);
    this.span = tracer.startSpan(`taskd.execute ${task.type}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        'taskd.task.id': task.attempt.taskId, 'taskd.task.attempt': task.attempt.attempt, 'taskd.task.type': task.type,
        'taskd.task.queue': task.queue, 'taskd.namespace': task.namespace,
      },
    }, parent);
    this.context = trace.setSpan(parent, this.span);
    propagation.inject(this.context, this.carrier);
  }

  /** Calls `fn` in the span's context (and whatever it awaits). */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Ends the span with `outcome`; `abortedBy` tells a cancel or timeout from a plain failure. */
  end(outcome: AttemptOutcome, abortedBy: AbortCause | undefined): void {
    const name = spanOutcome(outcome, abortedBy);
    this.span.setAttribute('taskd.outcome', name);
    if ('error' in outcome) {
      this.span.setAttribute('error.type', outcome.error.kind);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
    }
    this.span.end();
  }
}

function spanOutcome(outcome: AttemptOutcome, abortedBy: AbortCause | undefined): SpanOutcome {
  if ('output' in outcome) return 'succeeded';
  if (abortedBy === 'cancelled' || abortedBy === 'lease_lost') return 'cancelled';
  return abortedBy === 'deadline' ? 'timeout' : 'failed';
}
