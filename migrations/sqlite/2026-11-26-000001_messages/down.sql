DROP TABLE job_runs;
DROP TABLE offers;
DROP TABLE tickets;
DROP TABLE message_templates;
DROP TABLE message_attempts;
DROP TABLE messages;
DROP INDEX customers_birthday_md_idx;
ALTER TABLE customers DROP COLUMN birthday_set_at;
ALTER TABLE customers DROP COLUMN birthday_md;
-- Gift codes go with the offers; the CHECK is as before.
PRAGMA defer_foreign_keys = ON;
DELETE FROM reward_codes WHERE points_spent = 0;
CREATE TEMP TABLE reward_codes_copy AS SELECT * FROM reward_codes;
DROP TABLE reward_codes;
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
    cancelled_at              TIMESTAMP,
    redeemed_store_id         TEXT
);
INSERT INTO reward_codes (code, reward_id, customer_id, points_spent, status, issued_at, expires_at, used_at, used_store_id, used_purchase_external_id, cancelled_at, redeemed_store_id)
SELECT code, reward_id, customer_id, points_spent, status, issued_at, expires_at, used_at, used_store_id, used_purchase_external_id, cancelled_at, redeemed_store_id FROM reward_codes_copy;
DROP TABLE reward_codes_copy;
CREATE INDEX reward_codes_customer_idx ON reward_codes (customer_id, issued_at);
CREATE INDEX reward_codes_reward_customer_idx ON reward_codes (reward_id, customer_id, status);
