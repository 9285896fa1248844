import type { TaskRow } from './collect.js';
import type { SubmitLedger } from './load.js';
import { countBy, type Violation } from './violation.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'DEAD_LETTERED', 'CANCELLED', 'SKIPPED']);

/** What happened to the submissions, and where the tasks ended. */
export interface SubmissionStats {
  /** Keys submitted. */
  sent: number;
  /** Keys answered OK (perhaps after failed calls). */
  ok: number;
  /** OK answers by task kind. */
  okByKind: Record<string, number>;
  /** Failed calls, and by gRPC code. */
  failedCalls: number;
  failedByCode: Record<string, number>;
  /** The first failure message seen per code. */
  firstMessageByCode: Record<string, string>;
  /** Keys whose every call failed. */
  abandoned: number;
  /** OK answers saying an earlier (failed-looking) call had already stored the task. */
  existingOnRetry: number;
  /** Tasks in Postgres whose submit never got an OK (the call failed after the commit). */
  storedWithoutOk: number;
  /** Every task of the run, by final status. */
  statuses: Record<string, number>;
}

/**
 * Durable submission and one terminal state: every OK'd task exists under its key and
 * ended; every task of the run (OK'd or not) is terminal, and SUCCEEDED (the only
 * outcome the harness's task types can have).
 */
export function checkSubmissions(ledger: SubmitLedger, tasks: TaskRow[]): { stats: SubmissionStats; violations: Violation[] } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const violations: Violation[] = [];
  for (const [key, ok] of ledger.ok) {
    const t = byId.get(ok.id);
    if (!t) violations.push({ check: 'lost', taskId: ok.id, detail: `submit of ${key} answered OK but the task is not in Postgres` });
    else if (t.idempotencyKey !== key) violations.push({ check: 'wrong-task', taskId: ok.id, detail: `submit of ${key} answered with a task whose key is ${t.idempotencyKey}` });
  }
  for (const t of tasks) {
    if (!TERMINAL.has(t.status)) violations.push({ check: 'not-terminal', taskId: t.id, detail: `${t.type} is still ${t.status} after ${t.attempt} attempt(s)` });
    else if (t.status !== 'SUCCEEDED') {
      violations.push({ check: 'not-succeeded', taskId: t.id, detail: `${t.type} ended ${t.status} after ${t.attempt} attempt(s): ${JSON.stringify(t.error)}` });
    }
  }
  const okKeys = new Set(ledger.ok.keys());
  const oks = [...ledger.ok.values()];
  const stats: SubmissionStats = {
    sent: ledger.sent,
    ok: ledger.ok.size,
    okByKind: countBy(oks, (o) => o.kind),
    failedCalls: ledger.failures.length,
    failedByCode: countBy(ledger.failures, (f) => f.code),
    firstMessageByCode: Object.fromEntries([...ledger.failures].reverse().map((f) => [f.code, f.message])),
    abandoned: ledger.abandoned.size,
    existingOnRetry: oks.filter((o) => o.existing).length,
    storedWithoutOk: tasks.filter((t) => t.idempotencyKey === null || !okKeys.has(t.idempotencyKey)).length,
    statuses: countBy(tasks, (t) => t.status),
  };
  return { stats, violations };
}
