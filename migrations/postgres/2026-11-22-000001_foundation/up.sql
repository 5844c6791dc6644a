-- Staff accounts, API keys, customers with tags, and the audit log.
CREATE TABLE staff (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'support', 'analyst')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    store_id   TEXT,
    created_by TEXT REFERENCES staff (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);
CREATE INDEX api_keys_created_at_idx ON api_keys (created_at, id);

CREATE TABLE customers (
    id                      TEXT PRIMARY KEY NOT NULL,
    external_id             TEXT UNIQUE,
    email                   TEXT UNIQUE,
    phone                   TEXT UNIQUE,
    first_name              TEXT,
    last_name               TEXT,
    birthday                TEXT,
    time_zone               TEXT,
    locale                  TEXT,
    preferred_channel       TEXT CHECK (preferred_channel IN ('email', 'sms', 'push')),
    consent_email_marketing BOOLEAN NOT NULL DEFAULT FALSE,
    consent_sms_marketing   BOOLEAN NOT NULL DEFAULT FALSE,
    consent_surveys         BOOLEAN NOT NULL DEFAULT FALSE,
    attributes              TEXT NOT NULL DEFAULT '{}',
    referral_code_used      TEXT,
    password_hash           TEXT,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    CHECK (external_id IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX customers_created_at_idx ON customers (created_at, id);

CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag_idx ON customer_tags (tag, customer_id);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY NOT NULL,
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('staff', 'api_key', 'customer', 'system')),
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id);
