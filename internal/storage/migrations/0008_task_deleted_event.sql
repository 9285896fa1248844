-- DeleteTask: the deletion is a state change too, with its event in the same transaction.
CREATE FUNCTION taskd_tasks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (namespace, type, aggregate_type, aggregate_id, data)
  SELECT o.namespace, 'task.deleted', 'task', o.id, taskd_task_event(o, o.status)
  FROM old_rows o ORDER BY o.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER tasks_events_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_tasks_deleted();
