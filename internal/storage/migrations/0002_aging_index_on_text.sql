DROP INDEX "tasks_ready_age";--> statement-breakpoint
CREATE INDEX "tasks_ready_age" ON "tasks" USING btree ("queue",("id"::text)) WHERE "tasks"."status" = 'QUEUED';