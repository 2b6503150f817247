CREATE TABLE "webhook_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"method" text NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"body" "bytea",
	"query" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"call" jsonb,
	"provider_call_id" text,
	"state" text DEFAULT 'pending' NOT NULL,
	"outcome" text,
	"reason" text,
	"value" numeric(15, 3),
	"currency" text,
	"conversion_id" bigint,
	"adjustment_id" bigint,
	"upload_id" uuid,
	"upload_row" integer,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhook_sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"provider" text NOT NULL,
	"name" text NOT NULL,
	"goal_id" uuid NOT NULL,
	"min_duration_sec" integer,
	"min_talk_sec" integer,
	"answered_only" boolean DEFAULT false NOT NULL,
	"value_mode" text DEFAULT 'payload' NOT NULL,
	"fixed_value" numeric(15, 3),
	"currency" text,
	"fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"secret_enc" text,
	"token_enc" text NOT NULL,
	"basic_auth_enc" text,
	"account_ref" text,
	"base_url" text,
	"poll_cursor" text,
	"next_poll_at" timestamp with time zone,
	"last_poll_error" text,
	"processing_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "upload_rows" ADD COLUMN "source_ref" text;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_source_id_webhook_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."webhook_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_sources" ADD CONSTRAINT "webhook_sources_goal_id_goals_id_fk" FOREIGN KEY ("goal_id") REFERENCES "public"."goals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_events_pending" ON "webhook_events" USING btree ("source_id","id") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_events_source" ON "webhook_events" USING btree ("source_id","id");--> statement-breakpoint
CREATE INDEX "webhook_events_call" ON "webhook_events" USING btree ("source_id","provider_call_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_events_one_conversion" ON "webhook_events" USING btree ("source_id","provider_call_id") WHERE outcome = 'conversion';--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_sources_name" ON "webhook_sources" USING btree ("customer_id",lower("name"));