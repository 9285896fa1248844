import { create, toJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import type { Command } from 'commander';
import { TaskSchema, TaskSpecSchema, TaskStatus, type Task } from '../../../gen/taskd/v1/task_pb.js';
import { ListTasksResponseSchema } from '../../../gen/taskd/v1/task_service_pb.js';
import { action, WAIT_TIMEOUT_FLAG, waitTimeoutOf } from '../action.js';
import { collect, collectList, parseEnumName, parseLabels } from '../arg-parsers.js';
import { CliError } from '../cli-error.js';
import type { CliIo } from '../cli-io.js';
import { ExitCode } from '../exit-code.js';
import { addPagingFlags, fetchPages, hintMore, type PageFlags } from '../paging.js';
import type { Session } from '../session.js';
import { addTaskSpecFlags, applyTaskSpecFlags, readPayload, type TaskSpecFlags } from '../task-spec-flags.js';
import { TERMINAL_TASK_STATUSES, taskStatusName } from '../views/format.js';
import { taskDetails, tasksTable } from '../views/task-view.js';
import { requireSucceeded, watchModeOf, watchTaskToEnd } from '../watch-task.js';

interface WaitFlags {
  wait?: boolean;
  waitTimeout?: string;
}

/** Prints one task: its details (table), its JSON, or its id. */
export const printTask = (s: Session, t: Task, summary?: string): void =>
  s.out.print(TaskSchema, t, { table: () => summary ?? taskDetails(t, s.now()), ids: () => [t.id] });

/** Adds submit, get, list, watch, cancel, retry and result to `program`. */
export function addTaskCommands(program: Command, io: CliIo): void {
  addSubmit(program, io);
  addReads(program, io);
  addChanges(program, io);
}

function addSubmit(program: Command, io: CliIo): void {
  addTaskSpecFlags(program.command('submit').summary('submit a task').description('Submit a task of <type>. Prints the task (with --wait: once it ended).').argument('<type>', 'a task type a worker registered, e.g. noop'), true)
    .option('--wait', 'wait until the task ends; exit 4 if it did not succeed')
    .option(...WAIT_TIMEOUT_FLAG)
    .action(action<TaskSpecFlags & WaitFlags>(io, async (s, [type], o) => {
      const spec = create(TaskSpecSchema, { type, namespace: s.conn.namespace });
      applyTaskSpecFlags(spec, o, await readPayload(o, s.io));
      const r = await s.api.tasks.submitTask({ task: spec }, s.call);
      const task = r.task as Task;
      const verb = r.existing ? 'existing' : 'submitted';
      if (!o.wait) return printTask(s, task, `${verb} ${task.id} (${taskStatusName(task.status)})\n`);
      if (s.out.format === 'table') s.out.text(`${verb} ${task.id}\n`);
      const mode = s.out.format === 'table' ? watchModeOf('table', s.io.stdout) : 'quiet';
      const final = await watchTaskToEnd(s, task.id, mode, waitTimeoutOf(o));
      if (s.out.format !== 'table') printTask(s, final);
      requireSucceeded(final);
    }));
}

/** get, list, watch, result. */
function addReads(program: Command, io: CliIo): void {
  program.command('get').summary('show a task with its attempts').description('Show a task with its payload, output and attempts.')
    .argument('<id>', 'task id')
    .action(action(io, async (s, [id]) => {
      const r = await s.api.tasks.getTask({ id, namespace: s.conn.namespace }, s.call);
      printTask(s, r.task as Task);
    }));

  addPagingFlags(program.command('list').summary('list tasks').description('List tasks, newest first.')
    .option('--status <status>', 'only these statuses (repeatable, or comma-separated: running,failed)', collectList)
    .option('--type <type>', 'only this task type')
    .option('--queue <queue>', 'only this queue')
    .option('--label <key=value>', 'only tasks with this label (repeatable: all must match)', collect)
    .option('--workflow <id>', 'only tasks of this workflow'))
    .action(action<PageFlags & { status?: string[]; type?: string; queue?: string; label?: string[]; workflow?: string }>(io, async (s, _a, o) => {
      const statuses = (o.status ?? []).map((x) => parseEnumName(x, TaskStatus, 'TASK_STATUS', '--status'));
      const labels = Object.entries(parseLabels(o.label ?? [])).map(([k, v]) => `${k}=${v}`);
      const page = await fetchPages(async (pageSize, pageToken) => {
        const r = await s.api.tasks.listTasks({
          namespace: s.conn.namespace, statuses, type: o.type ?? '', queue: o.queue ?? '', workflowId: o.workflow ?? '', labels, pageSize, pageToken,
        }, s.call);
        return { items: r.tasks, next: r.nextPageToken };
      }, o);
      s.out.print(ListTasksResponseSchema, create(ListTasksResponseSchema, { tasks: page.items, nextPageToken: page.next }), {
        table: () => tasksTable(page.items, s.now()), ids: () => page.items.map((t) => t.id),
      });
      if (s.out.format === 'table') hintMore(s.io.stderr, page.next);
    }));

  program.command('watch').summary('follow a task until it ends').description(
    'Follow a task until it ends: a live status line on a terminal, a line per change otherwise, JSON lines with -o json. Exits 0 if it succeeded, 4 if not.',
  ).argument('<id>', 'task id').option(...WAIT_TIMEOUT_FLAG)
    .action(action<WaitFlags>(io, async (s, [id], o) => {
      requireSucceeded(await watchTaskToEnd(s, id as string, watchModeOf(s.out.format, s.io.stdout), waitTimeoutOf(o)));
    }));

  program.command('result').summary("print a task's output JSON").description(
    "Print only the task's output as JSON, for scripts. Exit 4 (error on stderr) if it ended unsuccessfully; exit 8 if it has not ended, unless --wait.",
  ).argument('<id>', 'task id').option('--wait', 'wait for the task to end').option(...WAIT_TIMEOUT_FLAG)
    .action(action<WaitFlags>(io, async (s, [id], o) => {
      let t = (await s.api.tasks.getTask({ id, namespace: s.conn.namespace }, s.call)).task as Task;
      if (!TERMINAL_TASK_STATUSES.has(t.status)) {
        if (!o.wait) throw new CliError(ExitCode.conflict, `task ${t.id} has not ended (${taskStatusName(t.status)}); use --wait`, 'not_ended');
        t = await watchTaskToEnd(s, t.id, 'quiet', waitTimeoutOf(o));
      }
      requireSucceeded(t);
      s.out.text(`${JSON.stringify(t.output ? toJson(ValueSchema, t.output) : null, null, 2)}\n`);
    }));
}

/** cancel, retry. */
function addChanges(program: Command, io: CliIo): void {
  program.command('cancel').summary('cancel a task').description('Cancel a pending, queued or running task (a running attempt is told to stop). Exit 8 if it already ended.')
    .argument('<id>', 'task id').option('--reason <text>', 'why, kept with the task')
    .action(action<{ reason?: string }>(io, async (s, [id], o) => {
      const r = await s.api.tasks.cancelTask({ id, namespace: s.conn.namespace, reason: o.reason ?? '' }, s.call);
      const t = r.task as Task;
      printTask(s, t, `cancelled ${t.id} (${taskStatusName(t.status)})\n`);
    }));

  program.command('retry').summary('run a task again').description(
    'Run a task again: one waiting out a retry backoff becomes due now; a FAILED, CANCELLED or DEAD_LETTERED one runs again with a fresh attempt budget. Exit 8 otherwise.',
  ).argument('<id>', 'task id')
    .action(action(io, async (s, [id]) => {
      const t = (await s.api.tasks.retryTask({ id, namespace: s.conn.namespace }, s.call)).task as Task;
      printTask(s, t, `${t.id === id ? `retrying ${t.id}` : `retrying ${id} as task ${t.id}`} (${taskStatusName(t.status)})\n`);
    }));
}
