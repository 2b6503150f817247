CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"name" text NOT NULL,
	"target" text NOT NULL,
	"origin" text NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"ms_customer_id" text NOT NULL,
	"ms_account_id" text NOT NULL,
	"api_base_url" text,
	"oauth_token_url" text,
	"client_id" text,
	"client_secret_enc" text,
	"developer_token_enc" text,
	"refresh_token_enc" text,
	"refresh_token_env_hash" text,
	"access_token_enc" text,
	"access_token_expires_at" timestamp with time zone,
	"auth_status" text DEFAULT 'unknown' NOT NULL,
	"auth_error" text,
	"auto_tagging" boolean,
	"auto_tagging_checked_at" timestamp with time zone,
	"calls_per_minute" integer,
	"next_call_at" timestamp with time zone,
	"paused_until" timestamp with time zone,
	"pause_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "submissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"account_id" uuid NOT NULL,
	"operation" text NOT NULL,
	"worker" text NOT NULL,
	"items" integer NOT NULL,
	"accepted" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"retried" integer DEFAULT 0 NOT NULL,
	"outcome" text NOT NULL,
	"http_status" integer,
	"error_code" text,
	"error_message" text,
	"tracking_id" text,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "submission_id" uuid;--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "accepted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversions" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversions" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversions" ADD COLUMN "submission_id" uuid;--> statement-breakpoint
ALTER TABLE "conversions" ADD COLUMN "accepted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "goals" ADD COLUMN "ready_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "goals" ADD COLUMN "msads_error" text;--> statement-breakpoint
ALTER TABLE "goals" ADD COLUMN "msads_synced_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_ms_account_key" ON "accounts" USING btree ("customer_id","ms_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_default_key" ON "accounts" USING btree ("customer_id") WHERE is_default;--> statement-breakpoint
CREATE INDEX "submissions_started" ON "submissions" USING btree ("customer_id","started_at");--> statement-breakpoint
CREATE INDEX "submissions_account" ON "submissions" USING btree ("account_id","started_at");--> statement-breakpoint
CREATE INDEX "adjustments_outbox" ON "adjustments" USING btree ("id") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "adjustments_claimed" ON "adjustments" USING btree ("claimed_at") WHERE state = 'submitting';--> statement-breakpoint
CREATE INDEX "conversions_outbox" ON "conversions" USING btree ("id") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "conversions_claimed" ON "conversions" USING btree ("claimed_at") WHERE state = 'submitting';