import { describe, expect, it } from 'vitest';
import { replayTaskOf } from './dead-letter.js';
import type { Task } from './task.js';

const at = new Date(Date.UTC(2026, 10, 23, 12));
const original: Task = {
  id: '01900000-0000-7000-8000-000000000001',
  namespace: 'team-a',
  type: 'email.send',
  queue: 'mail',
  payload: { to: 'a@example.com' },
  priority: 7,
  runAt: new Date(at.getTime() - 60_000),
  retryPolicy: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 100, multiplier: 2, jitter: 0.1 },
  timeoutMs: 30_000,
  idempotencyKey: 'order-17',
  labels: { tier: 'gold' },
  notify: { webhookUrl: 'https://example.com/hook', email: null },
  status: 'DEAD_LETTERED',
  attempt: 3,
  output: null,
  error: { message: 'boom', kind: 'handler', retryable: true },
  version: 7,
  workflowId: '01900000-0000-7000-8000-0000000000ff',
  createdAt: at,
  updatedAt: at,
  startedAt: at,
  finishedAt: at,
  attempts: [],
  replayOf: null,
  checkpoint: null,
  correlationId: null,
};

describe('replayTaskOf', () => {
  it('copies the spec under the fresh id, linked to the original, runnable now', () => {
    expect(replayTaskOf(original, 'fresh-id')).toEqual({
      id: 'fresh-id',
      namespace: 'team-a',
      type: 'email.send',
      queue: 'mail',
      payload: { to: 'a@example.com' },
      priority: 7,
      runAt: null,
      retryPolicy: original.retryPolicy,
      timeoutMs: 30_000,
      idempotencyKey: null,
      labels: { tier: 'gold' },
      notify: { webhookUrl: 'https://example.com/hook', email: null },
      replayOf: original.id,
    });
  });

  it('links a replay of a replay to the task it replays, not to the first one', () => {
    const replay = { ...original, id: '01900000-0000-7000-8000-000000000002', replayOf: original.id };
    expect(replayTaskOf(replay, 'x').replayOf).toBe(replay.id);
  });
});
