import { FAULT_KINDS } from './faults.js';
import type { ChaosResult } from './harness.js';
import { countBy, type Violation } from './violation.js';

/** At most this many violations of one check are printed. */
const MAX_LISTED = 10;

/** Left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** The median and maximum of `xs`, as "median / max ms", or "-" when empty. */
export function medianMax(xs: number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  return `${Math.round(mid)} / ${Math.round(s.at(-1) as number)} ms`;
}

const list = (r: Record<string, number>): string =>
  Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '-';

function faultRows(r: ChaosResult): string[][] {
  const rows = [['fault', 'count', 'fault -> dispatching again, incl. restart (median / max)', 'errors']];
  for (const kind of FAULT_KINDS) {
    const fs = r.faults.filter((f) => f.kind === kind);
    const rec = fs.filter((f) => f.recoveredAt > 0).map((f) => f.recoveredAt - f.at);
    rows.push([kind, String(fs.length), medianMax(rec), String(fs.filter((f) => f.error).length)]);
  }
  rows.push(['total', String(r.faults.length), '', '']);
  return rows;
}

function summaryRows(r: ChaosResult): string[][] {
  const s = r.submissions;
  const d = r.duplicates;
  const tk = r.takeovers;
  const num = (xs: (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);
  return [
    ['submits OK', `${s.ok} of ${s.sent} keys (${list(s.okByKind)})`],
    ['failed submit calls', `${s.failedCalls} (${list(s.failedByCode)}); keys never OK ${s.abandoned}; OK on a retry that found the task stored ${s.existingOnRetry}; stored without an OK ${s.storedWithoutOk}`],
    ...Object.entries(s.firstMessageByCode).map(([code, msg]) => [`  first ${code}`, msg.slice(0, 160)]),
    ['terminal states', list(s.statuses)],
    ['duplicates (tasks run > 1x)', `${d.tasks}: explained ${d.explained}, unexplained ${d.unexplained}; earlier attempts ${list(d.earlierByOutcome)}`],
    ['lapsed attempts by fault', list(r.lapsesByFault)],
    ...r.lapsesAfterLeaderFaults.slice(0, 5).map((l) => ['  not after a worker kill', l]),
    ['unexplained, by fault', list(r.unexplainedByFault)],
    ['takeovers measured', `${tk.length} (leader-kill ${tk.filter((t) => t.kind === 'leader-kill').length}, leader-pause ${tk.filter((t) => t.kind === 'leader-pause').length})`],
    ['  fault -> became leader', medianMax(num(tk.map((t) => t.electedMs)))],
    ['  fault -> first dispatch', medianMax(num(tk.map((t) => t.firstDispatchMs)))],
    ['leader changes by fault', `${list(r.leaderChangesByFault)}; step-downs: ${list(r.stepDownReasons)}`],
    ['steps (checkpointing)', `${r.steps.succeeded} succeeded; retried ${r.steps.retried}: resumed from a checkpoint ${r.steps.resumed} (had one ${r.steps.checkpointedBeforeRetry}), from 0 with none stored ${r.steps.restartedFromZero}`],
    ['epochs', `${r.epochs.terms} terms logged; ${r.epochs.dispatchingEpochs} dispatched; leadership row at ${r.epochs.leadershipEpoch}`],
    ['drain', `${r.drain.drained ? 'all terminal' : `NOT drained (${list(r.drain.left)})`} after ${(r.drain.ms / 1000).toFixed(1)} s`],
    ['violations', r.violations.length === 0 ? '0' : `${r.violations.length} (${list(countBy(r.violations, (v) => v.check))})`],
  ];
}

/** The violations, at most {@link MAX_LISTED} per check. */
export function renderViolations(vs: Violation[]): string {
  const shown = new Map<string, number>();
  const lines: string[] = [];
  for (const v of vs) {
    const n = (shown.get(v.check) ?? 0) + 1;
    shown.set(v.check, n);
    if (n <= MAX_LISTED) lines.push(`  [${v.check}]${v.taskId ? ` task ${v.taskId}` : ''}: ${v.detail}`);
  }
  for (const [check, n] of shown) if (n > MAX_LISTED) lines.push(`  [${check}] … ${n - MAX_LISTED} more`);
  return lines.join('\n');
}

/** The summary printed at the end of a run. */
export function renderSummary(r: ChaosResult): string {
  const o = r.options;
  const head = `chaos summary: seed ${o.seed}, ${o.seconds} s of faults (at least ${o.faults}), ${o.rate} tasks/s; ` +
    `${r.shape.schedulers} schedulers, ${r.shape.apiservers} apiservers, ${r.shape.workers} workers x ${r.shape.slots} slots; ` +
    `${(r.ms / 1000).toFixed(0)} s wall`;
  const parts = [head, '', table(faultRows(r)), '', table(summaryRows(r))];
  if (r.violations.length > 0) parts.push('', 'VIOLATIONS', renderViolations(r.violations));
  parts.push('', `process logs: ${r.logDir}`);
  parts.push('', r.violations.length === 0 ? 'PASS: no violations' : `FAIL: ${r.violations.length} violation(s)`);
  return parts.join('\n');
}
