CREATE TABLE "connector_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connector_id" uuid NOT NULL,
	"trigger" text NOT NULL,
	"mode" text NOT NULL,
	"status" text NOT NULL,
	"counts" jsonb NOT NULL,
	"error" text,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "connectors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" text DEFAULT 'default' NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"goal_id" uuid NOT NULL,
	"settings" jsonb NOT NULL,
	"secrets_enc" text NOT NULL,
	"cursor" text,
	"interval_minutes" integer DEFAULT 15 NOT NULL,
	"next_sync_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_sync_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connectors_interval_range" CHECK ("connectors"."interval_minutes" between 1 and 10080)
);
--> statement-breakpoint
CREATE TABLE "crm_deals" (
	"connector_id" uuid NOT NULL,
	"deal_id" text NOT NULL,
	"name" text,
	"conversion_id" bigint,
	"conversion_time" timestamp with time zone,
	"click_id" text,
	"click_rule" text,
	"value" numeric(15, 3),
	"currency" text,
	"retracted" boolean DEFAULT false NOT NULL,
	"first_seen_won_at" timestamp with time zone,
	"skip_reason" text,
	"skip_message" text,
	"modified_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "crm_deals_connector_id_deal_id_pk" PRIMARY KEY("connector_id","deal_id")
);
--> statement-breakpoint
CREATE INDEX "connector_runs_connector" ON "connector_runs" USING btree ("connector_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "connectors_customer_name_key" ON "connectors" USING btree ("customer_id","name");