import { DomainError } from '../domain/errors.js';
import type { StoredEvent } from '../domain/stored-event.js';

/** Which events a subscription takes: one namespace's, by key and/or a predicate. */
export interface SubscriptionSpec {
  namespace: string;
  /**
   * Aggregate ids: only events of these tasks, workflows or schedules, and the task
   * events of these workflows. Unset: every event of the namespace (then `match`).
   */
  keys?: string[];
  /** A further test on each event. */
  match?: (e: StoredEvent) => boolean;
}

/**
 * One consumer's view of the event feed: the matching events with a sequence above
 * `position`, in sequence order, queued in a bounded buffer. A consumer that lets more
 * than `capacity` events wait is cut off (`resource_exhausted`) and its buffer dropped:
 * a slow reader never holds up the feed or the others.
 */
export class FeedSubscription {
  private queue: StoredEvent[] = [];
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly spec: SubscriptionSpec,
    /** Every event after this sequence that matches is delivered; none at or before it. */
    readonly position: number,
    private readonly capacity: number,
    private readonly onClose: (s: FeedSubscription) => void,
  ) {}

  /** For the feed: queues `e`, or cuts the subscription off when its buffer is full. */
  push(e: StoredEvent): void {
    if (this.ended) return;
    if (this.queue.length >= this.capacity) {
      this.fail(new DomainError('resource_exhausted',
        `the watch fell behind: ${this.capacity} events waited for this client to read them (TASKD_WATCH_BUFFER); ` +
        'watch again with after_event_id set to the last event received'));
      return;
    }
    this.queue.push(e);
    this.signal();
  }

  /** Ends the subscription with `err`, dropping what waits; the next `take` throws it. */
  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.queue = [];
    this.close();
  }

  /**
   * Every event waiting (at least one), waiting for one if none; null once `signal`
   * aborts or the subscription was closed. Throws the error it was ended with.
   */
  async take(signal: AbortSignal): Promise<StoredEvent[] | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        return batch;
      }
      if (this.ended || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Stops delivery and leaves the feed; idempotent. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose(this);
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
