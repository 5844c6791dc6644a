-- Tiers, each customer's tier, qualifying points per calendar month, and tier history.
CREATE TABLE tiers (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    threshold          BIGINT NOT NULL UNIQUE CHECK (threshold >= 0),
    multiplier_percent BIGINT NOT NULL CHECK (multiplier_percent BETWEEN 100 AND 1000),
    benefits           TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE customer_tiers (
    customer_id TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    tier_id     TEXT NOT NULL REFERENCES tiers (id),
    since       TIMESTAMP NOT NULL,
    below_since TIMESTAMP
);
CREATE INDEX customer_tiers_tier_idx ON customer_tiers (tier_id);

CREATE TABLE qualifying_points (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    month       TEXT NOT NULL,
    points      BIGINT NOT NULL,
    PRIMARY KEY (customer_id, month)
);

CREATE TABLE tier_changes (
    id                TEXT PRIMARY KEY NOT NULL,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    from_tier_id      TEXT,
    to_tier_id        TEXT,
    reason            TEXT NOT NULL CHECK (reason IN ('upgrade', 'downgrade')),
    qualifying_points BIGINT NOT NULL,
    at                TIMESTAMP NOT NULL
);
CREATE INDEX tier_changes_customer_idx ON tier_changes (customer_id, at);
