DROP INDEX customer_events_rule_received_idx;

PRAGMA defer_foreign_keys = ON;
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
    min_tier_id        TEXT,
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
