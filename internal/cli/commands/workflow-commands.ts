import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import {
  ListWorkflowsResponseSchema, WorkflowSchema, WorkflowSpecSchema, WorkflowStatus, type Workflow,
} from '../../../gen/taskd/v1/workflow_service_pb.js';
import { action, WAIT_TIMEOUT_FLAG, waitTimeoutOf } from '../action.js';
import { collectList, parseEnumName } from '../arg-parsers.js';
import type { CliIo } from '../cli-io.js';
import { addPagingFlags, fetchPages, hintMore, type PageFlags } from '../paging.js';
import type { Session } from '../session.js';
import { readSpecFile } from '../spec-file.js';
import { watchModeOf } from '../watch-task.js';
import { requireWorkflowSucceeded, watchWorkflowToEnd } from '../watch-workflow.js';
import { workflowDetails, workflowsTable, workflowStatusName } from '../views/workflow-view.js';

const printWorkflow = (s: Session, w: Workflow, summary?: string): void =>
  s.out.print(WorkflowSchema, w, { table: () => summary ?? workflowDetails(w, s.now()), ids: () => [w.id] });

const FILE_HELP = `
The file is a WorkflowSpec in YAML or JSON (the body of POST /v1/workflows):

  name: nightly
  failurePolicy: continue          # or fail_fast (the default)
  tasks:
    - name: extract
      task: { type: http, payload: { url: "https://example.com/data" }, timeout: 30s }
    - name: load
      dependsOn: [extract]
      task: { type: load, retryPolicy: { maxAttempts: 5 } }
`;

/** Adds `workflow submit|get|list|cancel|watch` to `program`. */
export function addWorkflowCommands(program: Command, io: CliIo): void {
  const wf = program.command('workflow').summary('submit and follow DAG workflows').description('Submit, inspect, cancel and watch DAG workflows.');

  wf.command('submit').summary('submit a workflow from a file').description('Submit a workflow from a YAML or JSON file ("-" reads stdin). Prints the workflow with its task ids.')
    .argument('<file>', 'workflow spec file, .yaml/.yml/.json, or - for stdin')
    .option('--name <name>', "set the workflow's name (overrides the file's)")
    .option('--watch', 'then watch it until it ends; exit 4 if it did not succeed')
    .option(...WAIT_TIMEOUT_FLAG)
    .addHelpText('after', FILE_HELP)
    .action(action<{ name?: string; watch?: boolean; waitTimeout?: string }>(io, async (s, [file], o) => {
      const spec = await readSpecFile(WorkflowSpecSchema, file as string, s.io);
      if (o.name !== undefined) spec.name = o.name;
      if (s.conn.namespace) spec.namespace = s.conn.namespace;
      const w = (await s.api.workflows.submitWorkflow({ workflow: spec }, s.call)).workflow as Workflow;
      if (!o.watch) return printWorkflow(s, w, `submitted workflow ${w.id} (${w.tasks.length} tasks)\n`);
      if (s.out.format === 'table') s.out.text(`submitted workflow ${w.id} (${w.tasks.length} tasks)\n`);
      else printWorkflow(s, w);
      requireWorkflowSucceeded(w.id, await watchWorkflowToEnd(s, w.id, watchModeOf(s.out.format, s.io.stdout), waitTimeoutOf(o)));
    }));

  wf.command('get').summary('show a workflow and its tasks').argument('<id>', 'workflow id')
    .action(action(io, async (s, [id]) => {
      printWorkflow(s, (await s.api.workflows.getWorkflow({ id, namespace: s.conn.namespace }, s.call)).workflow as Workflow);
    }));

  addPagingFlags(wf.command('list').summary('list workflows').description('List workflows, newest first.')
    .option('--status <status>', 'only these statuses (repeatable, or comma-separated: running,failed)', collectList))
    .action(action<PageFlags & { status?: string[] }>(io, async (s, _a, o) => {
      const statuses = (o.status ?? []).map((x) => parseEnumName(x, WorkflowStatus, 'WORKFLOW_STATUS', '--status'));
      const page = await fetchPages(async (pageSize, pageToken) => {
        const r = await s.api.workflows.listWorkflows({ namespace: s.conn.namespace, statuses, pageSize, pageToken }, s.call);
        return { items: r.workflows, next: r.nextPageToken };
      }, o);
      s.out.print(ListWorkflowsResponseSchema, create(ListWorkflowsResponseSchema, { workflows: page.items, nextPageToken: page.next }), {
        table: () => workflowsTable(page.items, s.now()), ids: () => page.items.map((w) => w.id),
      });
      if (s.out.format === 'table') hintMore(s.io.stderr, page.next);
    }));

  wf.command('cancel').summary('cancel every task of a workflow not yet ended').argument('<id>', 'workflow id')
    .option('--reason <text>', 'why, kept with the tasks')
    .action(action<{ reason?: string }>(io, async (s, [id], o) => {
      const w = (await s.api.workflows.cancelWorkflow({ id, namespace: s.conn.namespace, reason: o.reason ?? '' }, s.call)).workflow as Workflow;
      printWorkflow(s, w, `cancelled workflow ${w.id} (${workflowStatusName(w.status)})\n`);
    }));

  wf.command('watch').summary('follow a workflow until it ends').description(
    'Follow a workflow until it ends: a progress bar with counts by status on a terminal, a line per task change otherwise, JSON lines with -o json. Exits 0 if it succeeded, 4 if not.',
  ).argument('<id>', 'workflow id').option(...WAIT_TIMEOUT_FLAG)
    .action(action<{ waitTimeout?: string }>(io, async (s, [id], o) => {
      requireWorkflowSucceeded(id as string, await watchWorkflowToEnd(s, id as string, watchModeOf(s.out.format, s.io.stdout), waitTimeoutOf(o)));
    }));
}
