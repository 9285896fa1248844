import { describe, expect, it } from 'vitest';
import { afterFailure } from './retry.js';
import { DEFAULT_RETRY } from './task-spec.js';

const err = (retryable: boolean) => ({ message: 'boom', kind: 'handler', retryable });

describe('afterFailure', () => {
  it('fails a non-retryable error at once', () => {
    expect(afterFailure(DEFAULT_RETRY, 1, err(false), 0)).toEqual({ status: 'FAILED', runAt: null });
  });
  it('dead-letters when attempts are exhausted', () => {
    expect(afterFailure({ ...DEFAULT_RETRY, maxAttempts: 3 }, 3, err(true), 0)).toEqual({ status: 'DEAD_LETTERED', runAt: null });
  });
  it('retries after an exponential, capped, jittered backoff', () => {
    const p = { maxAttempts: 10, initialBackoffMs: 1000, maxBackoffMs: 5000, multiplier: 2, jitter: 0.5 };
    expect(afterFailure(p, 1, err(true), 100, () => 1)).toEqual({ status: 'PENDING', runAt: 100 + 1000 });
    expect(afterFailure(p, 2, err(true), 100, () => 0)).toEqual({ status: 'PENDING', runAt: 100 + 1000 });
    expect(afterFailure(p, 9, err(true), 0, () => 1)).toEqual({ status: 'PENDING', runAt: 5000 });
  });
  it('queues at once when the backoff is zero', () => {
    expect(afterFailure({ ...DEFAULT_RETRY, initialBackoffMs: 0 }, 1, err(true), 0)).toEqual({ status: 'QUEUED', runAt: null });
  });
});
