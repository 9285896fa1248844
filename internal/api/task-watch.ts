import { DomainError } from '../domain/errors.js';
import { taskAsOf, taskChangeOf } from '../domain/task-change.js';
import { TERMINAL_STATUSES, type Task } from '../domain/task.js';
import type { EventFeed } from '../events/event-feed.js';
import type { Db } from '../storage/db.js';
import { eventSnapshotRead } from '../storage/event-store.js';
import { taskGet } from '../storage/task-store.js';
import { checkId } from './check-id.js';
import { eventsAll, liveBatches, resumeAnchor } from './watch-start.js';

/** One WatchTask message: the task, and the event it reflects ("" for the first snapshot). */
export interface TaskWatchItem {
  task: Task;
  eventId: string;
}

/**
 * WatchTask fed by the event feed (docs/events.md, "Watch streams"). Without
 * `afterEventId`: the task now, then one message per event of the task after that
 * snapshot, until one leaves it in a terminal state. With it: one message per event
 * after that one — replayed from the table, then live — and nothing else; nothing when
 * the task had already ended by then.
 *
 * Each message is the task as its event left it ({@link taskAsOf}) over a read of the
 * task taken when the event is delivered (one read per batch of events).
 * Throws `not_found` for a task (or resume event) not in `namespace`, `invalid` for a
 * resume event of another aggregate.
 */
export async function* watchTask(
  deps: { db: Db; feed: EventFeed }, p: { namespace: string; id: string; afterEventId: string }, signal: AbortSignal,
): AsyncGenerator<TaskWatchItem> {
  const ns = p.namespace || 'default';
  const id = checkId(p.id);
  const sub = await deps.feed.subscribe({ namespace: ns, keys: [id] }, signal);
  try {
    // Under one snapshot: the task, and its events after the resume point (or after the
    // feed's position). Per aggregate, sequences follow commit order, so these are
    // exactly the task's events the snapshot reflects beyond that point.
    const start = await eventSnapshotRead(deps.db, async (tx) => {
      const task = await taskGet(tx, { namespace: ns, id });
      if (!task) throw new DomainError('not_found', `task ${p.id} not found`);
      const anchor = p.afterEventId ? await resumeAnchor(tx, ns, p.afterEventId) : undefined;
      if (anchor && anchor.aggregateId !== id) {
        throw DomainError.invalid([{ field: 'after_event_id', description: `event ${p.afterEventId} is an event of ${anchor.aggregateType} ${anchor.aggregateId}, not of task ${id}` }]);
      }
      const events = await eventsAll(tx, { namespace: ns, aggregateId: id, after: anchor?.sequence ?? sub.position });
      return { task, anchor, events };
    });
    let last = start.task;
    let shownUpTo: number;
    if (!start.anchor) {
      yield { task: last, eventId: '' };
      if (TERMINAL_STATUSES.has(last.status)) return;
      shownUpTo = start.events.at(-1)?.sequence ?? sub.position;
    } else {
      if (start.events.length === 0 && TERMINAL_STATUSES.has(last.status)) return;
      for (const e of start.events.filter((x) => x.sequence <= sub.position)) {
        last = taskAsOf(start.task, taskChangeOf(e));
        yield { task: last, eventId: e.id };
        if (TERMINAL_STATUSES.has(last.status)) return;
      }
      // The resume point may lie beyond the feed's position (committed, not yet delivered).
      shownUpTo = Math.max(sub.position, start.anchor.sequence);
    }
    for await (const batch of liveBatches(sub, signal)) {
      const fresh = batch.filter((e) => e.sequence > shownUpTo);
      if (fresh.length === 0) continue;
      const read = (await taskGet(deps.db.orm, { namespace: ns, id })) ?? last;
      for (const e of fresh) {
        last = taskAsOf(read, taskChangeOf(e));
        shownUpTo = e.sequence;
        yield { task: last, eventId: e.id };
        if (TERMINAL_STATUSES.has(last.status)) return;
      }
    }
  } finally {
    sub.close();
  }
}
