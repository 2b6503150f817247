CREATE TABLE "adjustments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"conversion_id" bigint NOT NULL,
	"type" text NOT NULL,
	"adjustment_time" timestamp with time zone NOT NULL,
	"value" numeric(15, 3),
	"currency" text,
	"state" text NOT NULL,
	"held_until" timestamp with time zone,
	"error_code" text,
	"error_name" text,
	"message" text,
	"duplicate_of" bigint,
	"source" text NOT NULL,
	"source_ref" text NOT NULL,
	"upload_id" uuid,
	"upload_row" integer,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "conversions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"goal_id" uuid,
	"goal_name" text NOT NULL,
	"click_id" text,
	"match_key" text NOT NULL,
	"conversion_time" timestamp with time zone NOT NULL,
	"click_time" timestamp with time zone,
	"value" numeric(15, 3),
	"currency" text,
	"hashed_email" text,
	"hashed_phone" text,
	"state" text NOT NULL,
	"held_until" timestamp with time zone,
	"error_code" text,
	"error_name" text,
	"message" text,
	"duplicate_of" bigint,
	"source" text NOT NULL,
	"source_ref" text NOT NULL,
	"upload_id" uuid,
	"upload_row" integer,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "goals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"account_id" text,
	"name" text NOT NULL,
	"scope" text DEFAULT 'account' NOT NULL,
	"revenue_type" text DEFAULT 'none' NOT NULL,
	"revenue_value" numeric(15, 3),
	"currency" text,
	"count_type" text DEFAULT 'all' NOT NULL,
	"conversion_window_minutes" integer DEFAULT 43200 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"msads_goal_id" text,
	CONSTRAINT "goals_window_range" CHECK ("goals"."conversion_window_minutes" between 1 and 129600),
	CONSTRAINT "goals_name_length" CHECK (char_length("goals"."name") between 1 and 100)
);
--> statement-breakpoint
CREATE TABLE "upload_rows" (
	"upload_id" uuid NOT NULL,
	"row" integer NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"error_column" text,
	"message" text,
	"notes" text,
	"goal_name" text,
	"click_id" text,
	"match_key" text,
	"conversion_time" timestamp with time zone,
	"click_time" timestamp with time zone,
	"value" numeric(15, 3),
	"currency" text,
	"hashed_email" text,
	"hashed_phone" text,
	"adjustment_type" text,
	"adjustment_time" timestamp with time zone,
	"held_until" timestamp with time zone,
	"conversion_id" bigint,
	CONSTRAINT "upload_rows_upload_id_row_pk" PRIMARY KEY("upload_id","row")
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"kind" text NOT NULL,
	"source" text DEFAULT 'file' NOT NULL,
	"filename" text NOT NULL,
	"status" text NOT NULL,
	"time_zone" text,
	"error_code" text,
	"error_message" text,
	"unknown_columns" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"total_rows" integer DEFAULT 0 NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "adjustments" ADD CONSTRAINT "adjustments_conversion_id_conversions_id_fk" FOREIGN KEY ("conversion_id") REFERENCES "public"."conversions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "adjustments_identity_key" ON "adjustments" USING btree ("conversion_id","type","adjustment_time") WHERE state <> 'duplicate';--> statement-breakpoint
CREATE INDEX "adjustments_state" ON "adjustments" USING btree ("state");--> statement-breakpoint
CREATE INDEX "adjustments_upload" ON "adjustments" USING btree ("upload_id","upload_row");--> statement-breakpoint
CREATE UNIQUE INDEX "conversions_identity_key" ON "conversions" USING btree ("customer_id","goal_name","match_key","conversion_time") WHERE state <> 'duplicate';--> statement-breakpoint
CREATE INDEX "conversions_state" ON "conversions" USING btree ("state","held_until");--> statement-breakpoint
CREATE INDEX "conversions_upload" ON "conversions" USING btree ("upload_id","upload_row");--> statement-breakpoint
CREATE UNIQUE INDEX "goals_customer_name_key" ON "goals" USING btree ("customer_id","name");