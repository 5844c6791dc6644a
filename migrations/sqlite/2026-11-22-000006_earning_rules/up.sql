-- Earning rules (multipliers and bonuses) and custom events that earn points.
CREATE TABLE earning_rules (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('multiplier', 'purchase_bonus', 'first_purchase_bonus', 'birthday_month_bonus', 'event_bonus')),
    active     BOOLEAN NOT NULL,
    starts_at  TIMESTAMP,
    ends_at    TIMESTAMP,
    tier_ids   TEXT NOT NULL,
    store_ids  TEXT NOT NULL,
    channels   TEXT NOT NULL,
    params     TEXT NOT NULL,
    event_name TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX earning_rules_active_idx ON earning_rules (active, kind);
CREATE INDEX earning_rules_event_idx ON earning_rules (event_name);

CREATE TABLE customer_events (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    name        TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    properties  TEXT NOT NULL,
    rule_id     TEXT REFERENCES earning_rules (id),
    points      BIGINT NOT NULL CHECK (points >= 0),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX customer_events_customer_idx ON customer_events (customer_id, occurred_at);
CREATE INDEX customer_events_rule_idx ON customer_events (rule_id, customer_id, occurred_at);
