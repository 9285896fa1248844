import { backoffDelay, reconnectBackoff } from '../shared/backoff.js';
import type { Logger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { attemptKey, type AttemptOutcome, type AttemptRef, type Outlet, type SchedulerMessage } from './protocol.js';

type ResultAck = Extract<SchedulerMessage, { kind: 'result_ack' }>;

/** What an acknowledgment did to the held result. */
export type AckVerdict = 'accepted' | 'refused' | 'retry' | 'unknown';

/** Refusals that say "not now" rather than "no": the result stays and goes out again. */
const transientCodes = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'INTERNAL', 'UNKNOWN']);

interface HeldResult {
  ref: AttemptRef;
  outcome: AttemptOutcome;
  refusals: number;
  /** The execute span's trace context, sent with the result. */
  traceContext: Record<string, string>;
  /** The task's, for log lines about the result. */
  correlationId: string | undefined;
}

/**
 * Holds every Result until the scheduler acknowledges it, so that no outcome is lost
 * to a broken stream: results are sent when added (if connected), all of them again
 * after each Welcome, and again after a backoff when refused with a transient code.
 */
export class ResultOutbox {
  private readonly held = new Map<string, HeldResult>();

  constructor(
    private readonly outlet: Outlet,
    private readonly logger: Logger,
    private readonly stop: AbortSignal,
  ) {}

  /** Results not yet acknowledged. */
  get size(): number {
    return this.held.size;
  }

  /** The attempts whose results are held: the worker still holds their leases. */
  refs(): AttemptRef[] {
    return [...this.held.values()].map((e) => e.ref);
  }

  /**
   * Holds the outcome of `ref` and sends it if a session is welcomed; with the trace
   * context of the attempt's execute span, and its correlation id for the log.
   */
  add(ref: AttemptRef, outcome: AttemptOutcome, about: { traceContext?: Record<string, string>; correlationId?: string } = {}): void {
    const entry = { ref, outcome, refusals: 0, traceContext: about.traceContext ?? {}, correlationId: about.correlationId };
    this.held.set(attemptKey(ref), entry);
    this.send(entry);
  }

  /** Sends every held result: called after each Welcome. */
  resendAll(): void {
    for (const entry of this.held.values()) this.send(entry);
  }

  /** Applies an acknowledgment; returns what became of the held result. */
  ack(ack: ResultAck): AckVerdict {
    const key = attemptKey(ack.attempt);
    const entry = this.held.get(key);
    const log = {
      taskId: ack.attempt.taskId, attempt: ack.attempt.attempt, correlationId: entry?.correlationId, code: ack.code, reason: ack.message,
    };
    if (!entry) {
      this.logger.debug(log, 'result ack for no held result');
      return 'unknown';
    }
    if (ack.accepted) {
      this.held.delete(key);
      return 'accepted';
    }
    if (transientCodes.has(ack.code)) {
      entry.refusals++;
      this.logger.warn(log, 'result refused for now; will send it again');
      this.resendLater(key, entry);
      return 'retry';
    }
    this.held.delete(key);
    if (ack.code === 'FAILED_PRECONDITION') this.logger.warn(log, 'result refused: stale lease, dropped');
    else this.logger.error(log, 'result refused, dropped');
    return 'refused';
  }

  private send(entry: HeldResult): void {
    this.outlet.send({ kind: 'result', attempt: entry.ref, outcome: entry.outcome, traceContext: entry.traceContext });
  }

  private resendLater(key: string, entry: HeldResult): void {
    void sleep(backoffDelay(reconnectBackoff, entry.refusals), this.stop).then((waited) => {
      if (waited && this.held.get(key) === entry) this.send(entry);
    });
  }
}
