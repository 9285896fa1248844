import { timestampNow } from '@bufbuild/protobuf/wkt';
import { TaskSchema, type Task } from '../../gen/taskd/v1/task_pb.js';
import { CliError } from './cli-error.js';
import type { Output } from './cli-io.js';
import { ExitCode } from './exit-code.js';
import type { Session } from './session.js';
import { followStream } from './stream-retry.js';
import { TERMINAL_TASK_STATUSES, taskStatusName, timeText } from './views/format.js';
import { taskErrorText, taskStatusLine } from './views/task-view.js';

/** What a watch prints while it runs: nothing, a live line (TTY), a line per change, or JSON lines. */
export type WatchMode = 'quiet' | 'live' | 'lines' | 'json';

/** The display mode for watch output on `out` in output format `format`. */
export function watchModeOf(format: string, out: Output): WatchMode {
  if (format === 'json') return 'json';
  return out.isTTY ? 'live' : 'lines';
}

/**
 * Watches task `id` (TaskService.WatchTask) until it ends, showing each change in
 * `mode`, and returns its final state. Throws CliError 5 when `waitTimeoutMs` passes.
 */
export async function watchTaskToEnd(s: Session, id: string, mode: WatchMode, waitTimeoutMs?: number): Promise<Task> {
  const out = s.io.stdout;
  let last: Task | undefined;
  const draw = (): void => {
    if (last) out.write(`\r\x1b[2K${taskStatusLine(last, s.now())}`);
  };
  const ticker = mode === 'live' ? setInterval(draw, 1_000) : undefined;
  ticker?.unref();
  try {
    await followStream({
      what: `task ${id}`,
      now: s.now,
      waitTimeoutMs,
      open: (timeoutMs) => s.api.tasks.watchTask({ id, namespace: s.conn.namespace }, timeoutMs === undefined ? {} : { timeoutMs }),
      done: () => last !== undefined && TERMINAL_TASK_STATUSES.has(last.status),
      onMessage: (m) => {
        if (!m.task) return;
        const changed = !last || last.status !== m.task.status || last.attemptCount !== m.task.attemptCount;
        last = m.task;
        if (mode === 'json') s.out.jsonLine(TaskSchema, m.task);
        else if (mode === 'live') draw();
        else if (mode === 'lines' && changed) out.write(`${timeText(m.task.updatedAt) || timeText(timestampNow())}  ${taskStatusLine(m.task, s.now())}\n`);
      },
    });
  } finally {
    if (ticker) clearInterval(ticker);
    if (mode === 'live' && last) out.write('\n');
  }
  return last as Task;
}

/** Throws CliError 4 ("unsuccessful") unless `t` succeeded. */
export function requireSucceeded(t: Task): void {
  if (taskStatusName(t.status) === 'SUCCEEDED') return;
  const why = taskErrorText(t.error);
  throw new CliError(ExitCode.unsuccessful, `task ${t.id} ended ${taskStatusName(t.status)}${why ? `: ${why}` : ''}`, 'unsuccessful');
}
