import type { JsonValue } from '@bufbuild/protobuf';

/**
 * The worker stream as the SDK sees it, free of protobuf types: `wire.ts` converts
 * between these and `taskd.v1` messages, and nothing else in the SDK imports `gen/`.
 */

/** One attempt of one task and the lease token that fences it. */
export interface AttemptRef {
  taskId: string;
  /** 1-based dispatch number. */
  attempt: number;
  leaseToken: string;
}

/** Why an attempt failed, as reported in a Result. */
export interface TaskFailure {
  message: string;
  /** "handler", "timeout", "unknown_type", "protocol", "output". */
  kind: string;
  retryable: boolean;
}

/** How an attempt ended: an output or a failure. */
export type AttemptOutcome = { output: JsonValue } | { error: TaskFailure };

/** Messages the worker sends. */
export type WorkerMessage =
  | {
      kind: 'hello';
      workerId: string;
      taskTypes: string[];
      queues: string[];
      slots: number;
      labels: Record<string, string>;
      running: AttemptRef[];
    }
  /** `slots` more Assigns (fewer when negative); `totalSlots` when the worker's slots changed. */
  | { kind: 'credit'; slots: number; totalSlots?: number }
  | { kind: 'heartbeat' }
  | { kind: 'checkpoint'; attempt: AttemptRef; data: JsonValue; expectedVersion: number }
  /** `traceContext`: W3C trace context of the attempt's execute span (empty when not traced). */
  | { kind: 'result'; attempt: AttemptRef; outcome: AttemptOutcome; traceContext?: Record<string, string> }
  | { kind: 'draining' };

/** A task handed to this worker. */
export interface AssignMessage {
  kind: 'assign';
  attempt: AttemptRef;
  type: string;
  queue: string;
  namespace: string;
  payload: JsonValue;
  idempotencyKey: string;
  deadline: Date | undefined;
  checkpoint: { data: JsonValue; version: number } | undefined;
  labels: Record<string, string>;
  /** Empty for a task outside a workflow. */
  workflowId: string;
  parents: Record<string, JsonValue>;
  /** The id of the request that created the task; empty when unknown. */
  correlationId: string;
  /** W3C trace context of the scheduler's dispatch span (`traceparent`, `tracestate`); empty when not traced. */
  traceContext: Record<string, string>;
}

/** Messages the scheduler sends. */
export type SchedulerMessage =
  | {
      kind: 'welcome';
      sessionId: string;
      /** 0 when the server sent none. */
      heartbeatIntervalMs: number;
      leaseTtlMs: number;
      epoch: number;
      adopted: AttemptRef[];
    }
  | AssignMessage
  | { kind: 'cancel'; attempt: AttemptRef; reason: string }
  | { kind: 'checkpoint_ack'; attempt: AttemptRef; ok: boolean; version: number; code: string; message: string }
  | { kind: 'result_ack'; attempt: AttemptRef; accepted: boolean; code: string; message: string }
  | { kind: 'not_leader'; leaderAddress: string; epoch: number };

/** Where the SDK's components send messages: the current session, if one is welcomed. */
export interface Outlet {
  /** Queues `msg` on the welcomed stream; false (and nothing sent) when there is none. */
  send(msg: WorkerMessage): boolean;
}

/** The map key of an attempt: task id and attempt number (lease tokens are not part of it). */
export function attemptKey(ref: Pick<AttemptRef, 'taskId' | 'attempt'>): string {
  return `${ref.taskId}#${ref.attempt}`;
}
