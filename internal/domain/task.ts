/** Where a task is in its lifecycle; see the glossary in README.md. */
export type TaskStatus =
  | 'PENDING'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'DEAD_LETTERED'
  | 'CANCELLED'
  | 'SKIPPED';

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'DEAD_LETTERED',
  'CANCELLED',
  'SKIPPED',
]);

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A retry policy with every default filled in; durations in ms. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  jitter: number;
}

export interface Notify {
  webhookUrl: string | null;
  email: string | null;
}

/** Why an attempt or task failed. */
export interface TaskError {
  message: string;
  /** "handler", "worker_lost", "timeout", ... */
  kind: string;
  retryable: boolean;
}

/** A validated submission, ready to insert. */
export interface NewTask {
  id: string;
  namespace: string;
  type: string;
  queue: string;
  payload: Json;
  priority: number;
  /** When it may first run; null = now. */
  runAt: Date | null;
  retryPolicy: RetryPolicy;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  notify: Notify | null;
  /** For a replayed dead letter: the id of the task it replays. */
  replayOf?: string | null;
  /** The id of the request (or schedule fire) that creates it; see {@link TaskOrigin}. */
  correlationId?: string | null;
  /** W3C `traceparent` its dispatch continues; see {@link TaskOrigin}. */
  traceContext?: string | null;
}

/**
 * Where new tasks come from, stamped on each: the correlation id of the request that
 * creates them (its `x-request-id`, or a generated one; a schedule's fire has its own),
 * carried into their attempts and events, and the trace context of the span that
 * creates them (null when tracing is off), which their dispatch continues.
 */
export interface TaskOrigin {
  correlationId: string | null;
  traceContext: string | null;
}

/** `tasks` stamped with `origin` (unchanged when there is none). */
export function withOrigin(tasks: NewTask[], origin: TaskOrigin | undefined): NewTask[] {
  return origin ? tasks.map((t) => ({ ...t, correlationId: origin.correlationId, traceContext: origin.traceContext })) : tasks;
}

export interface Attempt {
  number: number;
  workerId: string;
  startedAt: Date;
  endedAt: Date | null;
  status: TaskStatus;
  error: TaskError | null;
}

/** A task as read back. */
export interface Task extends NewTask {
  status: TaskStatus;
  /** Dispatches so far; the number of the current attempt. */
  attempt: number;
  output: Json | null;
  error: TaskError | null;
  version: number;
  workflowId: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  attempts: Attempt[];
  /** The task this one replays (see `replayOf` of NewTask), else null. */
  replayOf: string | null;
  /** The latest checkpoint a running attempt stored, if any. */
  checkpoint: { data: Json; version: number } | null;
  /** The id of the request that created it; null for tasks older than correlation ids. */
  correlationId: string | null;
}
