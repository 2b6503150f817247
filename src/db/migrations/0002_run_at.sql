DROP INDEX "adjustments_outbox";--> statement-breakpoint
DROP INDEX "conversions_outbox";--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "goal_id" uuid;--> statement-breakpoint
ALTER TABLE "adjustments" ADD COLUMN "run_at" timestamp with time zone GENERATED ALWAYS AS (coalesce(next_attempt_at, '1970-01-01T00:00:00Z'::timestamptz)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "conversions" ADD COLUMN "run_at" timestamp with time zone GENERATED ALWAYS AS (coalesce(next_attempt_at, '1970-01-01T00:00:00Z'::timestamptz)) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "adjustments_due" ON "adjustments" USING btree ("goal_id","run_at","id") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "conversions_due" ON "conversions" USING btree ("goal_id","run_at","id") WHERE state = 'queued';