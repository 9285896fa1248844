import type { Json, TaskError } from '../domain/task.js';

/** Names one attempt and its lease. */
export interface AttemptRef {
  taskId: string;
  attempt: number;
  leaseToken: string;
}

/** What the leader sends a worker; the RPC edge turns these into protobuf. */
export type ToWorker =
  | {
      kind: 'assign';
      ref: AttemptRef;
      namespace: string;
      type: string;
      queue: string;
      payload: Json | null;
      idempotencyKey: string | null;
      labels: Record<string, string>;
      deadline: Date | null;
      checkpoint: { data: Json; version: number } | null;
      workflowId: string | null;
      parentOutputs: Record<string, Json>;
      /** The id of the request that created the task; null when unknown. */
      correlationId: string | null;
      /** W3C trace context of the dispatch span (empty when not traced): the worker's execute span's parent. */
      traceContext: Record<string, string>;
    }
  | { kind: 'cancel'; ref: AttemptRef; reason: string }
  | { kind: 'result_ack'; ref: AttemptRef; accepted: boolean; code?: string; message?: string }
  | { kind: 'checkpoint_ack'; ref: AttemptRef; ok: boolean; version: number; code?: string; message?: string };

/** A worker's result for one attempt. */
export interface ResultIn {
  ref: AttemptRef;
  output: Json | null;
  /** Set when the attempt failed. */
  error: TaskError | null;
  /** W3C trace context of the worker's execute span; empty or absent when not traced. */
  traceContext?: Record<string, string>;
}

/** A worker's opening message. */
export interface HelloIn {
  workerId: string;
  taskTypes: string[];
  queues: string[];
  slots: number;
  labels: Record<string, string>;
  running: AttemptRef[];
  /**
   * The namespaces whose tasks it may receive, from its credential (not from the
   * message): ["*"] for all.
   */
  namespaces: string[];
}
