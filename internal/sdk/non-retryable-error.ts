/**
 * Thrown by a handler to fail its attempt for good: the Result carries
 * `retryable: false`, so the scheduler does not retry the task.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
