CREATE TABLE "events" (
	"sequence" bigserial PRIMARY KEY NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"type" text NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" uuid NOT NULL,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "events_id" ON "events" USING btree ("id");--> statement-breakpoint
CREATE INDEX "events_unsent" ON "events" USING btree ("sequence") WHERE "events"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "events_aggregate" ON "events" USING btree ("aggregate_id","sequence");--> statement-breakpoint
CREATE INDEX "events_namespace" ON "events" USING btree ("namespace","sequence");