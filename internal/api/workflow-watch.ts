import { DomainError } from '../domain/errors.js';
import { eventWorkflowId, type StoredEvent } from '../domain/stored-event.js';
import { taskAsOf, taskChangeOf, taskFromChange } from '../domain/task-change.js';
import type { Task, TaskStatus } from '../domain/task.js';
import type { WorkflowStatus } from '../domain/workflow.js';
import type { EventFeed } from '../events/event-feed.js';
import type { Db } from '../storage/db.js';
import { eventSnapshotRead } from '../storage/event-store.js';
import { workflowGet } from '../storage/workflow-store.js';
import { checkId } from './check-id.js';
import { eventsAll, liveBatches, resumeAnchor } from './watch-start.js';

/** A workflow's task as a watch shows it. */
export interface WatchedTask {
  name: string;
  dependsOn: string[];
  task: Task;
}

/**
 * One WatchWorkflow message: the task that changed (unset for a change of the workflow
 * itself), the workflow's status and its tasks' counts by status after the change, and
 * the event ("" for the first snapshot, one message per task).
 */
export interface WorkflowWatchItem {
  task?: WatchedTask;
  status: WorkflowStatus;
  counts: Record<string, number>;
  eventId: string;
}

interface Node extends WatchedTask {
  /** The task's status at the stream's position; null before it was created. */
  status: TaskStatus | null;
}

const wfStatus = (v: unknown): WorkflowStatus | null =>
  typeof v === 'string' && v.startsWith('WORKFLOW_STATUS_') ? (v.slice('WORKFLOW_STATUS_'.length) as WorkflowStatus) : null;

/** The workflow as the stream has seen it: each event moves it on. */
class WorkflowView {
  constructor(
    private readonly namespace: string,
    readonly nodes: Map<string, Node>,
    public status: WorkflowStatus,
  ) {}

  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const n of this.nodes.values()) if (n.status) c[n.status] = (c[n.status] ?? 0) + 1;
    return c;
  }

  /** Applies `e` and returns the message it makes. */
  apply(e: StoredEvent): WorkflowWatchItem {
    if (e.aggregateType === 'workflow') {
      this.status = wfStatus(e.data.status) ?? this.status;
      return { status: this.status, counts: this.counts(), eventId: e.id };
    }
    const change = taskChangeOf(e);
    let node = this.nodes.get(e.aggregateId);
    if (!node) {
      // A task that joined after the read (a retry's replay takes its original's place): known from its events.
      node = { name: change.node ?? '', dependsOn: [], task: taskFromChange(this.namespace, change), status: null };
      this.nodes.set(e.aggregateId, node);
    }
    node.task = taskAsOf(node.task, change);
    node.status = change.status;
    return { task: { name: node.name, dependsOn: node.dependsOn, task: node.task }, status: this.status, counts: this.counts(), eventId: e.id };
  }

  /** Rewinds statuses to before `events` (the events after the resume point that the read reflects). */
  rewind(events: StoredEvent[]): void {
    const seen = new Set<string>();
    for (const e of events) {
      if (seen.has(e.aggregateId)) continue;
      seen.add(e.aggregateId);
      if (e.aggregateType === 'workflow') {
        this.status = wfStatus(e.data.previousStatus) ?? this.status;
        continue;
      }
      const node = this.nodes.get(e.aggregateId);
      if (node) node.status = taskChangeOf(e).previousStatus;
    }
  }
}

/**
 * WatchWorkflow fed by the event feed (docs/events.md, "Watch streams"). Without
 * `afterEventId`: one message per task now, then one per event of the workflow or its
 * tasks after that snapshot, until the workflow ends. With it: one message per event
 * after that one (replayed from the table, then live) and nothing else; nothing when the
 * workflow had already ended by then. Counts are the tasks' statuses as of each event;
 * a task message shows the task as its event left it.
 * Throws `not_found` for a workflow (or resume event) not in `namespace`, `invalid` for
 * a resume event of another workflow.
 */
export async function* watchWorkflow(
  deps: { db: Db; feed: EventFeed }, p: { namespace: string; id: string; afterEventId: string }, signal: AbortSignal,
): AsyncGenerator<WorkflowWatchItem> {
  const ns = p.namespace || 'default';
  const id = checkId(p.id);
  const sub = await deps.feed.subscribe({ namespace: ns, keys: [id] }, signal);
  try {
    const start = await eventSnapshotRead(deps.db, async (tx) => {
      const wf = await workflowGet(tx, { namespace: ns, id });
      if (!wf) throw new DomainError('not_found', `workflow ${p.id} not found`);
      const anchor = p.afterEventId ? await resumeAnchor(tx, ns, p.afterEventId) : undefined;
      if (anchor && eventWorkflowId(anchor) !== id) {
        throw DomainError.invalid([{ field: 'after_event_id', description: `event ${p.afterEventId} is not an event of workflow ${id} or its tasks` }]);
      }
      // Everything the read reflects beyond the resume point or the feed's position.
      const events = await eventsAll(tx, { namespace: ns, workflowId: id, after: anchor?.sequence ?? sub.position });
      return { wf, anchor, events };
    });
    const nodes = new Map<string, Node>(start.wf.tasks.map((t) => [t.task.id, { ...t, status: t.task.status }]));
    const view = new WorkflowView(ns, nodes, start.wf.status);
    const ended = (): boolean => view.status !== 'RUNNING';
    // Events the snapshot reflects that come live too, and (resuming) those up to the
    // resume point, which may lie beyond the feed's position: not shown twice.
    let reflected = new Set<number>();
    let seen = 0;
    if (!start.anchor) {
      for (const n of nodes.values()) {
        yield { task: { name: n.name, dependsOn: n.dependsOn, task: n.task }, status: view.status, counts: view.counts(), eventId: '' };
      }
      if (ended()) return;
      reflected = new Set(start.events.map((e) => e.sequence));
    } else {
      if (start.events.length === 0 && ended()) return;
      view.rewind(start.events);
      seen = start.anchor.sequence;
      for (const e of start.events.filter((x) => x.sequence <= sub.position)) {
        yield view.apply(e);
        if (ended()) return;
      }
    }
    for await (const batch of liveBatches(sub, signal)) {
      for (const e of batch) {
        if (e.sequence <= seen || reflected.has(e.sequence)) continue;
        yield view.apply(e);
        if (ended()) return;
      }
    }
  } finally {
    sub.close();
  }
}
