import type { JsonValue } from '@bufbuild/protobuf';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { AttemptAbortedError, type AbortCause } from './attempt-aborted-error.js';
import { CheckpointError } from './checkpoint-error.js';
import { toJsonValue } from './json.js';
import { NonRetryableError } from './non-retryable-error.js';
import { AttemptSpan } from './attempt-span.js';
import { attemptKey, type AssignMessage, type AttemptOutcome, type AttemptRef, type Outlet, type SchedulerMessage } from './protocol.js';
import type { Handler, TaskContext } from './task-context.js';

type CheckpointAck = Extract<SchedulerMessage, { kind: 'checkpoint_ack' }>;

interface PendingCheckpoint {
  data: JsonValue;
  resolve: (r: { version: number }) => void;
  reject: (e: Error) => void;
}

/**
 * One attempt executing on this worker: its handler's context and abort signal,
 * its deadline, and its checkpoint version. Produces the attempt's outcome; it
 * never throws.
 */
export class RunningAttempt {
  readonly key: string;
  readonly ref: AttemptRef;
  readonly context: TaskContext;
  private readonly controller = new AbortController();
  private readonly finished = new AbortController();
  private checkpointVersion: number;
  private lastCheckpoint: { data: JsonValue; version: number } | undefined;
  private checkpointChain: Promise<unknown> = Promise.resolve();
  private pending: PendingCheckpoint | undefined;
  private readonly span: AttemptSpan;

  constructor(
    private readonly task: AssignMessage,
    private readonly outlet: Outlet,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.ref = task.attempt;
    this.key = attemptKey(task.attempt);
    this.lastCheckpoint = task.checkpoint;
    this.checkpointVersion = task.checkpoint?.version ?? 0;
    this.context = this.buildContext();
    this.span = new AttemptSpan(task);
  }

  /** W3C trace context of the attempt's execute span, for its Result; empty when not traced. */
  get traceContext(): Record<string, string> {
    return this.span.carrier;
  }

  /** Why the handler's signal was aborted (cancelled, deadline, …); undefined while it was not. */
  get abortedBy(): AbortCause | undefined {
    const reason: unknown = this.controller.signal.reason;
    return reason instanceof AttemptAbortedError ? reason.kind : undefined;
  }

  /** Aborts the handler's signal (once; later calls keep the first reason). */
  abort(kind: AbortCause, message: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new AttemptAbortedError(kind, message));
  }

  /** Runs `handler` to its end, in the attempt's execute span, and describes how it ended. */
  async execute(handler: Handler): Promise<AttemptOutcome> {
    this.armDeadline();
    const outcome = await this.run(handler);
    this.span.end(outcome, this.abortedBy);
    return outcome;
  }

  private async run(handler: Handler): Promise<AttemptOutcome> {
    let output: unknown;
    try {
      output = await this.span.run(() => handler(this.context));
    } catch (err) {
      return { error: this.describeFailure(err) };
    } finally {
      this.finished.abort();
      this.failPendingCheckpoint('FAILED_PRECONDITION', 'the attempt has ended');
    }
    try {
      return { output: toJsonValue(output) };
    } catch (err) {
      const message = `handler output is not JSON: ${err instanceof Error ? err.message : String(err)}`;
      return { error: { message, kind: 'output', retryable: false } };
    }
  }

  /** Settles the checkpoint waiting for this answer. */
  onCheckpointAck(ack: CheckpointAck): void {
    const p = this.pending;
    if (!p) {
      this.logger.debug({ taskId: this.ref.taskId, attempt: this.ref.attempt }, 'checkpoint ack without a pending checkpoint');
      return;
    }
    this.pending = undefined;
    if (ack.ok) {
      this.checkpointVersion = ack.version;
      this.lastCheckpoint = { data: p.data, version: ack.version };
      p.resolve({ version: ack.version });
      return;
    }
    // On a version conflict the stored version becomes the expected one, so a retry by
    // the handler can succeed once it has reconciled; a stale lease never will.
    if (ack.code === 'ABORTED') this.checkpointVersion = ack.version;
    p.reject(new CheckpointError(ack.code || 'UNKNOWN', ack.message || 'checkpoint refused', ack.version));
  }

  /** The stream the pending checkpoint went out on broke: its answer will never come. */
  onDisconnect(): void {
    this.failPendingCheckpoint('UNAVAILABLE', 'the stream to the scheduler broke before the checkpoint was answered');
  }

  private buildContext(): TaskContext {
    const t = this.task;
    const self = this;
    return {
      taskId: t.attempt.taskId,
      attempt: t.attempt.attempt,
      idempotencyKey: t.idempotencyKey,
      type: t.type,
      queue: t.queue,
      namespace: t.namespace,
      payload: t.payload,
      labels: t.labels,
      workflowId: t.workflowId,
      parents: t.parents,
      correlationId: t.correlationId,
      deadline: t.deadline,
      signal: this.controller.signal,
      get lastCheckpoint() {
        return self.lastCheckpoint;
      },
      heartbeat: () => void this.outlet.send({ kind: 'heartbeat' }),
      checkpoint: (data) => this.checkpoint(data),
    };
  }

  private armDeadline(): void {
    const deadline = this.task.deadline;
    if (!deadline) return;
    void sleep(deadline.getTime() - this.clock.now(), this.finished.signal).then((passed) => {
      if (passed) this.abort('deadline', `attempt deadline ${deadline.toISOString()} passed`);
    });
  }

  private describeFailure(err: unknown): { message: string; kind: string; retryable: boolean } {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof NonRetryableError) return { message, kind: 'handler', retryable: false };
    const reason: unknown = this.controller.signal.reason;
    const timedOut = reason instanceof AttemptAbortedError && reason.kind === 'deadline';
    return { message, kind: timedOut ? 'timeout' : 'handler', retryable: true };
  }

  private checkpoint(data: unknown): Promise<{ version: number }> {
    const next = this.checkpointChain.then(() => this.sendCheckpoint(data));
    this.checkpointChain = next.catch(() => undefined);
    return next;
  }

  private sendCheckpoint(data: unknown): Promise<{ version: number }> {
    if (this.finished.signal.aborted) {
      return Promise.reject(new CheckpointError('FAILED_PRECONDITION', 'the attempt has ended'));
    }
    const json = toJsonValue(data);
    return new Promise((resolve, reject) => {
      const msg = { kind: 'checkpoint', attempt: this.ref, data: json, expectedVersion: this.checkpointVersion } as const;
      if (!this.outlet.send(msg)) {
        reject(new CheckpointError('UNAVAILABLE', 'not connected to a scheduler'));
        return;
      }
      this.pending = { data: json, resolve, reject };
    });
  }

  private failPendingCheckpoint(code: string, message: string): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new CheckpointError(code, message));
  }
}
