/**
 * The taskd worker SDK: register handlers for task types on a {@link Worker} and run
 * it against the scheduler addresses.
 *
 * ```ts
 * const worker = new Worker({ addresses: ['http://127.0.0.1:8080'], slots: 8 });
 * worker.register('email.send', async (ctx) => sendEmail(ctx.payload, { signal: ctx.signal }));
 * await worker.run(signal);
 * ```
 */
export { Worker, type WorkerStatus } from './worker.js';
export type { WorkerOptions } from './worker-options.js';
export type {
  AssignedEvent,
  CompletedEvent,
  ConnectedEvent,
  DisconnectedEvent,
  NotLeaderEvent,
  ResultAckedEvent,
  WorkerEventMap,
} from './worker-events.js';
export type { Handler, JsonValue, TaskContext } from './task-context.js';
export { NonRetryableError } from './non-retryable-error.js';
export { CheckpointError } from './checkpoint-error.js';
export { AttemptAbortedError, type AbortCause } from './attempt-aborted-error.js';
export { defaultKeepalive, type KeepaliveOptions } from './scheduler-stream.js';
export { registerBuiltins, noopHandler, sleepHandler, httpHandler, stepsHandler, type HandlerRegistry } from './builtins.js';
export { startHealthServer, workerReadiness, type HealthServer, type Readiness } from './health-server.js';
