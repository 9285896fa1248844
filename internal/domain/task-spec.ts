import { v7 as uuidv7 } from 'uuid';
import { DomainError, type FieldViolation } from './errors.js';
import type { Json, NewTask, Notify, RetryPolicy } from './task.js';

/** A submission as the RPC edge hands it over: durations already in ms, unset = undefined. */
export interface TaskSpecInput {
  namespace?: string;
  type?: string;
  queue?: string;
  payload?: Json;
  priority?: number;
  delayMs?: number;
  runAt?: Date;
  retryPolicy?: Partial<RetryPolicy>;
  timeoutMs?: number;
  idempotencyKey?: string;
  labels?: Record<string, string>;
  notify?: Partial<Notify>;
}

/** Server-side bounds and defaults for submissions. */
export interface SpecLimits {
  maxPayloadBytes: number;
  /** Furthest a delay or run_at may reach into the future. */
  maxHorizonMs: number;
  defaultRetry: RetryPolicy;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 1_000,
  maxBackoffMs: 300_000,
  multiplier: 2,
  jitter: 0.2,
};

export const DEFAULT_LIMITS: SpecLimits = {
  maxPayloadBytes: 1 << 20,
  maxHorizonMs: 366 * 24 * 3600 * 1000,
  defaultRetry: DEFAULT_RETRY,
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const NAMESPACE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_ATTEMPTS = 100;
const MAX_LABELS = 64;

/**
 * Checks a submission and fills in defaults. `path` prefixes every field named in an
 * error (e.g. "task" or "tasks[3]"). Throws DomainError `invalid` listing every
 * violation, each naming its field and the rule it broke.
 */
export function validateTaskSpec(input: TaskSpecInput, path: string, limits: SpecLimits, now: number): NewTask {
  const v: FieldViolation[] = [];
  const bad = (field: string, description: string): void => void v.push({ field: `${path}.${field}`, description });

  const namespace = input.namespace || 'default';
  if (!NAMESPACE.test(namespace)) bad('namespace', 'must be 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit');
  const type = input.type ?? '';
  if (type === '') bad('type', 'is required');
  else if (type.length > 128 || !NAME.test(type)) bad('type', 'must be 1-128 of A-Z, a-z, 0-9, "_", ".", ":" or "-"');
  const queue = input.queue || 'default';
  if (queue.length > 64 || !NAME.test(queue)) bad('queue', 'must be 1-64 of A-Z, a-z, 0-9, "_", ".", ":" or "-"');

  const payload = input.payload === undefined ? null : input.payload;
  const size = Buffer.byteLength(JSON.stringify(payload));
  if (size > limits.maxPayloadBytes) bad('payload', `is ${size} bytes of JSON; the limit is ${limits.maxPayloadBytes}`);

  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000) bad('priority', 'must be an integer from 0 to 1000');

  let runAt: Date | null = null;
  if (input.delayMs !== undefined && input.runAt !== undefined) bad('delay', 'cannot be set together with run_at');
  if (input.delayMs !== undefined) {
    if (input.delayMs < 0) bad('delay', 'must not be negative');
    else if (input.delayMs > limits.maxHorizonMs) bad('delay', `must be at most ${limits.maxHorizonMs} ms`);
    else if (input.delayMs > 0) runAt = new Date(now + input.delayMs);
  }
  if (input.runAt !== undefined) {
    const t = input.runAt.getTime();
    if (Number.isNaN(t)) bad('run_at', 'is not a valid timestamp');
    else if (t - now > limits.maxHorizonMs) bad('run_at', `must be at most ${limits.maxHorizonMs} ms in the future`);
    else if (t > now) runAt = input.runAt;
  }

  const retryPolicy = retryWithDefaults(input.retryPolicy, limits.defaultRetry, bad);
  const timeoutMs = input.timeoutMs ?? null;
  if (timeoutMs !== null && (timeoutMs <= 0 || timeoutMs > 7 * 24 * 3600 * 1000)) {
    bad('timeout', 'must be positive and at most 7 days');
  }

  const idempotencyKey = input.idempotencyKey || null;
  if (idempotencyKey !== null && idempotencyKey.length > 256) bad('idempotency_key', 'must be at most 256 characters');

  const labels = input.labels ?? {};
  const labelKeys = Object.keys(labels);
  if (labelKeys.length > MAX_LABELS) bad('labels', `must have at most ${MAX_LABELS} entries`);
  for (const k of labelKeys) {
    if (k.length === 0 || k.length > 63 || !NAME.test(k)) bad(`labels.${k}`, 'key must be 1-63 of A-Z, a-z, 0-9, "_", ".", ":" or "-"');
    else if ((labels[k] ?? '').length > 256) bad(`labels.${k}`, 'value must be at most 256 characters');
  }
  const notify = notifyOf(input.notify, bad);

  if (v.length > 0) throw DomainError.invalid(v);
  return {
    // Monotonic within the process (the library's own state), so ids order submissions.
    id: uuidv7(),
    namespace, type, queue, payload, priority, runAt, retryPolicy, timeoutMs, idempotencyKey, labels, notify,
  };
}

function retryWithDefaults(
  p: Partial<RetryPolicy> | undefined,
  d: RetryPolicy,
  bad: (field: string, description: string) => void,
): RetryPolicy {
  const r: RetryPolicy = {
    maxAttempts: p?.maxAttempts ?? d.maxAttempts,
    initialBackoffMs: p?.initialBackoffMs ?? d.initialBackoffMs,
    maxBackoffMs: p?.maxBackoffMs ?? d.maxBackoffMs,
    multiplier: p?.multiplier || d.multiplier,
    jitter: p?.jitter ?? d.jitter,
  };
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1 || r.maxAttempts > MAX_ATTEMPTS) {
    bad('retry_policy.max_attempts', `must be from 1 to ${MAX_ATTEMPTS}`);
  }
  if (r.initialBackoffMs < 0) bad('retry_policy.initial_backoff', 'must not be negative');
  if (r.maxBackoffMs < 0) bad('retry_policy.max_backoff', 'must not be negative');
  if (r.maxBackoffMs < r.initialBackoffMs) bad('retry_policy.max_backoff', 'must not be below initial_backoff');
  if (r.maxBackoffMs > 7 * 24 * 3600 * 1000) bad('retry_policy.max_backoff', 'must be at most 7 days');
  if (!(r.multiplier >= 1 && r.multiplier <= 100)) bad('retry_policy.multiplier', 'must be from 1 to 100');
  if (!(r.jitter >= 0 && r.jitter <= 1)) bad('retry_policy.jitter', 'must be from 0 to 1');
  return r;
}

function notifyOf(n: Partial<Notify> | undefined, bad: (field: string, description: string) => void): Notify | null {
  const webhookUrl = n?.webhookUrl || null;
  const email = n?.email || null;
  if (webhookUrl !== null) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(webhookUrl).protocol);
    } catch {
      ok = false;
    }
    if (!ok) bad('notify.webhook_url', 'must be an http or https URL');
  }
  if (email !== null && !/^[^@\s]+@[^@\s]+$/.test(email)) bad('notify.email', 'must be an email address');
  return webhookUrl || email ? { webhookUrl, email } : null;
}
