import { describe, expect, it } from 'vitest';
import { parseChaosArgs } from '../../chaos/args.js';
import { attemptsByTask, checkAttempts } from '../../chaos/check-attempts.js';
import { checkEpochs } from '../../chaos/check-epochs.js';
import { checkSteps } from '../../chaos/check-steps.js';
import { checkSubmissions } from '../../chaos/check-submissions.js';
import type { AttemptRow, TaskRow } from '../../chaos/collect.js';
import type { FaultRecord } from '../../chaos/faults.js';
import type { LeaderEvent } from '../../chaos/leadership-log.js';
import { SubmitLedger } from '../../chaos/load.js';
import { medianMax } from '../../chaos/report.js';
import { seededRng } from '../../chaos/rng.js';
import { attributeToFaults, measureTakeovers } from '../../chaos/takeover.js';

const task = (id: string, p: Partial<TaskRow> = {}): TaskRow => ({
  id, type: 'noop', status: 'SUCCEEDED', attempt: 1, idempotencyKey: `k-${id}`, output: null, error: null, checkpoint: null, checkpointVersion: 0, ...p,
});
const attempt = (taskId: string, number: number, p: Partial<AttemptRow> = {}): AttemptRow => ({
  taskId, number, workerId: 'worker-0', status: 'SUCCEEDED', kind: null, message: null, epoch: 1, startedAt: 1_000 + number, endedAt: 2_000 + number, ...p,
});
const term = (epoch: number, at: number): LeaderEvent => ({ kind: 'became', epoch, at, scheduler: 0 });
const checks = (vs: { check: string }[]): string[] => vs.map((v) => v.check);

describe('chaos checks', () => {
  it('submissions: an OK without a row is lost; a non-terminal or failed task is reported', () => {
    const ledger = new SubmitLedger();
    ledger.ok.set('k-a', { id: 'a', kind: 'noop', tries: 1, existing: false });
    ledger.ok.set('k-gone', { id: 'gone', kind: 'noop', tries: 1, existing: false });
    const tasks = [task('a'), task('b', { status: 'RUNNING' }), task('c', { status: 'DEAD_LETTERED', error: { kind: 'worker_lost' } })];
    const { stats, violations } = checkSubmissions(ledger, tasks);
    expect(checks(violations)).toEqual(['lost', 'not-terminal', 'not-succeeded']);
    expect(stats.storedWithoutOk).toBe(2);
  });

  it('attempts: a re-run after worker_lost is explained, after a handler error it is not; two successes are a violation', () => {
    const tasks = [task('a', { attempt: 2 }), task('b', { attempt: 2 }), task('c', { attempt: 2 })];
    const rows = [
      attempt('a', 1, { status: 'FAILED', kind: 'worker_lost' }), attempt('a', 2),
      attempt('b', 1, { status: 'FAILED', kind: 'handler', message: 'not connected' }), attempt('b', 2),
      attempt('c', 1), attempt('c', 2),
    ];
    const { stats, violations, unexplained } = checkAttempts(tasks, attemptsByTask(rows));
    expect(stats).toMatchObject({ tasks: 3, explained: 1, unexplained: 2 });
    expect(checks(violations)).toEqual(['unexplained-duplicate', 'double-success', 'unexplained-duplicate']);
    expect(unexplained.map((a) => a.taskId)).toEqual(['b', 'c']);
  });

  it('attempts: tasks.attempt must match the attempt rows', () => {
    const { violations } = checkAttempts([task('a', { attempt: 2 })], attemptsByTask([attempt('a', 1)]));
    expect(checks(violations)).toEqual(['attempt-history']);
  });

  it('steps: a retry that resumed is fine; one that ignored a stored checkpoint, or re-did a checkpointed step, is not', () => {
    const steps = (id: string, version: number, resumedFrom: number): TaskRow =>
      task(id, { type: 'steps', attempt: 2, checkpointVersion: version, output: { steps: 5, resumedFrom } });
    const tasks = [steps('ok', 5, 3), steps('fresh', 5, 0), steps('ignored', 7, 0), steps('redone', 6, 2)];
    const rows = tasks.flatMap((t) => [attempt(t.id, 1, { status: 'FAILED', kind: 'worker_lost' }), attempt(t.id, 2)]);
    const { stats, violations } = checkSteps(tasks, attemptsByTask(rows));
    expect(stats).toMatchObject({ succeeded: 4, retried: 4, resumed: 2, restartedFromZero: 1 });
    expect(violations.map((v) => `${v.check}:${v.taskId}`)).toEqual(['steps-redone:ignored', 'steps-not-resumed:ignored', 'steps-redone:redone']);
  });

  it('epochs: clean handovers pass; a deposed epoch dispatching after its successor is caught', () => {
    const terms = [term(1, 0), term(2, 5_000)];
    const clean = [attempt('a', 1, { epoch: 1, startedAt: 100 }), attempt('b', 1, { epoch: 2, startedAt: 5_100 })];
    expect(checkEpochs(clean, terms, 2).violations).toEqual([]);
    const stale = [...clean, attempt('c', 1, { epoch: 1, startedAt: 5_200 })];
    expect(checks(checkEpochs(stale, terms, 2).violations)).toEqual(['stale-epoch', 'epoch-interleaved']);
    expect(checks(checkEpochs([attempt('d', 1, { epoch: 3, startedAt: 6_000 })], terms, 2).violations)).toEqual(['unknown-epoch']);
    expect(checks(checkEpochs(clean, terms, 1).violations)).toEqual(['leadership-row']);
  });

  it('takeover: fault to the new epoch\'s election and first dispatch; lapses are attributed to the fault before them', () => {
    const fault: FaultRecord = { kind: 'leader-kill', target: 'scheduler-0', at: 10_000, injectedAt: 11_000, recoveredAt: 13_000, oldEpoch: 1 };
    const rows = [attempt('a', 1, { epoch: 1, startedAt: 9_000 }), attempt('b', 1, { epoch: 2, startedAt: 12_500 })];
    expect(measureTakeovers([fault], [term(1, 0), term(2, 12_100)], rows)).toEqual([
      { kind: 'leader-kill', target: 'scheduler-0', oldEpoch: 1, newEpoch: 2, electedMs: 2_100, firstDispatchMs: 2_500 },
    ]);
    const lapsed = [attempt('c', 1, { endedAt: 14_000 }), attempt('d', 1, { endedAt: 60_000 })];
    expect(attributeToFaults(lapsed, [fault])).toEqual({ 'leader-kill': 1, none: 1 });
  });

  it('arguments, seeded randomness and the median', () => {
    expect(parseChaosArgs([], () => 7)).toMatchObject({ seconds: 120, faults: 12, seed: 7, rate: 25, drainSeconds: 120 });
    expect(parseChaosArgs(['--seconds', '1200', '--faults', '50', '--seed', '3'])).toMatchObject({ seconds: 1200, faults: 50, seed: 3 });
    expect(() => parseChaosArgs(['--seconds', '0'])).toThrow('--seconds: must be an integer from 1');
    expect(() => parseChaosArgs(['--bogus'])).toThrow();
    const a = seededRng(42);
    const b = seededRng(42);
    expect(Array.from({ length: 5 }, () => a.int(0, 100))).toEqual(Array.from({ length: 5 }, () => b.int(0, 100)));
    expect(medianMax([3, 1, 2, 10])).toBe('3 / 10 ms');
  });
});
