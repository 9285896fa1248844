import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid,
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
    /** The id of the request (or schedule fire) that created the task; null for tasks older than correlation ids. */
    correlationId: text('correlation_id'),
    /** W3C `traceparent` of the span that created the task (`taskd.submit`); its dispatch continues that trace. Null when untraced. */
    traceContext: text('trace_context'),
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

/**
 * Schedules: a cron expression in a time zone and the template each fire creates.
 * `cursor_at` is the instant up to which every fire is decided; `next_fire_at` is the
 * first fire after it (null when paused or finished), which the leader polls.
 */
export const schedules = pgTable(
  'schedules',
  {
    id: uuid('id').primaryKey(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    cron: text('cron').notNull(),
    timeZone: text('time_zone').notNull(),
    template: jsonb('template').notNull(),
    misfirePolicy: text('misfire_policy').notNull(),
    misfireCap: integer('misfire_cap').notNull().default(0),
    misfireGraceMs: integer('misfire_grace_ms').notNull(),
    overlapPolicy: text('overlap_policy').notNull(),
    startAt: ts('start_at'),
    endAt: ts('end_at'),
    paused: boolean('paused').notNull().default(false),
    version: integer('version').notNull().default(1),
    cursorAt: ts('cursor_at').notNull(),
    nextFireAt: ts('next_fire_at'),
    lastFireAt: ts('last_fire_at'),
    lastTaskId: uuid('last_task_id'),
    lastWorkflowId: uuid('last_workflow_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('schedules_misfire_policy_check', sql`${t.misfirePolicy} in ('SKIP','FIRE_ONCE','FIRE_ALL')`),
    check('schedules_overlap_policy_check', sql`${t.overlapPolicy} in ('ALLOW','SKIP_IF_RUNNING','CANCEL_PREVIOUS')`),
    uniqueIndex('schedules_namespace_name').on(t.namespace, t.name),
    index('schedules_namespace_id').on(t.namespace, t.id.desc()),
    // What the leader polls: the earliest next fire of an active schedule.
    index('schedules_due').on(t.nextFireAt).where(sql`${t.nextFireAt} is not null and not ${t.paused}`),
  ],
);

/**
 * Fire records: one row per decided fire. The partial unique index on (schedule_id,
 * fire_at) for scheduled fires is what makes a fire time run at most once, whichever
 * leader (or how many) tries: the row and its run are inserted in one transaction, `on
 * conflict do nothing`. Manual fires (trigger now) are exempt. `skipped_reason` is set
 * when the fire created no run (overlap policy, invalid template).
 */
export const scheduleFires = pgTable(
  'schedule_fires',
  {
    id: uuid('id').primaryKey(),
    scheduleId: uuid('schedule_id').notNull().references(() => schedules.id, { onDelete: 'cascade' }),
    fireAt: ts('fire_at').notNull(),
    manual: boolean('manual').notNull().default(false),
    taskId: uuid('task_id'),
    workflowId: uuid('workflow_id'),
    skippedReason: text('skipped_reason'),
    epoch: integer('epoch').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('schedule_fires_once').on(t.scheduleId, t.fireAt).where(sql`not ${t.manual}`),
    index('schedule_fires_schedule').on(t.scheduleId, t.createdAt.desc()),
  ],
);

/**
 * API keys: long-lived credentials. Only the SHA-256 of the secret is stored (the secret
 * is 256 random bits, so a fast hash is enough); `prefix` is the secret's first characters,
 * to recognise a key by. `role` is a role name (docs/auth.md); `namespaces` bound what the
 * key sees, "*" for all. A key authenticates while not revoked and not expired.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    secretHash: text('secret_hash').notNull(),
    prefix: text('prefix').notNull(),
    role: text('role').notNull(),
    namespaces: text('namespaces').array().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [
    check('api_keys_role_check', sql`${t.role} in ('viewer','submitter','operator','admin','worker','system')`),
    uniqueIndex('api_keys_secret_hash').on(t.secretHash),
  ],
);

/**
 * The outbox: one row per state change of a task, workflow or schedule, inserted by
 * triggers (migration 0007) in the same transaction as the change, so no change can
 * commit without its event. `sequence` orders events (and, per aggregate, in commit
 * order); `data` is the proto3 JSON of the aggregate's event message
 * (proto/taskd/v1/events/events.proto). The leader's relay publishes unsent rows and
 * sets `sent_at`; sent rows are pruned after the retention.
 */
export const events = pgTable(
  'events',
  {
    sequence: bigserial('sequence', { mode: 'number' }).primaryKey(),
    id: uuid('id').notNull().default(sql`gen_random_uuid()`),
    namespace: text('namespace').notNull(),
    type: text('type').notNull(),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: uuid('aggregate_id').notNull(),
    data: jsonb('data').notNull(),
    occurredAt: ts('occurred_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    uniqueIndex('events_id').on(t.id),
    // What the relay reads: unsent events in order.
    index('events_unsent').on(t.sequence).where(sql`${t.sentAt} is null`),
    // Watch streams: one aggregate's events, or a namespace's, after a sequence.
    index('events_aggregate').on(t.aggregateId, t.sequence),
    index('events_namespace').on(t.namespace, t.sequence),
  ],
);

/**
 * Notification subscriptions (docs/notifier.md): a namespace's standing order to deliver
 * the events its `filter` (EventFilter JSON: types, aggregateIds, taskTypes, labels)
 * matches to a webhook or an email address. `secret` signs webhook bodies; it is stored
 * as given (the notifier needs it to sign) and returned only when created.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: uuid('id').primaryKey(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    channel: text('channel').notNull(),
    target: text('target').notNull(),
    filter: jsonb('filter').notNull().default({}),
    secret: text('secret'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    check('subscriptions_channel_check', sql`${t.channel} in ('webhook','email')`),
    index('subscriptions_namespace_id').on(t.namespace, t.id.desc()),
  ],
);

/**
 * Deliveries: one row per (event, target) the notifier decided to deliver, with its
 * attempts. `dedup_key` is `sub:<subscription id>` or `notify:webhook` / `notify:email`
 * (a task's own targets); the unique (event_id, dedup_key) makes at-least-once
 * consumption create each delivery once. `payload` is the Event proto3 JSON as sent.
 * A claim moves `next_attempt_at` past the attempt's deadline and sets `claim_token`,
 * which fences the attempt's result.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey(),
    namespace: text('namespace').notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    taskId: uuid('task_id'),
    subscriptionId: uuid('subscription_id'),
    dedupKey: text('dedup_key').notNull(),
    channel: text('channel').notNull(),
    target: text('target').notNull(),
    payload: text('payload').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: ts('next_attempt_at').notNull(),
    claimToken: uuid('claim_token'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    check('deliveries_status_check', sql`${t.status} in ('PENDING','DELIVERED','FAILED')`),
    check('deliveries_channel_check', sql`${t.channel} in ('webhook','email')`),
    uniqueIndex('deliveries_event_target').on(t.eventId, t.dedupKey),
    // What the delivery loop claims: due pending deliveries.
    index('deliveries_due').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    index('deliveries_namespace_id').on(t.namespace, t.id.desc()),
    index('deliveries_subscription').on(t.subscriptionId, t.id.desc()).where(sql`${t.subscriptionId} is not null`),
    index('deliveries_task').on(t.taskId, t.id.desc()).where(sql`${t.taskId} is not null`),
  ],
);

/**
 * The notifier's position in the outbox (when it reads `events` instead of Kafka): every
 * event up to `sequence` has its deliveries recorded. Advanced in the transaction that
 * records them; the row is locked meanwhile, so one notifier reads at a time.
 */
export const notifierCursors = pgTable('notifier_cursors', {
  name: text('name').primaryKey(),
  sequence: bigint('sequence', { mode: 'number' }).notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
