CREATE TABLE "deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"event_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"task_id" uuid,
	"subscription_id" uuid,
	"dedup_key" text NOT NULL,
	"channel" text NOT NULL,
	"target" text NOT NULL,
	"payload" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"claim_token" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "deliveries_status_check" CHECK ("deliveries"."status" in ('PENDING','DELIVERED','FAILED')),
	CONSTRAINT "deliveries_channel_check" CHECK ("deliveries"."channel" in ('webhook','email'))
);
--> statement-breakpoint
CREATE TABLE "notifier_cursors" (
	"name" text PRIMARY KEY NOT NULL,
	"sequence" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"channel" text NOT NULL,
	"target" text NOT NULL,
	"filter" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secret" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_channel_check" CHECK ("subscriptions"."channel" in ('webhook','email'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_event_target" ON "deliveries" USING btree ("event_id","dedup_key");--> statement-breakpoint
CREATE INDEX "deliveries_due" ON "deliveries" USING btree ("next_attempt_at") WHERE "deliveries"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "deliveries_namespace_id" ON "deliveries" USING btree ("namespace","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "deliveries_subscription" ON "deliveries" USING btree ("subscription_id","id" DESC NULLS LAST) WHERE "deliveries"."subscription_id" is not null;--> statement-breakpoint
CREATE INDEX "deliveries_task" ON "deliveries" USING btree ("task_id","id" DESC NULLS LAST) WHERE "deliveries"."task_id" is not null;--> statement-breakpoint
CREATE INDEX "subscriptions_namespace_id" ON "subscriptions" USING btree ("namespace","id" DESC NULLS LAST);--> statement-breakpoint
-- The outbox cursor starts at the outbox's head when the notifier is installed: events
-- from before it existed are not notified (a fresh database starts at 0).
INSERT INTO "notifier_cursors" ("name", "sequence") SELECT 'outbox', coalesce(max("sequence"), 0) FROM "events";
