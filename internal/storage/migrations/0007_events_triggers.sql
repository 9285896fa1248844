-- The outbox is written by triggers, so that every state change of a task, workflow or
-- schedule commits with its event, whichever code path made it (DESIGN promise 6).
-- Statement-level triggers with transition tables: one INSERT ... SELECT per statement,
-- also for the leader's batched claims and finishes. `data` is the proto3 JSON of the
-- aggregate's message in proto/taskd/v1/events/events.proto.

CREATE FUNCTION taskd_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
--> statement-breakpoint
CREATE FUNCTION taskd_task_event(n tasks, prev text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'taskId', n.id, 'taskType', n.type, 'queue', n.queue,
    'status', 'TASK_STATUS_' || n.status,
    'previousStatus', CASE WHEN prev IS NULL THEN NULL ELSE 'TASK_STATUS_' || prev END,
    'attempt', n.attempt, 'workerId', n.worker_id, 'error', n.error, 'output', n.output,
    'runAt', taskd_ts(n.run_at), 'workflowId', n.workflow_id, 'node', n.node, 'labels', n.labels,
    'idempotencyKey', n.idempotency_key, 'replayOf', n.replay_of,
    'createdAt', taskd_ts(n.created_at), 'startedAt', taskd_ts(n.started_at), 'finishedAt', taskd_ts(n.finished_at),
    'notify', n.notify)
$$;
--> statement-breakpoint
CREATE FUNCTION taskd_task_event_type(status text, prev text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN prev IS NULL THEN 'task.created'
    WHEN prev = 'RUNNING' AND status IN ('PENDING', 'QUEUED') THEN 'task.retrying'
    WHEN status = 'RUNNING' THEN 'task.started'
    ELSE 'task.' || lower(status)
  END
$$;
--> statement-breakpoint
CREATE FUNCTION taskd_tasks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT n.namespace, 'task.created', 'task', n.id, taskd_task_event(n, NULL), n.created_at
  FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION taskd_tasks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT n.namespace, taskd_task_event_type(n.status, o.status), 'task', n.id, taskd_task_event(n, o.status), n.updated_at
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.status IS DISTINCT FROM o.status OR n.attempt IS DISTINCT FROM o.attempt
  ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tasks_events_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_tasks_inserted();
--> statement-breakpoint
CREATE TRIGGER tasks_events_update AFTER UPDATE ON tasks REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_tasks_updated();
--> statement-breakpoint
CREATE FUNCTION taskd_workflow_event(n workflows, prev text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'workflowId', n.id, 'name', n.name, 'status', 'WORKFLOW_STATUS_' || n.status,
    'previousStatus', CASE WHEN prev IS NULL THEN NULL ELSE 'WORKFLOW_STATUS_' || prev END,
    'createdAt', taskd_ts(n.created_at), 'finishedAt', taskd_ts(n.finished_at))
$$;
--> statement-breakpoint
CREATE FUNCTION taskd_workflows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT n.namespace, 'workflow.created', 'workflow', n.id, taskd_workflow_event(n, NULL), n.created_at
  FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION taskd_workflows_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data)
  SELECT n.namespace, CASE WHEN n.status = 'RUNNING' THEN 'workflow.resumed' ELSE 'workflow.' || lower(n.status) END,
    'workflow', n.id, taskd_workflow_event(n, o.status)
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.status IS DISTINCT FROM o.status
  ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER workflows_events_insert AFTER INSERT ON workflows REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_workflows_inserted();
--> statement-breakpoint
CREATE TRIGGER workflows_events_update AFTER UPDATE ON workflows REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_workflows_updated();
--> statement-breakpoint
CREATE FUNCTION taskd_schedule_event(n schedules) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('scheduleId', n.id, 'name', n.name, 'paused', n.paused)
$$;
--> statement-breakpoint
CREATE FUNCTION taskd_schedules_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT n.namespace, 'schedule.created', 'schedule', n.id, taskd_schedule_event(n), n.created_at
  FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- A user's change bumps `version` (the etag); the leader's bookkeeping (cursor, next fire) does not.
CREATE FUNCTION taskd_schedules_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT n.namespace,
    CASE WHEN n.paused AND NOT o.paused THEN 'schedule.paused'
         WHEN o.paused AND NOT n.paused THEN 'schedule.resumed'
         ELSE 'schedule.updated' END,
    'schedule', n.id, taskd_schedule_event(n), n.updated_at
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.version IS DISTINCT FROM o.version OR n.paused IS DISTINCT FROM o.paused
  ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION taskd_schedules_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data)
  SELECT o.namespace, 'schedule.deleted', 'schedule', o.id, taskd_schedule_event(o)
  FROM old_rows o ORDER BY o.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER schedules_events_insert AFTER INSERT ON schedules REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_schedules_inserted();
--> statement-breakpoint
CREATE TRIGGER schedules_events_update AFTER UPDATE ON schedules REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_schedules_updated();
--> statement-breakpoint
CREATE TRIGGER schedules_events_delete AFTER DELETE ON schedules REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_schedules_deleted();
--> statement-breakpoint
CREATE FUNCTION taskd_schedule_fires_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data, occurred_at)
  SELECT s.namespace, 'schedule.fired', 'schedule', s.id,
    taskd_schedule_event(s) || jsonb_build_object(
      'fireAt', taskd_ts(f.fire_at), 'taskId', f.task_id, 'workflowId', f.workflow_id,
      'skippedReason', f.skipped_reason, 'manual', f.manual),
    f.created_at
  FROM new_rows f JOIN schedules s ON s.id = f.schedule_id
  ORDER BY f.fire_at, f.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER schedule_fires_events_insert AFTER INSERT ON schedule_fires REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_schedule_fires_inserted();
