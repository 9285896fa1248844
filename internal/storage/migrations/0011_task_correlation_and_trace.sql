ALTER TABLE "tasks" ADD COLUMN "correlation_id" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "trace_context" text;--> statement-breakpoint
-- Task events carry the task's correlation id (TaskEvent.correlation_id): the same
-- function as in 0007, one field more. The triggers call it, so they need no change.
CREATE OR REPLACE FUNCTION taskd_task_event(n tasks, prev text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'taskId', n.id, 'taskType', n.type, 'queue', n.queue,
    'status', 'TASK_STATUS_' || n.status,
    'previousStatus', CASE WHEN prev IS NULL THEN NULL ELSE 'TASK_STATUS_' || prev END,
    'attempt', n.attempt, 'workerId', n.worker_id, 'error', n.error, 'output', n.output,
    'runAt', taskd_ts(n.run_at), 'workflowId', n.workflow_id, 'node', n.node, 'labels', n.labels,
    'idempotencyKey', n.idempotency_key, 'replayOf', n.replay_of,
    'createdAt', taskd_ts(n.created_at), 'startedAt', taskd_ts(n.started_at), 'finishedAt', taskd_ts(n.finished_at),
    'notify', n.notify, 'correlationId', n.correlation_id)
$$;
