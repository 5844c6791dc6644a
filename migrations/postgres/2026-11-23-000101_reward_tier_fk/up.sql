-- A reward's minimum tier must exist: deleting a tier a reward requires would otherwise unlock the
-- reward for everyone.

-- Rewards whose tier is already gone were meant for a tier nobody can reach any more: they are
-- switched off (staff choose a tier again) rather than left open to everyone.
UPDATE rewards SET active = FALSE, min_tier_id = NULL
WHERE min_tier_id IS NOT NULL AND min_tier_id NOT IN (SELECT id FROM tiers);

ALTER TABLE rewards ADD CONSTRAINT rewards_min_tier_fk FOREIGN KEY (min_tier_id) REFERENCES tiers (id);
CREATE INDEX rewards_min_tier_idx ON rewards (min_tier_id);

-- Per-period event limits count events by when Patron received them.
CREATE INDEX customer_events_rule_received_idx ON customer_events (rule_id, customer_id, created_at);
