CREATE TABLE "task_edges" (
	"parent_id" uuid NOT NULL,
	"child_id" uuid NOT NULL,
	CONSTRAINT "task_edges_parent_id_child_id_pk" PRIMARY KEY("parent_id","child_id")
);
--> statement-breakpoint
CREATE TABLE "workflows" (
	"id" uuid PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"failure_policy" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "workflows_status_check" CHECK ("workflows"."status" in ('RUNNING','SUCCEEDED','FAILED','CANCELLED'))
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "node" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "pending_parents" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_edges" ADD CONSTRAINT "task_edges_parent_id_tasks_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_edges" ADD CONSTRAINT "task_edges_child_id_tasks_id_fk" FOREIGN KEY ("child_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_edges_child" ON "task_edges" USING btree ("child_id");--> statement-breakpoint
CREATE INDEX "workflows_namespace_id" ON "workflows" USING btree ("namespace","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "tasks_workflow" ON "tasks" USING btree ("workflow_id") WHERE "tasks"."workflow_id" is not null;