DROP INDEX "conversions_goal_state";--> statement-breakpoint
CREATE INDEX "conversions_customer_state_goal" ON "conversions" USING btree ("customer_id","state","goal_name");