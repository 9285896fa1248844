/** A stream to a scheduler was welcomed. */
export interface ConnectedEvent {
  address: string;
  epoch: number;
  sessionId: string;
}

/** A stream ended (or a connection attempt failed). */
export interface DisconnectedEvent {
  address: string;
  /** Why; undefined when the server ended the stream cleanly or the worker closed it. */
  error?: unknown;
}

/** A passive scheduler named the leader (empty when it knows none). */
export interface NotLeaderEvent {
  leaderAddress: string;
}

/** An attempt started. */
export interface AssignedEvent {
  taskId: string;
  attempt: number;
  type: string;
}

/** An attempt's handler ended; `ok` when it produced an output. */
export interface CompletedEvent {
  taskId: string;
  attempt: number;
  type: string;
  ok: boolean;
  /** succeeded, failed, or cancelled (the scheduler cancelled it, or its deadline passed: timeout). */
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'timeout';
  /** How long the handler ran. */
  durationMs: number;
}

/** The scheduler answered a Result. `code` is the gRPC code name of a refusal. */
export interface ResultAckedEvent {
  taskId: string;
  attempt: number;
  accepted: boolean;
  code?: string;
}

/** Events a {@link Worker} emits, as Node's typed EventEmitter map. */
export interface WorkerEventMap {
  connected: [ConnectedEvent];
  disconnected: [DisconnectedEvent];
  not_leader: [NotLeaderEvent];
  assigned: [AssignedEvent];
  completed: [CompletedEvent];
  result_acked: [ResultAckedEvent];
  drained: [];
}
