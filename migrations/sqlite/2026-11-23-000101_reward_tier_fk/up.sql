-- A reward's minimum tier must exist: deleting a tier a reward requires would otherwise unlock the
-- reward for everyone. SQLite adds a foreign key only by rebuilding the table. reward_codes refers
-- to rewards, so the check of that reference is deferred to COMMIT: dropping the old table orphans
-- the codes for a moment, and inserting the rows back into the new table adopts them again.
PRAGMA defer_foreign_keys = ON;

-- Rewards whose tier is already gone were meant for a tier nobody can reach any more: they are
-- switched off (staff choose a tier again) rather than left open to everyone.
UPDATE rewards SET active = FALSE, min_tier_id = NULL
WHERE min_tier_id IS NOT NULL AND min_tier_id NOT IN (SELECT id FROM tiers);

CREATE TEMP TABLE rewards_copy AS SELECT * FROM rewards;
DROP TABLE rewards;
CREATE TABLE rewards (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('percent_discount', 'amount_discount', 'free_product', 'gift')),
    percent_off        BIGINT CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_minor   BIGINT CHECK (amount_off_minor > 0),
    sku                TEXT,
    cost_points        BIGINT NOT NULL CHECK (cost_points > 0),
    min_tier_id        TEXT REFERENCES tiers (id),
    stock              BIGINT CHECK (stock >= 0),
    per_customer_limit BIGINT CHECK (per_customer_limit > 0),
    valid_from         TIMESTAMP,
    valid_until        TIMESTAMP,
    code_validity_days BIGINT NOT NULL CHECK (code_validity_days > 0),
    active             BOOLEAN NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
INSERT INTO rewards (id, name, description, kind, percent_off, amount_off_minor, sku, cost_points, min_tier_id, stock, per_customer_limit, valid_from, valid_until, code_validity_days, active, created_at, updated_at)
SELECT id, name, description, kind, percent_off, amount_off_minor, sku, cost_points, min_tier_id, stock, per_customer_limit, valid_from, valid_until, code_validity_days, active, created_at, updated_at FROM rewards_copy;
DROP TABLE rewards_copy;
CREATE INDEX rewards_created_at_idx ON rewards (created_at, id);
CREATE INDEX rewards_min_tier_idx ON rewards (min_tier_id);

-- Per-period event limits count events by when Patron received them.
CREATE INDEX customer_events_rule_received_idx ON customer_events (rule_id, customer_id, created_at);
