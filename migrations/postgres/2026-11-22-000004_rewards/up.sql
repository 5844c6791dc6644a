-- The reward catalogue and the codes customers redeem points for.
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
CREATE INDEX rewards_created_at_idx ON rewards (created_at, id);

CREATE TABLE reward_codes (
    code                      TEXT PRIMARY KEY NOT NULL,
    reward_id                 TEXT NOT NULL REFERENCES rewards (id),
    customer_id               TEXT NOT NULL REFERENCES customers (id),
    points_spent              BIGINT NOT NULL CHECK (points_spent > 0),
    status                    TEXT NOT NULL CHECK (status IN ('issued', 'used', 'cancelled')),
    issued_at                 TIMESTAMP NOT NULL,
    expires_at                TIMESTAMP NOT NULL,
    used_at                   TIMESTAMP,
    used_store_id             TEXT,
    used_purchase_external_id TEXT,
    cancelled_at              TIMESTAMP
);
CREATE INDEX reward_codes_customer_idx ON reward_codes (customer_id, issued_at);
CREATE INDEX reward_codes_reward_customer_idx ON reward_codes (reward_id, customer_id, status);
