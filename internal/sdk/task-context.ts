import type { JsonValue } from '@bufbuild/protobuf';

export type { JsonValue };

/** What a handler knows about the attempt it runs, and how it talks back. */
export interface TaskContext {
  readonly taskId: string;
  /** 1-based; greater than 1 when the task is retried or re-dispatched. */
  readonly attempt: number;
  /** The task's idempotency key (empty when none was given): use it to make side effects run once. */
  readonly idempotencyKey: string;
  readonly type: string;
  readonly queue: string;
  readonly namespace: string;
  readonly payload: JsonValue;
  readonly labels: Readonly<Record<string, string>>;
  /** The workflow this task belongs to; empty outside workflows. */
  readonly workflowId: string;
  /** In a workflow: each parent's output, keyed by the parent's name in the workflow. */
  readonly parents: Readonly<Record<string, JsonValue>>;
  /**
   * The id of the request that created the task (its `x-request-id`, or the one the
   * server generated; a schedule's fire has its own): put it in your logs to follow the
   * task from its submission. Empty for tasks from before correlation ids.
   */
  readonly correlationId: string;
  /** When the attempt times out; undefined when the scheduler set none. */
  readonly deadline: Date | undefined;
  /**
   * Aborts when the server cancels this attempt, when the deadline passes, when the
   * worker shuts down hard, or when a new leader did not adopt the attempt. Its
   * `reason` is an {@link AttemptAbortedError}.
   */
  readonly signal: AbortSignal;
  /** The latest stored checkpoint: the one the attempt started with, then each one it wrote. */
  readonly lastCheckpoint: { data: JsonValue; version: number } | undefined;
  /** Sends a Heartbeat now (extends every lease of this worker); a no-op while disconnected. */
  heartbeat(): void;
  /**
   * Stores `data` as the task's checkpoint if nobody wrote one since the last known
   * version. Calls of one attempt are serialised. Resolves with the new version;
   * rejects with a {@link CheckpointError} carrying the server's code.
   */
  checkpoint(data: unknown): Promise<{ version: number }>;
}

/**
 * Runs one attempt. Its return value (JSON) is the task's output; a throw fails the
 * attempt as retryable unless it is a {@link NonRetryableError}.
 */
export type Handler = (ctx: TaskContext) => Promise<unknown> | unknown;
