import { DomainError } from '../domain/errors.js';
import { eventWorkflowId, type StoredEvent } from '../domain/stored-event.js';
import { taskAsOf, taskChangeOf, taskFromChange } from '../domain/task-change.js';
import { TERMINAL_STATUSES, type Task, type TaskStatus } from '../domain/task.js';
import type { WorkflowStatus } from '../domain/workflow.js';
import type { EventFeed } from '../events/event-feed.js';
import type { Db } from '../storage/db.js';
import { eventList, eventSnapshotRead } from '../storage/event-store.js';
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
 * One WatchWorkflow message: the task that changed, the workflow's status and its tasks'
 * counts by status after the change, and the event ("" for the first snapshot, one
 * message per task).
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
  /** The task of the latest task event applied. */
  private last: WatchedTask | undefined;

  constructor(
    private readonly namespace: string,
    readonly nodes: Map<string, Node>,
    public status: WorkflowStatus,
  ) {}

  /** True when every task the stream knows has ended. */
  allEnded(): boolean {
    for (const n of this.nodes.values()) if (n.status && !TERMINAL_STATUSES.has(n.status)) return false;
    return true;
  }

  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const n of this.nodes.values()) if (n.status) c[n.status] = (c[n.status] ?? 0) + 1;
    return c;
  }

  /** Applies `e` and returns the message it makes; none for an event of the workflow itself (its status moves). */
  apply(e: StoredEvent): WorkflowWatchItem | undefined {
    if (e.aggregateType === 'workflow') {
      this.status = wfStatus(e.data.status) ?? this.status;
      return undefined;
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
    this.last = { name: node.name, dependsOn: node.dependsOn, task: node.task };
    return { task: this.last, status: this.status, counts: this.counts(), eventId: e.id };
  }

  /** A message for event `eventId` of the workflow itself: its state now, with the task that changed last. */
  message(eventId: string): WorkflowWatchItem {
    const task = this.last ?? [...this.nodes.values()].map((n) => ({ name: n.name, dependsOn: n.dependsOn, task: n.task }))[0];
    return { task, status: this.status, counts: this.counts(), eventId };
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
 * `afterEventId`: one message per task now, then one per event of its tasks after that
 * snapshot, until the workflow ends. With it: one message per such event after that one
 * (replayed from the table, then live) and nothing else; nothing when the workflow had
 * already ended by then. Every message carries a task, as its event left it; status and
 * counts are the workflow's as of each event. The workflow's own events only move its
 * status: its end is shown on the task changes committed with it — the last task's end
 * (the workflow's end follows it in the same transaction), or the tasks a cancel ends
 * after the workflow — or, resuming right before it, by a message of its own that
 * repeats the task that changed last.
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
    /**
     * After the event `w` that ended the workflow: the rest of its transaction (read now:
     * it committed with `w`), up to the workflow's next change of its own; then the end.
     */
    const ending = async function* (w: StoredEvent): AsyncGenerator<WorkflowWatchItem> {
      const rest = await eventsAll(deps.db.orm, { namespace: ns, workflowId: id, after: w.sequence });
      let sent = false;
      for (const e of rest) {
        if (e.aggregateType === 'workflow') break;
        if (reflected.has(e.sequence)) continue;
        const m = view.apply(e);
        if (m) {
          sent = true;
          yield m;
        }
      }
      if (!sent) yield view.message(w.id);
    };
    let done = false;
    /** Applies `e` and yields its message; sets `done` when the workflow has ended. */
    const step = async function* (e: StoredEvent): AsyncGenerator<WorkflowWatchItem> {
      const m = view.apply(e);
      if (ended()) {
        done = true;
        yield* ending(e);
        return;
      }
      if (!m) return;
      if (view.allEnded()) {
        // The last task ended: the workflow's end commits right after it, in the same transaction; show it here.
        const [next] = await eventList(deps.db.orm, { namespace: ns, workflowId: id, after: e.sequence, limit: 1 });
        if (next?.aggregateType === 'workflow' && next.data.status !== 'WORKFLOW_STATUS_RUNNING') {
          view.apply(next);
          done = ended();
          yield { ...m, status: view.status };
          return;
        }
      }
      yield m;
    };
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
        yield* step(e);
        if (done) return;
      }
    }
    for await (const batch of liveBatches(sub, signal)) {
      for (const e of batch) {
        if (e.sequence <= seen || reflected.has(e.sequence)) continue;
        yield* step(e);
        if (done) return;
      }
    }
  } finally {
    sub.close();
  }
}
