import { v7 as uuidv7 } from 'uuid';
import { DomainError } from '../domain/errors.js';
import { validateWorkflow, type WorkflowLimits, type WorkflowSpecInput, type WorkflowStatus } from '../domain/workflow.js';
import type { Base } from '../shared/base.js';
import type { EventFeed } from '../events/event-feed.js';
import type { Db } from '../storage/db.js';
import { workflowCancel, workflowGet, workflowInsert, workflowList, type WorkflowRecord } from '../storage/workflow-store.js';
import { checkId } from './check-id.js';
import { keysetPage, pageAfterId, pageLimit } from './keyset-page.js';
import type { ReadyHints } from './task-api.js';
import { ATTR, inSubmitSpan } from '../observability/spans.js';
import { watchWorkflow, type WorkflowWatchItem } from './workflow-watch.js';



/** The apiserver's workflow operations, protocol-free; each request one transaction. */
export class WorkflowApi {
  constructor(
    private readonly base: Base,
    private readonly opts: { db: Db; limits: WorkflowLimits; hints: ReadyHints; feed?: EventFeed },
  ) {}

  /**
   * Validates and stores a whole workflow, or nothing. Its tasks carry `correlationId`
   * (the request's) and, inside a `taskd.submit` span, its trace context.
   */
  async submit(input: WorkflowSpecInput, correlationId?: string): Promise<WorkflowRecord> {
    const now = this.base.clock.now();
    const wf = validateWorkflow(input, this.opts.limits, now);
    const id = uuidv7();
    const attributes = { [ATTR.via]: 'workflow', [ATTR.workflowId]: id, [ATTR.tasks]: wf.tasks.length, [ATTR.namespace]: wf.namespace };
    const stored = await inSubmitSpan(attributes, (traceContext) => this.opts.db.tx(async (tx) => {
      await workflowInsert(tx, { id, wf, now: new Date(now), origin: { correlationId: correlationId ?? null, traceContext } });
      return workflowGet(tx, { namespace: wf.namespace, id });
    }));
    this.base.metrics?.workflowsSubmitted.inc();
    for (const t of wf.tasks) this.base.metrics?.tasksSubmitted.inc({ queue: t.task.queue, type: t.task.type });
    const roots = wf.tasks.filter((t) => t.dependsOn.length === 0);
    const ready = [...new Set(roots.filter((t) => !t.task.runAt).map((t) => t.task.queue))];
    if (ready.length > 0) this.opts.hints.ready(ready);
    const due = roots.filter((t) => t.task.runAt).map((t) => (t.task.runAt as Date).getTime());
    if (due.length > 0) this.opts.hints.due(Math.min(...due));
    return stored as WorkflowRecord;
  }

  async get(namespace: string, id: string): Promise<WorkflowRecord> {
    const w = await workflowGet(this.opts.db.orm, { namespace: namespace || 'default', id: checkId(id) });
    if (!w) throw new DomainError('not_found', `workflow ${id} not found`);
    return w;
  }

  async list(p: { namespace: string; statuses: WorkflowStatus[]; pageSize: number; pageToken: string }): Promise<{ workflows: WorkflowRecord[]; nextPageToken: string }> {
    const limit = pageLimit(p.pageSize);
    const ws = await workflowList(this.opts.db.orm, {
      namespace: p.namespace || 'default', statuses: p.statuses, afterId: pageAfterId(p.pageToken), limit: limit + 1,
    });
    const { page, nextPageToken } = keysetPage(ws, limit);
    return { workflows: page, nextPageToken };
  }

  /** Cancels every unfinished task of a workflow; running attempts are told to stop. */
  async cancel(namespace: string, id: string, reason: string): Promise<WorkflowRecord> {
    const ns = namespace || 'default';
    const wid = checkId(id);
    const now = new Date(this.base.clock.now());
    const out = await this.opts.db.tx(async (tx) => {
      const running = await workflowCancel(tx, { namespace: ns, id: wid, reason, now });
      return running && { running, wf: await workflowGet(tx, { namespace: ns, id: wid }) };
    });
    if (!out) throw new DomainError('not_found', `workflow ${id} not found`);
    for (const r of out.running) this.opts.hints.cancelled(r.taskId, r.attempt);
    return out.wf as WorkflowRecord;
  }

  /**
   * One message per task now, then one per event of the workflow or its tasks, until it
   * ends; or, with `afterEventId`, each event after that one (see `watchWorkflow`).
   * Needs the process's event feed.
   */
  watch(p: { namespace: string; id: string; afterEventId: string }, signal: AbortSignal): AsyncGenerator<WorkflowWatchItem> {
    if (!this.opts.feed) throw new Error('WorkflowApi.watch: no event feed was given');
    return watchWorkflow({ db: this.opts.db, feed: this.opts.feed }, p, signal);
  }
}
