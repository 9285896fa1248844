import type { AttemptRow } from './collect.js';
import type { LeaderEvent } from './leadership-log.js';
import type { Violation } from './violation.js';

/** What the epoch checks saw. */
export interface EpochStats {
  /** Terms logged (`became leader` lines). */
  terms: number;
  /** Distinct epochs that dispatched at least one attempt. */
  dispatchingEpochs: number;
  /** The epoch in Postgres' `leadership` row at the end. */
  leadershipEpoch: number;
}

/** Slack for comparing a log line's ms timestamp with Postgres' µs ones. */
const SLACK_MS = 2;

/**
 * Epoch fencing, from the leadership history the schedulers logged:
 * (1) every attempt's epoch is one some scheduler logged `became leader` for, and the
 *     attempt started after that line (a term dispatches only once it holds the epoch);
 * (2) no attempt was written by an epoch older than the one in force when it started
 *     (the newest epoch whose `became leader` precedes started_at): a deposed leader
 *     dispatched after its successor took over;
 * (3) in started_at order, attempt epochs never decrease: at most one leader dispatches
 *     at a time, so terms' dispatches never interleave;
 * (4) the `leadership` row ends at the newest epoch logged.
 * started_at is the leader's clock when it built the claim, read before its fenced
 * transaction, so (2) and (3) hold even for a leader frozen inside a claim: its
 * successor's epoch write waits for that transaction, and logs after it.
 */
export function checkEpochs(attempts: AttemptRow[], terms: LeaderEvent[], leadershipEpoch: number): { stats: EpochStats; violations: Violation[] } {
  const became = new Map<number, number>();
  for (const t of terms) if (!became.has(t.epoch)) became.set(t.epoch, t.at);
  const ordered = [...terms].sort((a, b) => a.at - b.at);
  const found: Violation[] = [];
  for (const a of attempts) {
    const at = became.get(a.epoch);
    if (at === undefined) found.push(v('unknown-epoch', a, `epoch ${a.epoch} was never logged by a scheduler`));
    else if (a.startedAt + SLACK_MS < at) found.push(v('early-epoch', a, `started ${fmt(at - a.startedAt)} before epoch ${a.epoch} was logged`));
    const inForce = epochInForce(ordered, a.startedAt - SLACK_MS);
    if (inForce !== undefined && a.epoch < inForce) found.push(v('stale-epoch', a, `written by epoch ${a.epoch} after epoch ${inForce} took over`));
  }
  found.push(...interleavings(attempts));
  const newest = Math.max(0, ...became.keys());
  if (leadershipEpoch !== newest) {
    found.push({ check: 'leadership-row', detail: `the leadership row says epoch ${leadershipEpoch}; the newest logged is ${newest}` });
  }
  const stats = { terms: terms.length, dispatchingEpochs: new Set(attempts.map((a) => a.epoch)).size, leadershipEpoch };
  return { stats, violations: found };
}

/** Pairs of consecutive attempts (by started_at) whose epoch goes down. */
function interleavings(attempts: AttemptRow[]): Violation[] {
  const sorted = [...attempts].sort((x, y) => x.startedAt - y.startedAt || x.epoch - y.epoch);
  const out: Violation[] = [];
  let maxSoFar: AttemptRow | undefined;
  for (const a of sorted) {
    if (maxSoFar && a.epoch < maxSoFar.epoch) {
      out.push(v('epoch-interleaved', a, `epoch ${a.epoch} dispatched ${fmt(a.startedAt - maxSoFar.startedAt)} after epoch ${maxSoFar.epoch} had (task ${maxSoFar.taskId})`));
    }
    if (!maxSoFar || a.epoch > maxSoFar.epoch) maxSoFar = a;
  }
  return out;
}

/** The newest epoch whose term began at or before `t` (terms sorted by time). */
export function epochInForce(sortedTerms: LeaderEvent[], t: number): number | undefined {
  let best: number | undefined;
  for (const term of sortedTerms) {
    if (term.at > t) break;
    best = best === undefined ? term.epoch : Math.max(best, term.epoch);
  }
  return best;
}

function v(check: string, a: AttemptRow, why: string): Violation {
  return { check, taskId: a.taskId, detail: `attempt ${a.number} on ${a.workerId} at ${new Date(a.startedAt).toISOString()}: ${why}` };
}

function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
