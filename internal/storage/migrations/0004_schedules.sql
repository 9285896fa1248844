CREATE TABLE "schedule_fires" (
	"id" uuid PRIMARY KEY NOT NULL,
	"schedule_id" uuid NOT NULL,
	"fire_at" timestamp with time zone NOT NULL,
	"manual" boolean DEFAULT false NOT NULL,
	"task_id" uuid,
	"workflow_id" uuid,
	"skipped_reason" text,
	"epoch" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"cron" text NOT NULL,
	"time_zone" text NOT NULL,
	"template" jsonb NOT NULL,
	"misfire_policy" text NOT NULL,
	"misfire_cap" integer DEFAULT 0 NOT NULL,
	"misfire_grace_ms" integer NOT NULL,
	"overlap_policy" text NOT NULL,
	"start_at" timestamp with time zone,
	"end_at" timestamp with time zone,
	"paused" boolean DEFAULT false NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"cursor_at" timestamp with time zone NOT NULL,
	"next_fire_at" timestamp with time zone,
	"last_fire_at" timestamp with time zone,
	"last_task_id" uuid,
	"last_workflow_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedules_misfire_policy_check" CHECK ("schedules"."misfire_policy" in ('SKIP','FIRE_ONCE','FIRE_ALL')),
	CONSTRAINT "schedules_overlap_policy_check" CHECK ("schedules"."overlap_policy" in ('ALLOW','SKIP_IF_RUNNING','CANCEL_PREVIOUS'))
);
--> statement-breakpoint
ALTER TABLE "schedule_fires" ADD CONSTRAINT "schedule_fires_schedule_id_schedules_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "public"."schedules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "schedule_fires_once" ON "schedule_fires" USING btree ("schedule_id","fire_at") WHERE not "schedule_fires"."manual";--> statement-breakpoint
CREATE INDEX "schedule_fires_schedule" ON "schedule_fires" USING btree ("schedule_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_namespace_name" ON "schedules" USING btree ("namespace","name");--> statement-breakpoint
CREATE INDEX "schedules_namespace_id" ON "schedules" USING btree ("namespace","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "schedules_due" ON "schedules" USING btree ("next_fire_at") WHERE "schedules"."next_fire_at" is not null and not "schedules"."paused";