import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { DEFAULT_LIMITS, validateTaskSpec, type TaskSpecInput } from './task-spec.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const check = (s: TaskSpecInput) => validateTaskSpec(s, 'task', DEFAULT_LIMITS, NOW);
const violations = (s: TaskSpecInput): string[] => {
  try {
    check(s);
  } catch (e) {
    if (e instanceof DomainError) return e.violations.map((v) => `${v.field}: ${v.description}`);
    throw e;
  }
  return [];
};

describe('validateTaskSpec', () => {
  it('fills defaults', () => {
    const t = check({ type: 'noop' });
    expect(t).toMatchObject({ namespace: 'default', queue: 'default', priority: 0, payload: null, runAt: null, idempotencyKey: null });
    expect(t.retryPolicy).toEqual(DEFAULT_LIMITS.defaultRetry);
    expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('turns a delay into run_at and ignores a run_at in the past', () => {
    expect(check({ type: 'noop', delayMs: 2000 }).runAt?.getTime()).toBe(NOW + 2000);
    expect(check({ type: 'noop', runAt: new Date(NOW - 1000) }).runAt).toBeNull();
  });

  it.each<[string, TaskSpecInput, string]>([
    ['missing type', {}, 'task.type: is required'],
    ['negative priority', { type: 'noop', priority: -1 }, 'task.priority: must be an integer from 0 to 1000'],
    ['fractional priority', { type: 'noop', priority: 1.5 }, 'task.priority: must be an integer from 0 to 1000'],
    ['negative delay', { type: 'noop', delayMs: -5 }, 'task.delay: must not be negative'],
    ['bad queue', { type: 'noop', queue: 'a b' }, 'task.queue: must be 1-64 of A-Z, a-z, 0-9, "_", ".", ":" or "-"'],
    ['bad namespace', { type: 'noop', namespace: 'Prod!' }, 'task.namespace: must be 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit'],
    ['absurd max attempts', { type: 'noop', retryPolicy: { maxAttempts: 1000 } }, 'task.retry_policy.max_attempts: must be from 1 to 100'],
    ['jitter above 1', { type: 'noop', retryPolicy: { jitter: 2 } }, 'task.retry_policy.jitter: must be from 0 to 1'],
    ['bad webhook', { type: 'noop', notify: { webhookUrl: 'ftp://x' } }, 'task.notify.webhook_url: must be an http or https URL'],
    ['zero timeout', { type: 'noop', timeoutMs: 0 }, 'task.timeout: must be positive and at most 7 days'],
  ])('rejects %s naming the field', (_name, spec, message) => {
    expect(violations(spec)).toContain(message);
  });

  it('rejects an oversized payload with its size', () => {
    const [v] = violations({ type: 'noop', payload: { blob: 'x'.repeat(DEFAULT_LIMITS.maxPayloadBytes) } });
    expect(v).toMatch(/^task\.payload: is \d+ bytes of JSON; the limit is 1048576$/);
  });

  it('reports every violation at once', () => {
    expect(violations({ priority: -1, queue: '' })).toEqual(['task.type: is required', 'task.priority: must be an integer from 0 to 1000']);
  });
});
