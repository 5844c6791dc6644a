DROP INDEX customer_events_rule_received_idx;
DROP INDEX rewards_min_tier_idx;
ALTER TABLE rewards DROP CONSTRAINT rewards_min_tier_fk;
