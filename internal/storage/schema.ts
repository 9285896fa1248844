import { sql } from 'drizzle-orm';
import {
  check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Tasks: one row per task, the truth about its state. `attempt` counts dispatches and,
 * with `lease_token`, fences results (DESIGN promise 2). `version` is the etag.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey(),
    namespace: text('namespace').notNull(),
    type: text('type').notNull(),
    queue: text('queue').notNull(),
    payload: jsonb('payload'),
    priority: integer('priority').notNull().default(0),
    status: text('status').notNull(),
    runAt: ts('run_at'),
    retryPolicy: jsonb('retry_policy').notNull(),
    timeoutMs: integer('timeout_ms'),
    idempotencyKey: text('idempotency_key'),
    labels: jsonb('labels').notNull().default({}),
    notify: jsonb('notify'),
    attempt: integer('attempt').notNull().default(0),
    leaseToken: uuid('lease_token'),
    workerId: text('worker_id'),
    output: jsonb('output'),
    error: jsonb('error'),
    version: integer('version').notNull().default(1),
    workflowId: uuid('workflow_id'),
    epoch: integer('epoch').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    /** The latest checkpoint; `checkpoint_version` is its compare-and-set version. */
    checkpoint: jsonb('checkpoint'),
    checkpointVersion: integer('checkpoint_version').notNull().default(0),
    /** For a replayed dead letter: the task it replays. */
    replayOf: uuid('replay_of'),
    /** In a workflow: the task's name there. */
    node: text('node'),
    /** In a workflow: parents not yet SUCCEEDED; the task is released at 0. */
    pendingParents: integer('pending_parents').notNull().default(0),
  },
  (t) => [
    check(
      'tasks_status_check',
      sql`${t.status} in ('PENDING','QUEUED','RUNNING','SUCCEEDED','FAILED','DEAD_LETTERED','CANCELLED','SKIPPED')`,
    ),
    uniqueIndex('tasks_idempotency').on(t.namespace, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
    // The ready set: the leader claims from here in priority order, then oldest first.
    index('tasks_ready').on(t.queue, t.priority.desc(), t.id).where(sql`${t.status} = 'QUEUED'`),
    // Aging: the oldest ready tasks of a queue, whatever their priority (see docs/semantics.md).
    // On id::text (same order as the uuid) so that only this index can supply the order:
    // ordered by the uuid itself, Postgres would walk the primary key through the history.
    index('tasks_ready_age').on(t.queue, sql`(${t.id}::text)`).where(sql`${t.status} = 'QUEUED'`),
    index('tasks_due').on(t.runAt).where(sql`${t.status} = 'PENDING'`),
    index('tasks_running').on(t.id).where(sql`${t.status} = 'RUNNING'`),
    index('tasks_namespace_id').on(t.namespace, t.id.desc()),
    index('tasks_workflow').on(t.workflowId).where(sql`${t.workflowId} is not null`),
  ],
);

/** Attempts: the history of every dispatch. */
export const attempts = pgTable(
  'attempts',
  {
    taskId: uuid('task_id').notNull().references(() => tasks.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    workerId: text('worker_id').notNull(),
    leaseToken: uuid('lease_token').notNull(),
    status: text('status').notNull(),
    error: jsonb('error'),
    epoch: integer('epoch').notNull(),
    startedAt: ts('started_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.number] })],
);

/**
 * Leadership: one row holding the newest leader epoch. Every leader write locks it
 * FOR SHARE and checks the epoch, so a deposed leader's writes change nothing.
 */
export const leadership = pgTable('leadership', {
  id: integer('id').primaryKey(),
  epoch: integer('epoch').notNull(),
  leader: text('leader').notNull(),
  since: ts('since').notNull().defaultNow(),
});

/**
 * Dead letters: one row per task that exhausted its retries, written in the same
 * transaction as its DEAD_LETTERED state, with the last error and every attempt.
 */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: uuid('id').primaryKey(),
    taskId: uuid('task_id').notNull().references(() => tasks.id, { onDelete: 'cascade' }),
    namespace: text('namespace').notNull(),
    type: text('type').notNull(),
    queue: text('queue').notNull(),
    error: jsonb('error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    replayedTaskId: uuid('replayed_task_id'),
    replayedAt: ts('replayed_at'),
  },
  (t) => [
    uniqueIndex('dead_letters_task').on(t.taskId),
    index('dead_letters_namespace_id').on(t.namespace, t.id.desc()),
  ],
);

/** Workflows: a DAG of tasks submitted together. */
export const workflows = pgTable(
  'workflows',
  {
    id: uuid('id').primaryKey(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    failurePolicy: text('failure_policy').notNull(),
    status: text('status').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    check('workflows_status_check', sql`${t.status} in ('RUNNING','SUCCEEDED','FAILED','CANCELLED')`),
    index('workflows_namespace_id').on(t.namespace, t.id.desc()),
  ],
);

/** Edges of a workflow's DAG: the child waits for the parent. */
export const taskEdges = pgTable(
  'task_edges',
  {
    parentId: uuid('parent_id').notNull().references(() => tasks.id, { onDelete: 'cascade' }),
    childId: uuid('child_id').notNull().references(() => tasks.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.parentId, t.childId] }), index('task_edges_child').on(t.childId)],
);
