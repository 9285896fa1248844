import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { reconnectBackoff, type BackoffPolicy } from '../shared/backoff.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { defaultKeepalive, type KeepaliveOptions } from './scheduler-stream.js';

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** Scheduler base URLs, e.g. `http://127.0.0.1:8080`; tried in turn. At least one. */
  addresses: string[];
  /** Default: `<hostname>-<pid>-<random>`. */
  workerId?: string;
  /** Default `['default']`. */
  queues?: string[];
  /** Attempts run at once; default 4. */
  slots?: number;
  labels?: Record<string, string>;
  /** Sent as `authorization: Bearer <token>` on the stream. */
  token?: string;
  /** Default: a silent logger. */
  logger?: Logger;
  clock?: Clock;
  /** How long a drain waits for attempts to end and results to be acknowledged; default 30 000. */
  drainTimeoutMs?: number;
  /** After the drain timeout aborts the attempts, how long to wait for their results; default 2 000. */
  shutdownGraceMs?: number;
  /** A stream that gets no Welcome within this long is abandoned; default 10 000. */
  welcomeTimeoutMs?: number;
  /** Heartbeat interval when the Welcome names none; default 2 000. */
  defaultHeartbeatMs?: number;
  /** How long closing a stream waits for the server to end it; default 2 000. */
  closeGraceMs?: number;
  /** HTTP/2 PING keepalive; default 2 s interval, 3 s timeout. */
  keepalive?: KeepaliveOptions;
  /** Reconnect backoff (full jitter); default `reconnectBackoff`. */
  backoff?: BackoffPolicy;
}

/** Options with every default filled in. */
export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'token'>> & { token: string | undefined };

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Worker: ${name} must be a positive number, got ${value}`);
  return value;
}

/** Fills defaults and validates; throws an Error naming the bad option. */
export function resolveWorkerOptions(o: WorkerOptions): ResolvedWorkerOptions {
  const slots = o.slots ?? 4;
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`Worker: slots must be an integer >= 1, got ${slots}`);
  const queues = o.queues ?? ['default'];
  if (queues.length === 0) throw new Error('Worker: queues must name at least one queue');
  return {
    addresses: o.addresses,
    workerId: o.workerId || `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    queues,
    slots,
    labels: o.labels ?? {},
    token: o.token,
    logger: o.logger ?? silentLogger(),
    clock: o.clock ?? systemClock,
    drainTimeoutMs: positive('drainTimeoutMs', o.drainTimeoutMs ?? 30_000),
    shutdownGraceMs: positive('shutdownGraceMs', o.shutdownGraceMs ?? 2_000),
    welcomeTimeoutMs: positive('welcomeTimeoutMs', o.welcomeTimeoutMs ?? 10_000),
    defaultHeartbeatMs: positive('defaultHeartbeatMs', o.defaultHeartbeatMs ?? 2_000),
    closeGraceMs: positive('closeGraceMs', o.closeGraceMs ?? 2_000),
    keepalive: o.keepalive ?? defaultKeepalive,
    backoff: o.backoff ?? reconnectBackoff,
  };
}
