import { timestampNow } from '@bufbuild/protobuf/wkt';
import { WatchWorkflowResponseSchema, WorkflowStatus } from '../../gen/taskd/v1/workflow_service_pb.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-code.js';
import type { Session } from './session.js';
import { followStream } from './stream-retry.js';
import { truncate } from './table.js';
import { TERMINAL_STATUS_NAMES, taskStatusName, timeText } from './views/format.js';
import { taskErrorText } from './views/task-view.js';
import { countsText, progressOf, workflowProgressLine, workflowStatusName } from './views/workflow-view.js';
import type { WatchMode } from './watch-task.js';

/** A watched workflow's end. */
export interface WorkflowEnd {
  status: WorkflowStatus;
  counts: Record<string, number>;
}

/**
 * Watches workflow `id` (WorkflowService.WatchWorkflow) until it ends. `live` (a TTY)
 * keeps a progress bar with counts by status on the last line and prints each task as
 * it ends above it; `lines` prints a plain line per task change with the progress so
 * far; `json` prints each stream message as a JSON line. Throws CliError 5 when
 * `waitTimeoutMs` passes.
 */
export async function watchWorkflowToEnd(s: Session, id: string, mode: WatchMode, waitTimeoutMs?: number): Promise<WorkflowEnd> {
  const out = s.io.stdout;
  const seen = new Map<string, string>();
  const end: WorkflowEnd = { status: WorkflowStatus.UNSPECIFIED, counts: {} };
  const columns = out.columns || 100;
  const bar = (): string => `\r\x1b[2K${workflowProgressLine(end.counts, columns)}`;
  await followStream({
    what: `workflow ${id}`,
    now: s.now,
    waitTimeoutMs,
    open: (timeoutMs) => s.api.workflows.watchWorkflow({ id, namespace: s.conn.namespace }, timeoutMs === undefined ? {} : { timeoutMs }),
    done: () => end.status !== WorkflowStatus.UNSPECIFIED && end.status !== WorkflowStatus.RUNNING,
    onMessage: (m) => {
      end.status = m.status;
      end.counts = m.counts;
      if (mode === 'json') return s.out.jsonLine(WatchWorkflowResponseSchema, m);
      const t = m.task;
      const status = t?.task ? taskStatusName(t.task.status) : '';
      const changed = t !== undefined && seen.get(t.name) !== status;
      if (t) seen.set(t.name, status);
      const err = t?.task ? taskErrorText(t.task.error) : '';
      if (mode === 'lines' && changed && t) {
        const { done, total } = progressOf(m.counts);
        out.write(`${timeText(t.task?.updatedAt) || timeText(timestampNow())}  ${t.name}  ${status}${err ? `  ${truncate(err, 100)}` : ''}  (${done}/${total} done)\n`);
      } else if (mode === 'live') {
        if (changed && t && TERMINAL_STATUS_NAMES.has(status)) {
          const mark = status === 'SUCCEEDED' ? '✓' : '✗';
          out.write(`\r\x1b[2K${mark} ${t.name}  ${status}${err ? `  ${truncate(err, 100)}` : ''}\n`);
        }
        out.write(bar());
      }
    },
  });
  if (mode === 'live') out.write('\n');
  if (mode !== 'json' && mode !== 'quiet') out.write(`workflow ${id} ${workflowStatusName(end.status)}: ${countsText(end.counts)}\n`);
  return end;
}

/** Throws CliError 4 ("unsuccessful") unless the workflow succeeded. */
export function requireWorkflowSucceeded(id: string, end: WorkflowEnd): void {
  if (end.status === WorkflowStatus.SUCCEEDED) return;
  throw new CliError(ExitCode.unsuccessful, `workflow ${id} ended ${workflowStatusName(end.status)} (${countsText(end.counts)})`, 'unsuccessful');
}
