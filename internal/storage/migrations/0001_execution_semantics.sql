CREATE TABLE "dead_letters" (
	"id" uuid PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"namespace" text NOT NULL,
	"type" text NOT NULL,
	"queue" text NOT NULL,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"replayed_task_id" uuid,
	"replayed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "checkpoint" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "checkpoint_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "replay_of" uuid;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD CONSTRAINT "dead_letters_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dead_letters_task" ON "dead_letters" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "dead_letters_namespace_id" ON "dead_letters" USING btree ("namespace","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "tasks_ready_age" ON "tasks" USING btree ("queue","id") WHERE "tasks"."status" = 'QUEUED';