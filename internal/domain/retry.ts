import { backoffDelay } from '../shared/backoff.js';
import type { RetryPolicy, TaskError, TaskStatus } from './task.js';

/** What becomes of a task after an attempt failed. */
export interface AfterFailure {
  status: Extract<TaskStatus, 'PENDING' | 'QUEUED' | 'FAILED' | 'DEAD_LETTERED'>;
  /** For PENDING: when the next attempt is due (ms since epoch). */
  runAt: number | null;
}

/**
 * Decides the next state after attempt `attempt` (1-based) failed with `error`:
 * non-retryable → FAILED; retries exhausted → DEAD_LETTERED; otherwise PENDING until
 * now + backoff(attempt) (QUEUED when the backoff is zero).
 */
export function afterFailure(
  policy: RetryPolicy,
  attempt: number,
  error: TaskError,
  now: number,
  random: () => number = Math.random,
): AfterFailure {
  if (!error.retryable) return { status: 'FAILED', runAt: null };
  if (attempt >= policy.maxAttempts) return { status: 'DEAD_LETTERED', runAt: null };
  const wait = backoffDelay(
    { initialMs: policy.initialBackoffMs, maxMs: policy.maxBackoffMs, multiplier: policy.multiplier, jitter: policy.jitter },
    attempt,
    random,
  );
  return wait <= 0 ? { status: 'QUEUED', runAt: null } : { status: 'PENDING', runAt: now + wait };
}
