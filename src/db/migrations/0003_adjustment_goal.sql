-- An adjustment's goal is its conversion's. Copied on insert, whoever writes the row (file, API, the
-- connectors to come), so the outbox claims adjustments through one index range per goal
-- (adjustments_due) and never scans another account's.
CREATE FUNCTION adjustments_goal_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT c.goal_id INTO NEW.goal_id FROM conversions c WHERE c.id = NEW.conversion_id;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER adjustments_goal_id BEFORE INSERT ON adjustments
  FOR EACH ROW EXECUTE FUNCTION adjustments_goal_id();--> statement-breakpoint
-- Adjustments made before this release.
UPDATE adjustments a SET goal_id = c.goal_id FROM conversions c WHERE c.id = a.conversion_id;
