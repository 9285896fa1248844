import { FailurePolicy, WorkflowStatus, type Workflow } from '../../../gen/taskd/v1/workflow_service_pb.js';
import { renderFields, renderTable, truncate } from '../table.js';
import { ageText, TERMINAL_STATUS_NAMES, taskStatusName, timeText } from './format.js';
import { attemptsText, taskErrorText } from './task-view.js';

const STATUS_ORDER = ['RUNNING', 'QUEUED', 'PENDING', 'SUCCEEDED', 'FAILED', 'DEAD_LETTERED', 'CANCELLED', 'SKIPPED'];

/** A workflow status's name without its prefix: `RUNNING`, `SUCCEEDED`. */
export const workflowStatusName = (s: WorkflowStatus): string => WorkflowStatus[s] ?? String(s);

/** Tasks ended and in all, from a workflow's counts by status name. */
export function progressOf(counts: Record<string, number>): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const [status, n] of Object.entries(counts)) {
    total += n;
    if (TERMINAL_STATUS_NAMES.has(status)) done += n;
  }
  return { done, total };
}

/** Counts by status, live ones first: `SUCCEEDED 5 · RUNNING 2`. Zero counts are left out. */
export function countsText(counts: Record<string, number>): string {
  const known = STATUS_ORDER.filter((s) => (counts[s] ?? 0) > 0);
  const other = Object.keys(counts).filter((s) => !STATUS_ORDER.includes(s) && (counts[s] ?? 0) > 0).sort();
  return [...known, ...other].map((s) => `${s} ${counts[s]}`).join(' · ');
}

/** A bar `width` cells wide, filled in proportion to done/total: `[██████░░░░]`. */
export function progressBar(done: number, total: number, width: number): string {
  const cells = Math.max(1, width);
  const filled = total > 0 ? Math.min(cells, Math.floor((done / total) * cells)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(cells - filled)}]`;
}

/**
 * The live line under a watched workflow, `[██████░░░░] 6/10  RUNNING 2 · QUEUED 2 · SUCCEEDED 6`:
 * the bar a third of the terminal wide (10..40 cells), the line cut to fit.
 */
export function workflowProgressLine(counts: Record<string, number>, columns: number): string {
  const { done, total } = progressOf(counts);
  const width = Math.max(10, Math.min(40, Math.floor(columns / 3)));
  return truncate(`${progressBar(done, total, width)} ${done}/${total}  ${countsText(counts)}`, Math.max(20, columns - 1));
}

/** Workflows as a table: ID, NAME, STATUS, DONE (ended/all tasks), AGE. */
export function workflowsTable(workflows: Workflow[], now: number): string {
  return renderTable(
    ['ID', 'NAME', 'STATUS', 'DONE', 'AGE'],
    workflows.map((w) => {
      const p = progressOf(w.counts);
      return [w.id, w.name, workflowStatusName(w.status), `${p.done}/${p.total}`, ageText(w.createdAt, now)];
    }),
    'No workflows.',
  );
}

/** One workflow: its fields, counts, and a table of its tasks. */
export function workflowDetails(w: Workflow, now: number): string {
  const fields = renderFields([
    ['ID', w.id],
    ['Name', w.name],
    ['Namespace', w.namespace],
    ['Status', workflowStatusName(w.status)],
    ['Failure policy', FailurePolicy[w.failurePolicy] ?? ''],
    ['Tasks', countsText(w.counts)],
    ['Created', w.createdAt ? `${timeText(w.createdAt)} (${ageText(w.createdAt, now)} ago)` : ''],
    ['Finished', timeText(w.finishedAt)],
  ]);
  const tasks = renderTable(
    ['NAME', 'STATUS', 'DEPENDS ON', 'TASK ID', 'ATTEMPTS', 'ERROR'],
    w.tasks.map((t) => [
      t.name, t.task ? taskStatusName(t.task.status) : '', t.dependsOn.join(','), t.task?.id ?? '',
      t.task ? attemptsText(t.task) : '', truncate(taskErrorText(t.task?.error), 60),
    ]),
  );
  return tasks ? `${fields}\n${tasks}` : fields;
}
