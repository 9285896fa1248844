CREATE TABLE "attempts" (
	"task_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"worker_id" text NOT NULL,
	"lease_token" uuid NOT NULL,
	"status" text NOT NULL,
	"error" jsonb,
	"epoch" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "attempts_task_id_number_pk" PRIMARY KEY("task_id","number")
);
--> statement-breakpoint
CREATE TABLE "leadership" (
	"id" integer PRIMARY KEY NOT NULL,
	"epoch" integer NOT NULL,
	"leader" text NOT NULL,
	"since" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"type" text NOT NULL,
	"queue" text NOT NULL,
	"payload" jsonb,
	"priority" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"run_at" timestamp with time zone,
	"retry_policy" jsonb NOT NULL,
	"timeout_ms" integer,
	"idempotency_key" text,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"notify" jsonb,
	"attempt" integer DEFAULT 0 NOT NULL,
	"lease_token" uuid,
	"worker_id" text,
	"output" jsonb,
	"error" jsonb,
	"version" integer DEFAULT 1 NOT NULL,
	"workflow_id" uuid,
	"epoch" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "tasks_status_check" CHECK ("tasks"."status" in ('PENDING','QUEUED','RUNNING','SUCCEEDED','FAILED','DEAD_LETTERED','CANCELLED','SKIPPED'))
);
--> statement-breakpoint
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_idempotency" ON "tasks" USING btree ("namespace","idempotency_key") WHERE "tasks"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "tasks_ready" ON "tasks" USING btree ("queue","priority" DESC NULLS LAST,"id") WHERE "tasks"."status" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "tasks_due" ON "tasks" USING btree ("run_at") WHERE "tasks"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "tasks_running" ON "tasks" USING btree ("id") WHERE "tasks"."status" = 'RUNNING';--> statement-breakpoint
CREATE INDEX "tasks_namespace_id" ON "tasks" USING btree ("namespace","id" DESC NULLS LAST);