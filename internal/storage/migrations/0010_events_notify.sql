-- Watch streams wake when events commit instead of waiting for their poll
-- (internal/events/event-feed.ts; the poll stays, so a lost notification only delays).
-- One statement-level trigger on the outbox: Postgres folds a transaction's identical
-- notifications into one, delivered at commit. A notifying commit takes a database-wide
-- lock on the notification queue, so under very high commit rates an operator may turn
-- this off without a migration: ALTER DATABASE ... SET taskd.events_notify = 'off'
-- (docs/events.md).
CREATE FUNCTION taskd_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('taskd.events_notify', true), '') <> 'off' THEN
    PERFORM pg_notify('taskd_events', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION taskd_events_notify();
